import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CATEGORIES, type Category, levelOf } from '../core/category.js';
import { MemvaultError } from '../core/errors.js';
import type { Signals } from './local-classifier.js';
import { topicScore } from './topics.js';

/** File name of the learned combiner inside the model folder, beside `model.json`. */
export const COMBINER_FILE = 'combiner.json';

const TOPICS = ['health', 'money', 'relationships', 'legal', 'identity', 'contact', 'workplace'] as const;

/** The combiner's inputs, in order; stored in combiner.json so a file made for other features is refused. */
export const COMBINER_FEATURES: readonly string[] = [
  ...CATEGORIES.map((c) => `log p(${c})`),
  'privacy',
  ...TOPICS.map((t) => `topic ${t}`),
  'event score',
  'time named',
  'past verbs',
  'future',
  'finding CONFIDENTIAL',
  'finding SECRET',
  'finding ULTRASECRET',
  'certain finding',
  'finding >= 0.6',
  'value-like',
  'access context',
  'english',
  'bare',
  'log words',
  'privacy (not english)',
  'event score (not english)',
  'code-shaped token',
  'time shape',
];

/**
 * What the combiner reads off a message: the text model's log-probabilities and the rules' signals (topic cues,
 * event narration, detector findings, whether something could be a value, access words, language). No text.
 */
export function combinerFeatures(probs: Record<Category, number>, s: Signals, words: number): number[] {
  const find = (c: Category) => Math.max(0, ...s.findings.filter((f) => f.category === c).map((f) => f.certainty));
  const privacy = topicScore(s.topics);
  return [
    ...CATEGORIES.map((c) => Math.log(Math.max(probs[c], 1e-6))),
    privacy,
    ...TOPICS.map((t) => Math.max(0, ...s.topics.filter((h) => h.topic === t).map((h) => h.strength))),
    s.event.score,
    s.event.timeText ? 1 : 0,
    Math.min(3, s.event.pastVerbs) / 3,
    s.event.future ? 1 : 0,
    find('CONFIDENTIAL'),
    find('SECRET'),
    find('ULTRASECRET'),
    s.certain ? 1 : 0,
    s.findings.some((f) => f.certainty >= 0.6) ? 1 : 0,
    s.valueLike ? 1 : 0,
    s.secretContext ? 1 : 0,
    s.english ? 1 : 0,
    !s.valueLike && !s.secretContext ? 1 : 0,
    Math.log1p(words) / 5,
    s.english ? 0 : privacy,
    s.english ? 0 : s.event.score,
    s.codeShape,
    s.event.timeShape ? 1 : 0,
  ];
}

/** What combiner.json holds. */
export interface CombinerFile {
  readonly format: 'memvault-combiner-v2';
  readonly classes: readonly Category[];
  readonly features: readonly string[];
  /** One row per class: a weight per feature, then the bias. */
  readonly weights: readonly (readonly number[])[];
  /** Cost of filing a message below its level (by any number of levels), against 1 for any other wrong answer. */
  readonly underCost: number;
  readonly trainedAt: string;
  readonly trainingExamples: number;
  readonly note: string;
}

/**
 * A learned combination of the text model and the rules' signals (stacking): a multinomial logistic regression
 * over `combinerFeatures`, trained on out-of-fold text-model probabilities (scripts/classifier-training.ts), so
 * it learns how far to trust the model on a voice it has not seen. It answers with the category of least
 * expected cost, where filing a message below its level costs `underCost` and any other error 1: protection first,
 * by a stated price instead of hand-set escalation thresholds. (Format v1 charged `underCost` per level missed:
 * then a 15% chance of SECRET and 8% of ULTRASECRET sealed "Coffee tasting number 3 at the roastery" at
 * ULTRASECRET, and writer cross-validation scored the flat price higher at the same under-protection.)
 */
export class Combiner {
  private constructor(readonly file: CombinerFile) {}

  /** Reads `combiner.json` from `dir`; undefined when there is none (a model folder from before the combiner). */
  static load(dir: string): Combiner | undefined {
    let text: string;
    try {
      text = readFileSync(join(dir, COMBINER_FILE), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new MemvaultError('CLASSIFICATION_ERROR', `Could not read the classifier's combiner in ${dir}.`, {
        cause: error,
      });
    }
    let file: unknown;
    try {
      file = JSON.parse(text);
    } catch (cause) {
      throw damaged(dir, cause);
    }
    return Combiner.from(file, dir);
  }

  /** Checks and wraps a combiner's contents. */
  static from(file: unknown, where = 'memory'): Combiner {
    const f = file as Partial<CombinerFile> | null;
    const wellFormed =
      f !== null &&
      typeof f === 'object' &&
      f.format === 'memvault-combiner-v2' &&
      Array.isArray(f.classes) &&
      f.classes.join() === CATEGORIES.join() &&
      Array.isArray(f.features) &&
      f.features.join('|') === COMBINER_FEATURES.join('|') &&
      Array.isArray(f.weights) &&
      f.weights.length === CATEGORIES.length &&
      f.weights.every(
        (row) =>
          Array.isArray(row) &&
          row.length === COMBINER_FEATURES.length + 1 &&
          row.every((w) => typeof w === 'number' && Number.isFinite(w)),
      ) &&
      typeof f.underCost === 'number' &&
      f.underCost >= 1 &&
      f.underCost <= 100;
    if (!wellFormed) throw damaged(where);
    return new Combiner(f as CombinerFile);
  }

  /** The combiner's probability of each category. */
  probabilities(features: readonly number[]): Record<Category, number> {
    const z = this.file.weights.map((w) => features.reduce((sum, x, j) => sum + x * w[j]!, w[features.length]!));
    const q = softmax(z);
    return Object.fromEntries(CATEGORIES.map((c, k) => [c, q[k]!])) as Record<Category, number>;
  }

  /** The category of least expected cost under `q`, among `allowed` (default: all). */
  choose(q: Record<Category, number>, allowed: readonly Category[] = CATEGORIES): Category {
    return leastCost(q, this.file.underCost, allowed);
  }

  /** Writes combiner.json into `dir` (atomically: a reader never sees half a file). */
  save(dir: string): void {
    const path = join(dir, COMBINER_FILE);
    writeFileSync(`${path}.tmp`, `${JSON.stringify(this.file, null, 1)}\n`);
    renameSync(`${path}.tmp`, path);
  }
}

function damaged(where: string, cause?: unknown): MemvaultError {
  return new MemvaultError(
    'CLASSIFICATION_ERROR',
    `The classifier's combiner in ${where} is damaged or was made for other features; retrain with "npm run train:classify".`,
    cause === undefined ? {} : { cause },
  );
}

/**
 * The answer of least expected cost among `allowed`: `underCost` for one that files the truth below its level (the
 * goal counts a message as protected or not, whatever the gap), 1 for any other error.
 */
export function leastCost(
  q: Record<Category, number>,
  underCost: number,
  allowed: readonly Category[] = CATEGORIES,
): Category {
  let best: Category = allowed[0] ?? 'GENERAL';
  let bestCost = Number.POSITIVE_INFINITY;
  for (const answer of allowed) {
    let cost = 0;
    for (const truth of CATEGORIES) {
      if (truth === answer) continue;
      cost += q[truth] * (levelOf(truth) > levelOf(answer) ? underCost : 1);
    }
    if (cost < bestCost) [best, bestCost] = [answer, cost];
  }
  return best;
}

function softmax(z: readonly number[]): number[] {
  const max = Math.max(...z);
  const e = z.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** Same class weights as the text model's training: missing a secret costs more than over-protecting a fact. */
const CLASS_WEIGHT: Readonly<Record<Category, number>> = {
  CHRONOLOGICAL: 1,
  GENERAL: 1,
  CONFIDENTIAL: 1.2,
  SECRET: 1.5,
  ULTRASECRET: 2,
};

export interface CombinerTraining {
  readonly underCost: number;
  readonly l2?: number;
  readonly iterations?: number;
  readonly rate?: number;
  readonly note?: string;
}

/**
 * Fits the combiner: full-batch Adam on the class-weighted cross-entropy with L2, deterministic (zero start, no
 * sampling), so the same rows give the same file.
 */
export function trainCombiner(
  rows: ReadonlyArray<{ readonly features: readonly number[]; readonly label: Category }>,
  opts: CombinerTraining,
): Combiner {
  const D = COMBINER_FEATURES.length;
  const K = CATEGORIES.length;
  const l2 = opts.l2 ?? 1e-3;
  const iterations = opts.iterations ?? 400;
  const rate = opts.rate ?? 0.05;
  const width = D + 1;
  const W = new Float64Array(K * width);
  const m = new Float64Array(K * width);
  const v = new Float64Array(K * width);
  const G = new Float64Array(K * width);
  const labels = rows.map((r) => CATEGORIES.indexOf(r.label));
  const total = rows.reduce((sum, r) => sum + CLASS_WEIGHT[r.label], 0);
  const z = new Float64Array(K);
  for (let it = 1; it <= iterations; it++) {
    G.fill(0);
    for (let i = 0; i < rows.length; i++) {
      const x = rows[i]!.features;
      let max = Number.NEGATIVE_INFINITY;
      for (let k = 0; k < K; k++) {
        let s = W[k * width + D]!;
        for (let j = 0; j < D; j++) s += x[j]! * W[k * width + j]!;
        z[k] = s;
        if (s > max) max = s;
      }
      let sum = 0;
      for (let k = 0; k < K; k++) {
        z[k] = Math.exp(z[k]! - max);
        sum += z[k]!;
      }
      const weight = CLASS_WEIGHT[rows[i]!.label] / total;
      for (let k = 0; k < K; k++) {
        const g = (z[k]! / sum - (k === labels[i] ? 1 : 0)) * weight;
        for (let j = 0; j < D; j++) G[k * width + j]! += g * x[j]!;
        G[k * width + D]! += g;
      }
    }
    for (let i = 0; i < W.length; i++) {
      const g = G[i]! + (i % width < D ? l2 * W[i]! : 0);
      m[i] = 0.9 * m[i]! + 0.1 * g;
      v[i] = 0.999 * v[i]! + 0.001 * g * g;
      W[i]! -= (rate * (m[i]! / (1 - 0.9 ** it))) / (Math.sqrt(v[i]! / (1 - 0.999 ** it)) + 1e-8);
    }
  }
  const weights = CATEGORIES.map((_, k) => Array.from(W.subarray(k * width, (k + 1) * width), round6));
  return Combiner.from({
    format: 'memvault-combiner-v2',
    classes: CATEGORIES,
    features: COMBINER_FEATURES,
    weights,
    underCost: opts.underCost,
    trainedAt: new Date().toISOString(),
    trainingExamples: rows.length,
    note: opts.note ?? '',
  } satisfies CombinerFile);
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;
