import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { detectSecrets, strongestFinding } from '../../src/classify/detectors.js';
import { createLocalClassifier, MAX_TEXT_LENGTH } from '../../src/classify/local-classifier.js';
import { isCategory, levelOf } from '../../src/core/category.js';

const classifier = createLocalClassifier();
const now = new Date('2026-11-26T18:00:00Z');

describe('local classifier: acceptance', () => {
  it('files a debit card PIN as SECRET', async () => {
    const r = await classifier.classify('My debit card PIN is 8812', { now });
    expect(r.category).toBe('SECRET');
    expect(r.level).toBe(3);
    expect(r.source).toBe('local');
    expect(r.reasoning).not.toContain('8812');
    expect(r.tags.join(' ')).not.toContain('8812');
  });

  it('keeps a Secret Santa budget GENERAL', async () => {
    const r = await classifier.classify('Our Secret Santa budget is 20 dollars', { now });
    expect(r.category).toBe('GENERAL');
    expect(r.level).toBe(1);
  });

  it('files an outing this afternoon as CHRONOLOGICAL with the event date in the user zone', async () => {
    const r = await classifier.classify('Took the kids to the aquarium this afternoon', {
      now,
      timezone: 'America/New_York',
    });
    expect(r.category).toBe('CHRONOLOGICAL');
    expect(r.eventDate).toBeDefined();
    // "this afternoon" in New York on 26 Nov 2026 (UTC-5): the same local day, afternoon.
    const d = new Date(r.eventDate!);
    expect(d.toISOString().slice(0, 10)).toBe('2026-11-26');
    expect(d.getUTCHours()).toBeGreaterThanOrEqual(17);
    expect(r.tags).toEqual(expect.arrayContaining(['aquarium']));
  });
});

describe('local classifier: never under-protects', () => {
  const cases: Array<[string, 'CONFIDENTIAL' | 'SECRET' | 'ULTRASECRET']> = [
    ['last week I reset my e-mail password to Bl4ckb1rd!', 'SECRET'],
    ['yesterday I changed my bank password to maple2291', 'SECRET'],
    ['the wifi password is sunflower22', 'SECRET'],
    ['gate code is 4471#', 'SECRET'],
    ['visa 4111 1111 1111 1111 exp 04/28', 'SECRET'],
    ['IBAN for rent: DE89 3704 0044 0532 0130 00', 'SECRET'],
    ['abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about', 'ULTRASECRET'],
    ['my bitwarden master password is Correct-Horse-Battery-9', 'ULTRASECRET'],
    ['I was diagnosed with type 2 diabetes last month', 'CONFIDENTIAL'],
    ['we owe 42k on the credit cards and I have not told anyone', 'CONFIDENTIAL'],
    ['yesterday the doctor said the biopsy was benign', 'CONFIDENTIAL'],
  ];
  it.each(cases)('%s → at least %s', (text, floor) => {
    const r = classifier.classifySync(text, { now });
    expect(r.level).toBeGreaterThanOrEqual(levelOf(floor));
  });
});

describe('local classifier: negative context', () => {
  it.each([
    'the secret ingredient is a spoon of cocoa',
    'advice about choosing passwords: use three random words',
    'I forgot my password again',
    'Secret Santa at work is on Friday, 25 dollar limit',
  ])('%s is not a secret', (text) => {
    const r = classifier.classifySync(text, { now });
    expect(r.level).toBeLessThan(3);
  });
});

describe('local classifier: output shape and input checks', () => {
  it('returns every field within range', () => {
    const r = classifier.classifySync('Had a lovely picnic with Maria at the lake yesterday', { now });
    expect(r.confidence).toBeGreaterThanOrEqual(0);
    expect(r.confidence).toBeLessThanOrEqual(1);
    expect(r.reasoning).toMatch(/\.$/);
    expect(r.tags.length).toBeLessThanOrEqual(5);
    expect(r.tags.every((t) => t === t.toLowerCase())).toBe(true);
    expect(r.emotionalContext).toBe('joy');
    expect(typeof r.needsReview).toBe('boolean');
  });

  it('handles empty and emoji-only text', () => {
    expect(classifier.classifySync('', { now }).category).toBeDefined();
    expect(classifier.classifySync('🎉🎉', { now }).category).toBeDefined();
  });

  it('rejects overlong input and unknown zones with VALIDATION_ERROR', () => {
    expect(() => classifier.classifySync('a'.repeat(MAX_TEXT_LENGTH + 1))).toThrow(
      expect.objectContaining({ code: 'VALIDATION_ERROR' }),
    );
    // Whatever the memory service's default limit (64 KB) lets through is read whole, to its last secret.
    expect(classifier.classifySync(`${'went kayaking. '.repeat(4_000)} my pin is 4821`).level).toBeGreaterThan(1);
    expect(() => classifier.classifySync('went out yesterday', { timezone: 'Mars/Olympus' })).toThrow(
      expect.objectContaining({ code: 'VALIDATION_ERROR' }),
    );
  });
});

describe('local classifier: any input', () => {
  it('answers every string with a consistent classification, never below a certain detector (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 400 }),
          fc.string({ unit: 'grapheme', maxLength: 200 }),
          fc
            .array(
              fc.constantFrom(
                'my',
                'pin',
                'is',
                '4111 1111 1111 1111',
                'password',
                'yesterday',
                'secret',
                'santa',
                'abandon',
                'about',
                '8812',
                ':',
                'code',
                'door',
              ),
              { maxLength: 30 },
            )
            .map((w) => w.join(' ')),
        ),
        (text) => {
          const r = classifier.classifySync(text, { now });
          const floor = strongestFinding(detectSecrets(text.trim()));
          return (
            isCategory(r.category) &&
            r.level === levelOf(r.category) &&
            r.confidence >= 0 &&
            r.confidence <= 1 &&
            (!floor || r.level >= levelOf(floor.category))
          );
        },
      ),
      { numRuns: 150 },
    );
  });

  it('copes with pathological long inputs', () => {
    const inputs = [
      'x'.repeat(19_999),
      'door code '.repeat(1_900),
      '1234 '.repeat(3_900),
      'password is '.repeat(1_600),
      `${'a@'.repeat(5_000)}b.c`,
      'went home yesterday. '.repeat(900),
    ];
    for (const text of inputs) expect(classifier.classifySync(text, { now }).source).toBe('local');
  });

  it('warmUp() runs and leaves answers unchanged', () => {
    const before = classifier.classifySync('My debit card PIN is 8812', { now });
    classifier.warmUp();
    expect(classifier.classifySync('My debit card PIN is 8812', { now })).toEqual(before);
  });
});
