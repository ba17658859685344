import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultModelDir } from '../../src/classify/assets.js';
import { COMBINER_FEATURES, COMBINER_FILE, Combiner, leastCost, trainCombiner } from '../../src/classify/combiner.js';
import { createLocalClassifier, readSignals } from '../../src/classify/local-classifier.js';
import { analyse } from '../../src/classify/nlp.js';
import { MODEL_META, MODEL_WEIGHTS } from '../../src/classify/text-model.js';
import { CATEGORIES, type Category, levelOf } from '../../src/core/category.js';
import { isMemvaultError } from '../../src/core/errors.js';

const D = COMBINER_FEATURES.length;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function modelCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'memvault-combiner-'));
  dirs.push(dir);
  for (const f of [MODEL_META, MODEL_WEIGHTS]) copyFileSync(join(defaultModelDir(), f), join(dir, f));
  return dir;
}
const dist = (values: number[]) =>
  Object.fromEntries(CATEGORIES.map((c, i) => [c, values[i]!])) as Record<Category, number>;

describe('leastCost', () => {
  it('keeps the likeliest answer when nothing more protective is likely', () => {
    expect(leastCost(dist([0.1, 0.85, 0.03, 0.01, 0.01]), 2.5)).toBe('GENERAL');
  });

  it('chooses the protective answer when filing too low would cost more than over-protecting', () => {
    // GENERAL is likeliest, but a 35% chance of CONFIDENTIAL or SECRET costs 2.5 each if filed as GENERAL.
    expect(leastCost(dist([0.05, 0.6, 0.05, 0.3, 0]), 2.5)).toBe('SECRET');
    // With under-protection costing no more than any other error it is the likeliest answer again.
    expect(leastCost(dist([0.05, 0.6, 0.05, 0.3, 0]), 1)).toBe('GENERAL');
  });

  it('does not seal an everyday message for a small chance of a far level', () => {
    // "Coffee tasting number 3 at the roastery": 15% SECRET and 8% ULTRASECRET. Priced per level missed (format
    // v1), filing it GENERAL cost 0.13 + 0.15 × 6 + 0.08 × 9 and ULTRASECRET won; a flat price keeps it GENERAL.
    expect(leastCost(dist([0.13, 0.64, 0, 0.15, 0.08]), 3)).toBe('GENERAL');
    // A real lean to the secret classes still wins.
    expect(leastCost(dist([0.1, 0.5, 0, 0.35, 0.05]), 3)).toBe('SECRET');
  });

  it('never answers below the likeliest category when under-protection costs more (property)', () => {
    const probs = fc.array(fc.double({ min: 0.001, max: 1, noNaN: true }), { minLength: 5, maxLength: 5 }).map((v) => {
      const sum = v.reduce((a, b) => a + b, 0);
      return dist(v.map((x) => x / sum));
    });
    fc.assert(
      fc.property(probs, fc.double({ min: 1, max: 10, noNaN: true }), (q, cost) => {
        const top = CATEGORIES.reduce((a, b) => (q[b] > q[a] ? b : a));
        expect(levelOf(leastCost(q, cost))).toBeGreaterThanOrEqual(levelOf(top));
      }),
    );
  });
});

describe('trainCombiner', () => {
  it('learns a separable rule, round-trips through its file, and is deterministic', () => {
    // Feature 0 (log p CHRONOLOGICAL slot) carries the class: a toy problem the fit must get right.
    const rows = CATEGORIES.flatMap((label, k) =>
      Array.from({ length: 20 }, (_, i) => ({
        features: Array.from({ length: D }, (_, j) => (j === k ? 1 : 0) + ((i * 7 + j) % 5) * 0.01),
        label,
      })),
    );
    const a = trainCombiner(rows, { underCost: 2.5, iterations: 300 });
    const b = trainCombiner(rows, { underCost: 2.5, iterations: 300 });
    expect(b.file.weights).toEqual(a.file.weights);
    for (const row of rows) expect(a.choose(a.probabilities(row.features))).toBe(row.label);

    const dir = mkdtempSync(join(tmpdir(), 'memvault-combiner-'));
    dirs.push(dir);
    a.save(dir);
    const loaded = Combiner.load(dir);
    expect(loaded?.file.weights).toEqual(a.file.weights);
    expect(loaded?.probabilities(rows[0]!.features)).toEqual(a.probabilities(rows[0]!.features));
  });
});

describe('Combiner.load', () => {
  it('is undefined for a model folder without a combiner, whose classifier decides by the rules', () => {
    const dir = modelCopy();
    expect(Combiner.load(dir)).toBeUndefined();
    const r = createLocalClassifier({ modelDir: dir }).classifySync('gate code is 4471, door on the left');
    expect(r.category).toBe('SECRET');
  });

  it.each([
    ['not JSON', '{"format": '],
    ['another format', JSON.stringify({ format: 'other' })],
    [
      'other features',
      JSON.stringify({
        format: 'memvault-combiner-v2',
        classes: CATEGORIES,
        features: ['x'],
        weights: CATEGORIES.map(() => [0, 0]),
        underCost: 2.5,
      }),
    ],
    [
      'a weight that is not a number',
      JSON.stringify({
        format: 'memvault-combiner-v2',
        classes: CATEGORIES,
        features: COMBINER_FEATURES,
        weights: CATEGORIES.map(() => [...new Array(D).fill(0), 'x']),
        underCost: 2.5,
      }),
    ],
  ])('refuses a damaged file (%s) with CLASSIFICATION_ERROR, naming what to do', (_name, text) => {
    const dir = modelCopy();
    writeFileSync(join(dir, COMBINER_FILE), text);
    let error: unknown;
    try {
      createLocalClassifier({ modelDir: dir });
    } catch (e) {
      error = e;
    }
    expect(isMemvaultError(error, 'CLASSIFICATION_ERROR')).toBe(true);
    expect((error as Error).message).toMatch(/retrain/);
  });
});

/** A combiner that puts nearly all its probability on `category`, whatever the message. */
function sure(category: Category): Combiner {
  return Combiner.from({
    format: 'memvault-combiner-v2',
    classes: CATEGORIES,
    features: COMBINER_FEATURES,
    weights: CATEGORIES.map((c) => [...new Array(D).fill(0), c === category ? 10 : 0]),
    underCost: 2.5,
    trainedAt: '2026-11-30T00:00:00Z',
    trainingExamples: 0,
    note: 'test',
  });
}

describe('the shipped classifier', () => {
  it('decides with the shipped combiner', () => {
    expect(Combiner.load(defaultModelDir())).toBeInstanceOf(Combiner);
  });

  it('follows the combiner: a combiner that always says ULTRASECRET files everything there', () => {
    const always = sure('ULTRASECRET');
    const classifier = createLocalClassifier({ combiner: always });
    expect(classifier.classifySync('Took the kids to the zoo yesterday.').category).toBe('ULTRASECRET');
    // The rules alone on the same model file it as an event.
    const rules = createLocalClassifier({ combiner: null });
    expect(rules.classifySync('Took the kids to the zoo yesterday.').category).toBe('CHRONOLOGICAL');
  });

  it('keeps the floors under the combiner: a certain secret value is never filed lower', () => {
    const never = sure('GENERAL');
    const classifier = createLocalClassifier({ combiner: never });
    const r = classifier.classifySync('my visa 4539 1488 0343 6467 exp 09/27 cvv 123');
    expect(levelOf(r.category)).toBeGreaterThanOrEqual(levelOf('SECRET'));
  });
});

/** The rules' signals for a message, as the classifier reads them. */
const read = (text: string) => readSignals(text, analyse(text), { now: new Date(), timezone: 'UTC' });

describe('faces are not values', () => {
  it('a heart or an emoticon gives a message no value-like span; a code beside one still counts', () => {
    expect(read('thanks for the kind words <3').valueLike).toBe(false);
    expect(read('lol ok :) :P ;-) :D').valueLike).toBe(false);
    expect(read('the gate code is 4471 :)').valueLike).toBe(true);
    expect(read('ratio was 2:3 in the end').valueLike).toBe(true);
  });
});

describe('values told aloud and labels that look like senders', () => {
  it('number words in a row beside what they open are a value; a number word in prose is not', () => {
    expect(read('the shed lock, number is seven seven one two').valueLike).toBe(true);
    expect(read('the strongbox wheels go three, one, four, one, five').valueLike).toBe(true);
    expect(read('we met at the gate at four').valueLike).toBe(false);
    // Digits said one by one are a dictated number whatever is near them; a number word in prose is not.
    expect(read('medication room four eight two six').valueLike).toBe(true);
    expect(read('we were one or two short of a team').valueLike).toBe(false);
    // "Caroline: …" starts a chat line and its colon is no value; "Safe: …" names what the value opens.
    expect(read('Safe: left sixty-one, right fourteen, left three').valueLike).toBe(true);
    expect(read('Caroline: I love the gate at the park').valueLike).toBe(false);
    expect(read('metamask words live on an index card inside the board game box').secretContext).toBe(true);
  });
});

describe('a quoted name of a secret is no value', () => {
  it('"password manager" in quotes names a kind of secret; "bluebird" in quotes beside "code word" is one', () => {
    expect(read('Kevin keeps saying i need a "password manager"').valueLike).toBe(false);
    expect(read('the code word is "bluebird"').valueLike).toBe(true);
  });
});

describe('a value that could open something', () => {
  it('the combiner is told whether the digits are code-shaped, not just present', () => {
    expect(read('the gate code is 4471').codeShape).toBeGreaterThan(0.9);
    expect(read('wifi key R7x-22bq, router in the hall').codeShape).toBeGreaterThan(0.9);
    // A price, a small number and a phone number make a message value-like and nothing more.
    for (const text of [
      'halibut cheeks 24.99/lb today',
      'Kieran plays halfback, number 7',
      'shop line is (415) 555-0163',
    ]) {
      expect(read(text).valueLike).toBe(true);
      expect(read(text).codeShape).toBe(0);
    }
    expect(read('pickup at 10:30 by the front door').codeShape).toBe(0);
  });
});

describe('a secret told without a value', () => {
  /** A combiner that gives `category` probability `p` on every message and splits the rest evenly. */
  const leaning = (category: Category, p: number) =>
    Combiner.from({
      format: 'memvault-combiner-v2',
      classes: CATEGORIES,
      features: COMBINER_FEATURES,
      weights: CATEGORIES.map((c) => [...new Array(D).fill(0), c === category ? Math.log((4 * p) / (1 - p)) : 0]),
      underCost: 3,
      trainedAt: '2026-12-01T00:00:00Z',
      trainingExamples: 0,
      note: 'test',
    });
  const text = 'We watched the match at Tom’s place';

  it('keeps the level a combiner is all but sure of, though the message holds no value', () => {
    expect(createLocalClassifier({ combiner: leaning('ULTRASECRET', 0.95) }).classifySync(text).category).toBe(
      'ULTRASECRET',
    );
  });

  it('lowers a lean that is not that sure, as before', () => {
    const category = createLocalClassifier({ combiner: leaning('ULTRASECRET', 0.8) }).classifySync(text).category;
    expect(levelOf(category)).toBeLessThan(levelOf('SECRET'));
  });
});
