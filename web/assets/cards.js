import { CATEGORIES, h, LEVEL_NAMES, label, lockIcon, timeOf, when } from './dom.js';

/** Badges, the legend and memory cards: what several pages show of a memory. */

export function levelBadge(level, locked = false) {
  return h(
    'span',
    { class: `badge level l${level}`, title: levelTitle(level) },
    locked ? lockIcon() : '',
    `L${level} · ${LEVEL_NAMES[level]}`,
  );
}

/** What each category holds (docs/classification.md), and the level it is kept at. */
export const CATEGORY_INFO = {
  CHRONOLOGICAL: { level: 1, about: 'events and experiences, something that happened' },
  GENERAL: { level: 1, about: 'facts, preferences, plans and reminders with nothing sensitive' },
  CONFIDENTIAL: { level: 2, about: 'private matters: health, money, relationships, work, addresses' },
  SECRET: { level: 3, about: 'what lets someone in: passwords, PINs, door codes, card and account numbers' },
  ULTRASECRET: { level: 4, about: 'master keys: seed phrases, private keys, recovery codes, master passwords' },
};

/** What opens each level. */
export const LEVEL_OPENS = {
  1: 'open whenever you are signed in',
  2: 'opens with your password',
  3: 'opens with your password and an authenticator code',
  4: 'opens with your password and a passkey',
};

export const levelTitle = (level) =>
  `Level ${level} · ${LEVEL_NAMES[level]}: how strongly it is sealed; ${LEVEL_OPENS[level]}.`;
export const categoryTitle = (category) =>
  `${label(category)}: what it is about (${CATEGORY_INFO[category].about}). Kept at Level ${CATEGORY_INFO[category].level} · ${LEVEL_NAMES[CATEGORY_INFO[category].level]}.`;

export const categoryBadge = (category) =>
  h('span', { class: `badge cat ${category.toLowerCase()}`, title: categoryTitle(category), text: label(category) });

/** One short legend: the category says what a memory is about and fixes its level; the level, how it is sealed. */
export function badgeLegend() {
  return h(
    'details',
    { class: 'legend panel' },
    h('summary', { text: 'What the badges mean' }),
    h(
      'p',
      {},
      'Each memory has a ',
      h('strong', { text: 'category' }),
      ' (what it is about, chosen when you write it; you can change it) and a ',
      h('strong', { text: 'level' }),
      ' (how strongly it is sealed). The category decides the level.',
    ),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        {},
        h('caption', { text: 'Categories and the level each is kept at' }),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Category', 'What it holds', 'Level', 'Opens'].map((t) => h('th', { scope: 'col', text: t })),
          ),
        ),
        h(
          'tbody',
          {},
          CATEGORIES.map((c) =>
            h(
              'tr',
              {},
              h('th', { scope: 'row' }, categoryBadge(c)),
              h('td', { text: CATEGORY_INFO[c].about }),
              h('td', {}, levelBadge(CATEGORY_INFO[c].level)),
              h('td', { text: LEVEL_OPENS[CATEGORY_INFO[c].level] }),
            ),
          ),
        ),
      ),
    ),
  );
}

/** "Happens Tue 3 Dec, 10:00" for an event to come, "Happened …" for one past. */
export function eventText(iso) {
  const future = Date.parse(iso) > Date.now();
  const text = when(iso, { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
  return `${future ? 'Happens' : 'Happened'} ${text}`;
}

/** A tag as a filter of the timeline. */
export const tagLink = (tag) =>
  h('a', {
    href: `#/?tag=${encodeURIComponent(tag)}`,
    class: 'tag',
    title: `Show memories tagged ${tag}`,
    text: `#${tag}`,
  });

export function memoryCard(memory, content = memory.content) {
  return h(
    'li',
    { class: 'memory' },
    h(
      'article',
      { 'aria-label': `${label(memory.category)} memory at ${timeOf(memory.date)}` },
      h(
        'header',
        {},
        h('time', { datetime: memory.date, text: timeOf(memory.date) }),
        categoryBadge(memory.category),
        levelBadge(memory.level),
        memory.eventDate
          ? h('time', { class: 'event-date', datetime: memory.eventDate, text: eventText(memory.eventDate) })
          : null,
      ),
      h('p', { class: 'content' }, h('a', { href: `#/memory/${memory.id}` }, content)),
      memory.tags.length > 0
        ? h(
            'ul',
            { class: 'tags', 'aria-label': 'Tags' },
            memory.tags.map((t) => h('li', {}, tagLink(t))),
          )
        : null,
    ),
  );
}

/** The creation time a ULID carries in its first ten characters (Crockford base32, milliseconds). */
export function ulidTime(id) {
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  let ms = 0;
  for (const ch of id.slice(0, 10)) ms = ms * 32 + alphabet.indexOf(ch);
  return new Date(ms).toISOString();
}

/** A memory of a locked level in its place: when, its category and level, a lock; never its content. */
export function sealedCard(sealed) {
  const date = sealed.date ?? ulidTime(sealed.id);
  return h(
    'li',
    { class: 'memory sealed' },
    h(
      'article',
      { 'aria-label': `Sealed ${label(sealed.category)} memory at ${timeOf(date)}` },
      h(
        'header',
        {},
        h('time', { datetime: date, text: timeOf(date) }),
        categoryBadge(sealed.category),
        levelBadge(sealed.level, true),
      ),
      h(
        'p',
        { class: 'content' },
        lockIcon(),
        'Sealed. ',
        h('a', { href: '#/security', text: `Unlock ${LEVEL_NAMES[sealed.level]}` }),
        ' to read it.',
      ),
    ),
  );
}

export function lockedNotice(count) {
  if (!count) return null;
  return h(
    'p',
    { class: 'locked-notice', role: 'note' },
    lockIcon(),
    ' ',
    `${count} ${count === 1 ? 'memory is' : 'memories are'} in a locked level. `,
    h('a', { href: '#/security', text: 'Unlock levels' }),
    ' to see them.',
  );
}
