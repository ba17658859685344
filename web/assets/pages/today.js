import { ApiError, get } from '../api.js';
import { h, page, showError, when } from '../dom.js';
import { registerRoute } from '../router.js';

/**
 * Today: the digest of a day (GET /v1/digest), what is coming up, on this day, mood over the last weeks as a small
 * chart and the people and places of the last 30 days (GET /v1/insights). Everything user-written goes in as text.
 */

const SVG = 'http://www.w3.org/2000/svg';

/** An SVG element with attributes (no user text goes into attributes except `<title>` text nodes). */
function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) if (c) el.append(c);
  return el;
}

function svgTitle(text) {
  const t = document.createElementNS(SVG, 'title');
  t.textContent = text;
  return t;
}

const isoWeekStart = (day) => {
  const d = new Date(`${day}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7)); // Monday
  return d.toISOString().slice(0, 10);
};

/** Mean mood per week (Monday first) over the last `weeks` weeks that have memories, oldest first. */
export function weeklyMood(moodByDay, weeks = 8) {
  const by = new Map();
  for (const d of moodByDay) {
    const w = isoWeekStart(d.day);
    const cur = by.get(w) ?? { sum: 0, n: 0 };
    cur.sum += d.valence * d.memories;
    cur.n += d.memories;
    by.set(w, cur);
  }
  return [...by.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .slice(-weeks)
    .map(([week, v]) => ({ week, valence: v.n ? v.sum / v.n : 0, memories: v.n }));
}

const moodWord = (v) => (v >= 0.3 ? 'bright' : v <= -0.3 ? 'heavy' : 'mixed');

/** A small bar chart of mood per week: above the line brighter, below heavier. */
function moodChart(weeks) {
  const width = 320;
  const height = 120;
  const mid = height / 2;
  const slot = width / Math.max(weeks.length, 1);
  const bar = Math.min(28, slot * 0.6);
  const summary = weeks
    .map((w) => `week of ${when(`${w.week}T12:00:00Z`, { day: 'numeric', month: 'short' })}: ${moodWord(w.valence)}`)
    .join('; ');
  return svg(
    'svg',
    {
      class: 'mood-chart',
      viewBox: `0 0 ${width} ${height}`,
      width,
      height,
      role: 'img',
      'aria-label': `Mood per week, oldest first: ${summary}.`,
    },
    svg('line', { x1: 0, x2: width, y1: mid, y2: mid, class: 'axis' }),
    ...weeks.map((w, i) => {
      const v = Math.max(-1, Math.min(1, w.valence));
      const len = Math.max(2, Math.abs(v) * (mid - 8));
      const x = i * slot + (slot - bar) / 2;
      const y = v >= 0 ? mid - len : mid;
      return svg(
        'rect',
        {
          x: x.toFixed(1),
          y: y.toFixed(1),
          width: bar.toFixed(1),
          height: len.toFixed(1),
          class: v >= 0 ? 'up' : 'down',
        },
        svgTitle(
          `Week of ${when(`${w.week}T12:00:00Z`, { day: 'numeric', month: 'long' })}: ${moodWord(v)} (${w.memories} memories)`,
        ),
      );
    }),
  );
}

const itemLink = (item, text = item.excerpt) => h('a', { href: `#/memory/${item.id}`, text });

function counts(title, list) {
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': `${title.toLowerCase()}-h` },
    h('h2', { id: `${title.toLowerCase()}-h`, text: title }),
    list.length > 0
      ? h(
          'ul',
          { class: 'chips counts' },
          list.map((c) => h('li', { text: `${c.name} · ${c.count}` })),
        )
      : h('p', { class: 'empty', text: `No ${title.toLowerCase()} in the last 30 days.` }),
  );
}

async function todayView(_params, query) {
  const date = /^\d{4}-\d{2}-\d{2}$/.test(query?.get?.('date') ?? '') ? query.get('date') : '';
  let digest;
  let insights = null;
  try {
    digest = await get(`/v1/digest${date ? `?date=${date}` : ''}`);
  } catch (error) {
    page('Today', h('p', { class: 'panel', text: 'The digest could not be loaded.' }));
    showError(error);
    return;
  }
  try {
    insights = await get('/v1/insights');
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
  }
  const month = insights?.patterns?.find((p) => p.days === 30);
  const year = insights?.patterns?.find((p) => p.days === 365);
  const weeks = weeklyMood(year?.moodByDay ?? []);

  const author =
    digest.author?.by === 'llm'
      ? 'Written by your LLM from your everyday memories.'
      : 'Written by memvault from your memories.';
  const picker = h('input', { type: 'date', name: 'date', value: date || digest.to, 'aria-label': 'Day' });
  picker.addEventListener('change', () => {
    if (/^\d{4}-\d{2}-\d{2}$/.test(picker.value)) location.hash = `#/today?date=${picker.value}`;
  });

  page(
    'Today',
    h('p', { class: 'row' }, h('label', {}, 'Digest of ', picker)),
    h(
      'section',
      { class: 'panel digest', 'aria-labelledby': 'digest-h' },
      h('h2', { id: 'digest-h', text: digest.kind === 'weekly' ? 'Your week' : 'Your day' }),
      ...digest.text
        .split(/\n{2,}/)
        // Coming up and on this day have their own sections below, with links.
        .filter((block) => !/^(Coming up|On this day):/.test(block))
        .map((block) => h('p', { class: 'digest-text', text: block })),
      h('p', { class: 'hint', text: author }),
      digest.sealed > 0
        ? h('p', {
            class: 'hint',
            text: `${digest.sealed} sealed ${digest.sealed === 1 ? 'memory is' : 'memories are'} not included. Unlock on the Security page to include them.`,
          })
        : null,
    ),
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'upcoming-h' },
      h('h2', { id: 'upcoming-h', text: 'Coming up' }),
      digest.upcoming.length > 0
        ? h(
            'ul',
            { class: 'upcoming' },
            digest.upcoming.map((u) => h('li', {}, h('strong', { text: `${u.when}: ` }), itemLink(u))),
          )
        : h('p', { class: 'empty', text: 'Nothing coming up in the next days.' }),
    ),
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'onthisday-h' },
      h('h2', { id: 'onthisday-h', text: 'On this day' }),
      digest.onThisDay.length > 0
        ? h(
            'ul',
            {},
            digest.onThisDay.map((o) =>
              h(
                'li',
                {},
                h('strong', { text: o.yearsAgo === 1 ? 'A year ago: ' : `${o.yearsAgo} years ago: ` }),
                itemLink(o),
              ),
            ),
          )
        : h('p', { class: 'empty', text: 'Nothing from this date in earlier years.' }),
    ),
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'mood-h' },
      h('h2', { id: 'mood-h', text: 'Mood over the last weeks' }),
      weeks.length > 0
        ? moodChart(weeks)
        : h('p', { class: 'empty', text: 'No processed days yet: memvault works out your days each night.' }),
    ),
    counts('People', month?.people ?? digest.people),
    counts('Places', month?.places ?? digest.places),
  );
}

registerRoute({ name: 'today', pattern: '/today', view: todayView, nav: { label: 'Today', order: 15 } });
