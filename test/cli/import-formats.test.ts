import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IMPORT_FORMATS as OFFERED } from '../../src/cli/commands/import.js';
import {
  detectFormat,
  IMPORT_FORMATS,
  parseJsonLine,
  parseTelegram,
  parseWhatsApp,
} from '../../src/cli/import-formats.js';

const ok = (records: ReturnType<typeof parseWhatsApp>) =>
  records.map((r) =>
    'error' in r
      ? { line: r.line, error: r.error }
      : { line: r.line, text: r.text, at: r.at?.toISOString(), id: r.externalId },
  );

describe('WhatsApp exports', () => {
  it('reads the Android layout, joins continuation lines and skips system lines and media', () => {
    const text = [
      '31/12/2023, 21:41 - Messages and calls are end-to-end encrypted. No one outside of this chat can read them.',
      '31/12/2023, 21:41 - Ana: Happy new year!',
      'See you at the beach tomorrow',
      '01/01/2024, 09:05 - Rui: <Media omitted>',
      '01/01/2024, 09:06 - Rui: We went swimming at 9: freezing',
    ].join('\n');
    expect(ok(parseWhatsApp(text, 'Europe/Lisbon'))).toEqual([
      {
        line: 2,
        text: 'Ana: Happy new year!\nSee you at the beach tomorrow',
        at: '2023-12-31T21:41:00.000Z',
        id: 'whatsapp:2',
      },
      { line: 5, text: 'Rui: We went swimming at 9: freezing', at: '2024-01-01T09:06:00.000Z', id: 'whatsapp:5' },
    ]);
  });

  it('reads the iOS layout with seconds and the US layout with AM/PM in the person’s zone', () => {
    const ios = '[08/05/2023, 13:56:07] Caroline: I went to a support group yesterday';
    expect(ok(parseWhatsApp(ios, 'UTC'))[0]).toMatchObject({
      at: '2023-05-08T13:56:07.000Z',
      text: 'Caroline: I went to a support group yesterday',
    });
    const us = ['5/8/23, 1:56\u202fPM - Mel: Painted a sunrise', '5/13/23, 12:05 AM - Mel: Still awake'].join('\n');
    expect(ok(parseWhatsApp(us, 'America/New_York')).map((r) => r.at)).toEqual([
      '2023-05-08T17:56:00.000Z',
      '2023-05-13T04:05:00.000Z',
    ]);
  });

  it('uses --date-order only when every date is ambiguous', () => {
    const text = '02/03/2024, 10:00 - Ana: hi';
    expect(ok(parseWhatsApp(text, 'UTC', 'dmy'))[0]?.at).toBe('2024-03-02T10:00:00.000Z');
    expect(ok(parseWhatsApp(text, 'UTC', 'mdy'))[0]?.at).toBe('2024-02-03T10:00:00.000Z');
  });

  it('never throws on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (text) => {
        expect(Array.isArray(parseWhatsApp(text, 'UTC'))).toBe(true);
      }),
    );
  });
});

describe('Telegram exports', () => {
  const single = JSON.stringify({
    name: 'Ana',
    id: 42,
    messages: [
      { id: 1, type: 'service', date: '2024-01-01T10:00:00', actor: 'Ana', action: 'create_group' },
      {
        id: 2,
        type: 'message',
        date: '2024-01-01T10:01:00',
        date_unixtime: '1704103260',
        from: 'Ana',
        text: 'Lunch at noon?',
      },
      {
        id: 3,
        type: 'message',
        date: '2024-01-01T10:02:00',
        from: 'Rui',
        text: ['Sure, at ', { type: 'bold', text: 'Tasca' }, '!'],
      },
      { id: 4, type: 'message', date: '2024-01-01T10:03:00', from: 'Rui', text: '', photo: 'photos/1.jpg' },
    ],
  });

  it('reads one chat: service messages and media without text are skipped; rich text is joined', () => {
    expect(ok(parseTelegram(single, 'Europe/Lisbon'))).toEqual([
      { line: 2, text: 'Ana: Lunch at noon?', at: '2024-01-01T10:01:00.000Z', id: 'telegram:42:2' },
      { line: 3, text: 'Rui: Sure, at Tasca!', at: '2024-01-01T10:02:00.000Z', id: 'telegram:42:3' },
    ]);
  });

  it('reads a full export and refuses what is not one', () => {
    const full = JSON.stringify({ chats: { list: [JSON.parse(single)] } });
    expect(parseTelegram(full, 'UTC')).toHaveLength(2);
    expect(() => parseTelegram('{"hello":1}', 'UTC')).toThrow(/not a Telegram export/);
    expect(() => parseTelegram('{not json', 'UTC')).toThrow(/not valid JSON/);
  });
});

describe('JSON lines and detection', () => {
  it('parses a line or names what is wrong with it', () => {
    expect(parseJsonLine('{"text":"hi","timestamp":1772445600,"externalId":7}', 1)).toEqual({
      line: 1,
      text: 'hi',
      at: new Date('2026-03-02T10:00:00.000Z'),
      externalId: '7',
    });
    expect(parseJsonLine('   ', 2)).toBeNull();
    expect(parseJsonLine('{"txt":"typo"}', 3)).toMatchObject({ line: 3, error: expect.stringContaining('text') });
    expect(parseJsonLine('{"text":"x","timestamp":"soon"}', 4)).toMatchObject({
      error: expect.stringContaining('timestamp'),
    });
  });

  it('detects the format from the name, then the contents', () => {
    expect(detectFormat('a.jsonl', '')).toBe('jsonl');
    expect(detectFormat('WhatsApp Chat with Ana.txt', '')).toBe('whatsapp');
    expect(detectFormat('export', '12/31/23, 9:41 PM - Ana: hi')).toBe('whatsapp');
    expect(detectFormat('result.json', '{\n "name": "Ana",\n "messages": []\n}')).toBe('telegram');
    expect(detectFormat('data', '{"text":"hello"}\n{"text":"again"}')).toBe('jsonl');
  });
});

it('offers on the command line exactly the formats the parsers know', () => {
  expect([...OFFERED]).toEqual([...IMPORT_FORMATS]);
});
