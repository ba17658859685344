import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CATEGORIES, levelOf } from '../core/category.js';
import { withChecksum } from '../core/checksum.js';
import { CHANNELS, type MemoryEntry, type UserId } from '../core/entry.js';
import { isMemvaultError } from '../core/errors.js';
import {
  decodeInline,
  decodeSection,
  encodeInline,
  encodeSection,
  isSealedBlock,
  isStorablePayload,
  own,
  parseEntry,
  parseRevisionBlock,
  parseSealedEntry,
  REVISION_KINDS,
  type Revision,
  renderEntry,
  renderSealedEntry,
  revisionLine,
} from './markdown-codec.js';
import { normalizeTags } from './entry-rules.js';
import { splitUnits, TERMINATOR } from './vault-file.js';

const USER = '+14155550134' as UserId;
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Fragments that look like the format's structure, for adversarial content. */
const FRAGMENTS = [
  '---',
  '--- ',
  '## Memory Entry #01ARZ3NDEKTSV4RRFFQ69G5FAV',
  '### Content',
  '### AI Analysis',
  '### Metadata',
  '```',
  '```memvault-sealed',
  '~~~',
  '\\',
  '\\\\',
  '\\"',
  '"',
  '#',
  '\r',
  '\r\n',
  '\n',
  '\n\n',
  ' ',
  '  ',
  '\t',
  '- **Checksum**: 0123456789abcdef',
  '**Date**: 2026-01-01T00:00:00.000Z',
  'none',
  '😀',
  '👩‍👩‍👧',
  'שלום עולם',
  'مرحبا',
  '\u2028',
  '\u0085',
  '\ufeff',
  '\u0000',
  '\ud800',
  '\udc00',
  'a',
  'plain words',
];

const adversarial = fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 24 }).map((parts) => parts.join(''));
const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: 'grapheme', maxLength: 200 }),
  adversarial,
);
const ulid = fc
  .array(fc.constantFrom(...CROCKFORD), { minLength: 26, maxLength: 26 })
  .map((c) => `0${c.join('').slice(1)}`);
const iso = fc
  .integer({ min: Date.UTC(1970, 0, 1), max: Date.UTC(2999, 11, 31) })
  .map((ms) => new Date(ms).toISOString());
const tags = fc.array(fc.oneof(fc.string({ maxLength: 20 }), adversarial), { maxLength: 6 }).map((raw) => {
  try {
    return normalizeTags(raw);
  } catch {
    return [];
  }
});

const entryArb: fc.Arbitrary<MemoryEntry> = fc
  .record({
    id: ulid,
    date: iso,
    eventDate: fc.option(iso, { nil: null }),
    category: fc.constantFrom(...CATEGORIES),
    tags,
    content: anyText,
    analysis: anyText,
    confidence: fc.double({ min: 0, max: 1, noNaN: true }).map((n) => (n === 0 ? 0 : n)),
    related: fc.array(ulid, { maxLength: 4 }),
    emotionalContext: anyText,
    channel: fc.constantFrom(...CHANNELS),
    externalId: fc.option(anyText, { nil: null }),
  })
  .map((r) => withChecksum({ ...r, userId: USER, level: levelOf(r.category) }));

const sample = (over: Partial<MemoryEntry> = {}): MemoryEntry => {
  const { checksum: _, ...base } = {
    id: '01JDQ7Z3N5X8Y2W4V6T8R0P2M4',
    userId: USER,
    date: '2026-11-26T18:04:49.000Z',
    eventDate: '2026-11-25T09:00:00.000Z',
    category: 'CHRONOLOGICAL' as const,
    level: 1 as const,
    tags: ['hiking', 'Sara'],
    content: 'Went hiking with Sara on the ridge.',
    analysis: 'An event with a time and a person.',
    confidence: 0.92,
    related: ['01JDQ7Z3N5X8Y2W4V6T8R0P2M5'],
    emotionalContext: 'joyful',
    channel: 'telegram' as const,
    externalId: 'tg-991',
    checksum: '',
    ...over,
  };
  return withChecksum(base);
};

describe('renderEntry / parseEntry', () => {
  it('renders the seed format exactly', () => {
    expect(renderEntry(sample())).toBe(
      [
        '## Memory Entry #01JDQ7Z3N5X8Y2W4V6T8R0P2M4',
        '**Date**: 2026-11-26T18:04:49.000Z',
        '**Category**: CHRONOLOGICAL',
        '**Security Level**: 1 (Standard)',
        '**Tags**: hiking, Sara',
        '',
        '### Content',
        'Went hiking with Sara on the ridge.',
        '',
        '### AI Analysis',
        'An event with a time and a person.',
        '',
        '### Metadata',
        '- **Confidence**: 0.92',
        '- **Related Memories**: 01JDQ7Z3N5X8Y2W4V6T8R0P2M5',
        '- **Emotional Context**: joyful',
        '- **Event Date**: 2026-11-25T09:00:00.000Z',
        '- **Channel**: telegram',
        '- **External ID**: tg-991',
        `- **Checksum**: ${sample().checksum}`,
        '---',
        '',
      ].join('\n'),
    );
  });

  it('round-trips every valid entry (arbitrary and adversarial text)', () => {
    fc.assert(
      fc.property(entryArb, (entry) => {
        const text = renderEntry(entry);
        expect(parseEntry(text, USER)).toEqual(entry);
        // Structure appears only as structure: one heading, one closing line, no terminator inside.
        expect(text.split('\n').filter((l) => l.startsWith('## Memory Entry #'))).toHaveLength(1);
        expect(text.split('\n').filter((l) => l === '---')).toHaveLength(1);
        expect(`${text}\n`.indexOf(TERMINATOR)).toBe(text.length - 5);
        expect(text).not.toMatch(/\r|\u2028|\u2029/);
        expect(Buffer.from(text, 'utf8').toString('utf8')).toBe(text); // no lone surrogates
      }),
      { numRuns: 400 },
    );
  });

  it('keeps bytes: render(parse(render(e))) is render(e)', () => {
    fc.assert(
      fc.property(entryArb, (entry) => {
        const text = renderEntry(entry);
        expect(renderEntry(parseEntry(text, USER))).toBe(text);
      }),
      { numRuns: 200 },
    );
  });

  it('splits a file of adversarial entries back into exactly those entries', () => {
    fc.assert(
      fc.property(fc.array(entryArb, { minLength: 1, maxLength: 6 }), (entries) => {
        const file = `# header\n\n---\n\n${entries.map((e) => `${renderEntry(e)}\n`).join('')}`;
        const { lead, units } = splitUnits(file);
        expect(lead).toBe('# header\n\n---\n\n');
        expect(units.map((u) => (u.kind === 'block' ? parseEntry(u.text, USER) : u))).toEqual(entries);
      }),
      { numRuns: 150 },
    );
  });

  it('detects a hand edit through the checksum', () => {
    const text = renderEntry(sample()).replace('on the ridge', 'on the beach');
    expect(() => parseEntry(text, USER)).toThrowError(/checksum/);
    try {
      parseEntry(text, USER);
    } catch (error) {
      expect(isMemvaultError(error, 'DATA_CORRUPTION')).toBe(true);
    }
  });

  it('rejects a block copied into another user’s file', () => {
    expect(() => parseEntry(renderEntry(sample()), '+14155550135' as UserId)).toThrowError(/checksum/);
  });

  it.each([
    ['a missing field', (t: string) => t.replace(/\*\*Tags\*\*.*\n/, '')],
    ['a level that does not fit the category', (t: string) => t.replace('1 (Standard)', '3 (Secret)')],
    ['an unknown category', (t: string) => t.replace('**Category**: CHRONOLOGICAL', '**Category**: DIARY')],
    ['a bad date', (t: string) => t.replace('2026-11-26T18:04:49.000Z', '2026-13-26T18:04:49.000Z')],
    ['a truncated block', (t: string) => t.slice(0, t.indexOf('### Metadata'))],
    ['text after the closing line', (t: string) => `${t}junk\n`],
    ['a bad heading', (t: string) => t.replace('#01JDQ', '#xxJDQ')],
    ['a confidence above 1', (t: string) => t.replace('0.92', '1.5')],
    ['a bad quoted value', (t: string) => t.replace('**External ID**: tg-991', '**External ID**: "tg')],
  ])('reports %s as DATA_CORRUPTION', (_name, edit) => {
    const text = edit(renderEntry(sample()));
    let caught: unknown;
    try {
      parseEntry(text, USER);
    } catch (error) {
      caught = error;
    }
    expect(isMemvaultError(caught, 'DATA_CORRUPTION')).toBe(true);
  });

  it('refuses to render what it could not parse back', () => {
    expect(() => renderEntry({ ...sample(), tags: ['a, b'] })).toThrowError(/tag/);
    expect(() => renderEntry({ ...sample(), id: 'not-a-ulid' })).toThrowError(/ULID/);
    expect(() => renderEntry({ ...sample(), level: 4 })).toThrowError(/level/);
    expect(() => renderEntry({ ...sample(), date: '2026-11-26' })).toThrowError(/date/);
  });

  it('accepts a block without its final newline and with an empty analysis and no tags', () => {
    const entry = sample({ tags: [], analysis: '', related: [], externalId: null, eventDate: null });
    expect(parseEntry(renderEntry(entry).slice(0, -1), USER)).toEqual(entry);
  });
});

describe('escaping', () => {
  it('escapes only lines that could be read as structure', () => {
    expect(encodeSection('hello\n## Memory Entry #x\n---\n\\path\n```js\n"quoted"')).toEqual([
      'hello',
      '\\## Memory Entry #x',
      '\\---',
      '\\\\path',
      '\\```js',
      '"quoted"',
    ]);
    expect(encodeSection('crlf\r\nend')).toEqual(['\\"crlf\\r"', 'end']);
  });

  it('round-trips any string through sections and inline values', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        expect(decodeSection(encodeSection(text))).toBe(text);
        expect(decodeInline(encodeInline(text), 'value')).toBe(text);
        expect(encodeInline(text)).not.toContain('\n');
      }),
      { numRuns: 500 },
    );
  });

  it('own() copies any string exactly', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        expect(own(text)).toBe(text);
      }),
      { numRuns: 300 },
    );
    expect(own('x'.repeat(20) + '\ud800')).toBe('x'.repeat(20) + '\ud800');
  });

  it('quotes inline values that would be ambiguous', () => {
    expect(encodeInline('calm')).toBe('calm');
    expect(encodeInline('none')).toBe('"none"');
    expect(encodeInline('')).toBe('""');
    expect(encodeInline(' padded ')).toBe('" padded "');
    expect(encodeInline('"q"')).toBe('"\\"q\\""');
  });
});

describe('sealed form', () => {
  const payload = 'mv1.AAAA-bbbb_cccc\nDDDD';

  it('renders the heading, the visible date for levels 1–2 and one fenced block', () => {
    const text = renderSealedEntry({ id: '01JDQ7Z3N5X8Y2W4V6T8R0P2M4', date: '2026-11-26T18:04:49.000Z', payload });
    expect(text).toBe(
      '## Memory Entry #01JDQ7Z3N5X8Y2W4V6T8R0P2M4\n**Date**: 2026-11-26T18:04:49.000Z\n```memvault-sealed\n' +
        'mv1.AAAA-bbbb_cccc\nDDDD\n```\n---\n',
    );
    expect(parseSealedEntry(text)).toEqual({
      id: '01JDQ7Z3N5X8Y2W4V6T8R0P2M4',
      date: '2026-11-26T18:04:49.000Z',
      payload,
    });
  });

  it('hides the date for levels 3–4', () => {
    const text = renderSealedEntry({ id: '01JDQ7Z3N5X8Y2W4V6T8R0P2M4', date: null, payload });
    expect(text).not.toContain('**Date**');
    expect(parseSealedEntry(text).date).toBeNull();
  });

  it('refuses payloads that could read as structure', () => {
    for (const bad of ['', 'a`b', '# x', '---', 'a\n\nb', ' lead', 'trail ', 'é']) {
      expect(isStorablePayload(bad)).toBe(false);
    }
    expect(isStorablePayload('mv1.abc+/=\n-----BEGIN-----')).toBe(true);
  });

  it('round-trips any storable payload', () => {
    const line = fc.stringMatching(/^[A-Za-z0-9+/=._-]{1,80}$/);
    fc.assert(
      fc.property(
        ulid,
        fc.option(iso, { nil: null }),
        fc.array(line, { minLength: 1, maxLength: 5 }),
        (id, date, lines) => {
          const block = { id, date, payload: lines.join('\n') };
          expect(parseSealedEntry(renderSealedEntry(block))).toEqual(block);
        },
      ),
    );
  });
});

describe('revisions (a later block of the same entry)', () => {
  const revisionArb: fc.Arbitrary<Revision> = fc.record({
    n: fc.integer({ min: 2, max: 999_999_999 }),
    kind: fc.constantFrom(...REVISION_KINDS),
    at: iso,
  });

  it('round-trips any entry with any revision line, plain and through the file splitter', () => {
    fc.assert(
      fc.property(entryArb, revisionArb, (entry, revision) => {
        const text = renderEntry(entry, revision);
        expect(text.split('\n')[1]).toBe(revisionLine(revision));
        expect(parseRevisionBlock(text, USER)).toEqual({ entry, revision });
        // parseEntry reads the entry of any revision; revision 1 has no line and parses as null.
        expect(parseEntry(text, USER)).toEqual(entry);
        expect(parseRevisionBlock(renderEntry(entry), USER)).toEqual({ entry, revision: null });
        const { units } = splitUnits(`# header\n${TERMINATOR}${renderEntry(entry)}\n${text}\n`);
        expect(units.map((u) => (u.kind === 'block' ? [u.id, u.sealed] : u.kind))).toEqual([
          [entry.id, false],
          [entry.id, false],
        ]);
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips any sealed block with a revision line, and the splitter still sees it as sealed', () => {
    const line = fc.stringMatching(/^[A-Za-z0-9+/=._-]{1,80}$/);
    fc.assert(
      fc.property(
        ulid,
        fc.option(iso, { nil: null }),
        fc.array(line, { minLength: 1, maxLength: 5 }),
        revisionArb,
        (id, date, lines, revision) => {
          const block = { id, date, payload: lines.join('\n'), revision };
          const text = renderSealedEntry(block);
          expect(parseSealedEntry(text)).toEqual(block);
          expect(isSealedBlock(text)).toBe(true);
          const { units } = splitUnits(`# header\n${TERMINATOR}${text}\n`);
          expect(units).toMatchObject([{ kind: 'block', id, sealed: true }]);
        },
      ),
    );
  });

  it('refuses a malformed revision line when parsing, and one the format cannot hold when rendering', () => {
    const good = renderEntry(sample(), { n: 2, kind: 'edit', at: '2026-11-30T11:00:00.000Z' });
    for (const bad of [
      '**Revision**: 1 (edit, 2026-11-30T11:00:00.000Z)',
      '**Revision**: 02 (edit, 2026-11-30T11:00:00.000Z)',
      '**Revision**: 2 (erase, 2026-11-30T11:00:00.000Z)',
      '**Revision**: 2 (edit, 2026-02-30T11:00:00.000Z)',
      '**Revision**: 2 (edit,2026-11-30T11:00:00.000Z)',
      '**Revision**: 2',
    ]) {
      const text = good.replace('**Revision**: 2 (edit, 2026-11-30T11:00:00.000Z)', bad);
      expect(() => parseRevisionBlock(text, USER)).toThrow(/revision line/);
    }
    for (const bad of [
      { n: 1, kind: 'edit', at: '2026-11-30T11:00:00.000Z' },
      { n: 2.5, kind: 'edit', at: '2026-11-30T11:00:00.000Z' },
      { n: 2, kind: 'erase', at: '2026-11-30T11:00:00.000Z' },
      { n: 2, kind: 'edit', at: 'yesterday' },
    ]) {
      expect(() => renderEntry(sample(), bad as Revision)).toThrow();
    }
  });
});
