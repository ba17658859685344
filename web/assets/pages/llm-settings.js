import { api, get } from '../api.js';
import { h, onSubmit, toast } from '../dom.js';
import { registerSettingsSection } from '../settings.js';

/** Settings → What an LLM may see: the level an LLM may read when it writes digests (GET/PUT /v1/settings/llm). */

const CHOICES = [
  [0, 'Nothing', 'Digests are always written by memvault itself.'],
  [1, 'Everyday memories (level 1)', 'The default. Confidential, secret and ultra-secret memories stay out.'],
  [2, 'Also confidential memories (level 2)', 'Needs level 2 unlocked. Secret and ultra-secret ones never go.'],
];

registerSettingsSection({
  id: 'llm',
  title: 'What an LLM may see',
  order: 60,
  async render({ redraw }) {
    const current = await get('/v1/settings/llm');
    const radios = CHOICES.map(([level, text, hint]) =>
      h(
        'label',
        { class: 'choice' },
        h('input', { type: 'radio', name: 'llm-level', value: String(level), checked: current.level === level }),
        ` ${text}`,
        h('span', { class: 'hint', text: ` — ${hint}` }),
      ),
    );
    const form = onSubmit(
      h(
        'form',
        { 'aria-label': 'What an LLM may see' },
        h('fieldset', {}, h('legend', { text: 'When an LLM writes your digests, it may read:' }), ...radios),
        h('p', {
          class: 'hint',
          text: 'Detected secrets (codes, card numbers, passwords) are masked whatever you choose.',
        }),
        h('button', { type: 'submit', text: 'Save' }),
      ),
      async () => {
        const picked = form.querySelector('input[name="llm-level"]:checked');
        if (!picked) return;
        await api('PUT', '/v1/settings/llm', { level: Number(picked.value) });
        toast('Saved: what an LLM may see.');
        await redraw();
      },
    );
    return form;
  },
});
