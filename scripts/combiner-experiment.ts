/**
 * An experiment, not part of the shipped classifier: would a learned combination of the text model and the
 * rules' signals (stacking) beat the hand-set decision in local-classifier.ts at the same under-protection?
 *
 *   npx tsx scripts/combiner-experiment.ts [--oof /tmp/memvault-oof.json] [--seeds 2]
 *
 * 1. Out-of-fold text-model probabilities: for each writer of corpus/people, a model trained (shipped recipe,
 *    `--seeds` seeds) on the other writers' training rows scores that writer's messages. Cached in `--oof`.
 * 2. The shipped decision (`decide`) on those probabilities: leave-one-writer-out numbers of the whole classifier
 *    (the rules were written with these writers' messages in view, so they lean optimistic).
 * 3. A multinomial logistic combiner over the log-probabilities and the signals (topics, event, findings,
 *    value-like, access context, language), trained per left-out writer on the other writers' out-of-fold rows,
 *    deciding by expected cost with under-protection costing U per level.
 * Prints both, for all writers and for those who write mostly in English. No message text is printed.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadCorpus } from '../src/classify/corpus.js';
import { decide, readSignals, type Signals } from '../src/classify/local-classifier.js';
import { evaluate } from '../src/classify/metrics.js';
import { analyse } from '../src/classify/nlp.js';
import { topicScore } from '../src/classify/topics.js';
import { CATEGORIES, type Category, levelOf, protectionRank } from '../src/core/category.js';
import { DEFAULT_HYPER, maskForModel, trainMasked } from './classifier-training.js';

const ROOT = join(import.meta.dirname, '..');
const { values } = parseArgs({
  options: { oof: { type: 'string', default: '/tmp/memvault-oof.json' }, seeds: { type: 'string', default: '2' } },
});
/** Writers who wrote mostly in another language (corpus/README.md). */
const OTHER_LANGUAGE = new Set(['w7', 'w9', 'w10', 'w11', 'w14', 'w15', 'w16']);
const all = loadCorpus(join(ROOT, 'corpus'), ['people']);
const held = new Set(all.heldOut.map((r) => r.id));
const corpus = [...all.train, ...all.heldOut];
const writers = [...new Set(corpus.map((r) => r.writer))].filter((w) => w !== 'engineer').sort();

let oof: Record<string, number[]> = {};
if (existsSync(values.oof)) oof = JSON.parse(readFileSync(values.oof, 'utf8')) as Record<string, number[]>;
if (corpus.some((r) => r.writer !== 'engineer' && !oof[r.id])) {
  oof = {};
  const masked = new Map(corpus.map((r) => [r.id, maskForModel(r.text)]));
  for (const w of writers) {
    const model = trainMasked(
      corpus.filter((r) => r.writer !== w && !held.has(r.id)).map((r) => ({ text: masked.get(r.id)!, label: r.label })),
      { ...DEFAULT_HYPER, seeds: Number(values.seeds) },
    );
    for (const r of corpus.filter((r) => r.writer === w)) {
      const p = model.predict(masked.get(r.id)!);
      oof[r.id] = CATEGORIES.map((c) => p[c]);
    }
    console.error(`  out-of-fold: ${w}`);
  }
  writeFileSync(values.oof, JSON.stringify(oof));
}

const now = new Date('2026-11-26T18:00:00Z');
const rows = corpus
  .filter((r) => oof[r.id])
  .map((r) => {
    const a = analyse(r.text.slice(0, 2000));
    const s = readSignals(r.text.trim(), a, { now, timezone: 'UTC' });
    const p = Object.fromEntries(CATEGORIES.map((c, i) => [c, oof[r.id]![i]!])) as Record<Category, number>;
    return { writer: r.writer, label: r.label, s, p, words: a.tokens.length };
  });

const TOPICS = ['health', 'money', 'relationships', 'legal', 'identity', 'contact', 'workplace'] as const;
function features(p: Record<Category, number>, s: Signals, words: number): number[] {
  const find = (c: Category) => Math.max(0, ...s.findings.filter((f) => f.category === c).map((f) => f.certainty));
  const privacy = topicScore(s.topics);
  return [
    ...CATEGORIES.map((c) => Math.log(Math.max(p[c], 1e-6))),
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
  ];
}
const X = rows.map((r) => features(r.p, r.s, r.words));
const Y = rows.map((r) => CATEGORIES.indexOf(r.label));
const D = X[0]!.length;
const K = CATEGORIES.length;
/** The same class weights as the text model's training. */
const CLASS_WEIGHT = [1, 1, 1.2, 1.5, 2];

const logits = (W: number[][], x: number[]) => W.map((w) => w[D]! + x.reduce((a, v, j) => a + v * w[j]!, 0));
function softmax(z: number[]): number[] {
  const mx = Math.max(...z);
  const e = z.map((v) => Math.exp(v - mx));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}
/** Full-batch Adam on the weighted cross-entropy with L2. */
function train(idx: number[], l2 = 1e-3, iterations = 400, rate = 0.05): number[][] {
  const W = Array.from({ length: K }, () => new Array<number>(D + 1).fill(0));
  const m = Array.from({ length: K }, () => new Array<number>(D + 1).fill(0));
  const v = Array.from({ length: K }, () => new Array<number>(D + 1).fill(0));
  const total = idx.reduce((a, i) => a + CLASS_WEIGHT[Y[i]!]!, 0);
  for (let it = 1; it <= iterations; it++) {
    const G = Array.from({ length: K }, () => new Array<number>(D + 1).fill(0));
    for (const i of idx) {
      const q = softmax(logits(W, X[i]!));
      const cw = CLASS_WEIGHT[Y[i]!]! / total;
      for (let k = 0; k < K; k++) {
        const g = (q[k]! - (k === Y[i] ? 1 : 0)) * cw;
        for (let j = 0; j < D; j++) G[k]![j]! += g * X[i]![j]!;
        G[k]![D]! += g;
      }
    }
    for (let k = 0; k < K; k++)
      for (let j = 0; j <= D; j++) {
        const g = G[k]![j]! + (j < D ? l2 * W[k]![j]! : 0);
        m[k]![j] = 0.9 * m[k]![j]! + 0.1 * g;
        v[k]![j] = 0.999 * v[k]![j]! + 0.001 * g * g;
        W[k]![j]! -= (rate * (m[k]![j]! / (1 - 0.9 ** it))) / (Math.sqrt(v[k]![j]! / (1 - 0.999 ** it)) + 1e-8);
      }
  }
  return W;
}
/** The category with the least expected cost: 1 for a wrong answer, U per level for an under-protecting one. */
function choose(q: number[], U: number, s: Signals): Category {
  let best = 0;
  let bestCost = Number.POSITIVE_INFINITY;
  for (let k = 0; k < K; k++) {
    let cost = 0;
    for (let j = 0; j < K; j++) {
      if (j === k) continue;
      const gap = levelOf(CATEGORIES[j]!) - levelOf(CATEGORIES[k]!);
      cost += q[j]! * (gap > 0 ? U * gap : 1);
    }
    if (cost < bestCost) [best, bestCost] = [k, cost];
  }
  const c = CATEGORIES[best]!;
  return s.certain && protectionRank(s.certain.category) > protectionRank(c) ? s.certain.category : c;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
function report(name: string, predicted: Category[]) {
  for (const [group, keep] of [
    ['all writers', () => true],
    ['mostly English', (w: string) => !OTHER_LANGUAGE.has(w)],
  ] as const) {
    const pairs = rows.flatMap((r, i) => (keep(r.writer) ? [{ truth: r.label, predicted: predicted[i]! }] : []));
    const m = evaluate(pairs);
    console.log(
      `| ${name} | ${group} | ${pct(m.accuracy)} | ${pct(m.underProtection)} | ${pct(m.protection.SECRET)} | ${pct(m.protection.ULTRASECRET)} | ${pct(m.protection.CONFIDENTIAL)} |`,
    );
  }
}
console.log(
  '| decision | writers | accuracy | under-protected | SECRET ≥ level | ULTRASECRET ≥ level | CONFIDENTIAL ≥ level |',
);
console.log('|---|---|---:|---:|---:|---:|---:|');
report(
  'shipped rules',
  rows.map((r) => decide(r.p, r.s, r.words).category),
);
const q: number[][] = new Array(rows.length);
for (const w of new Set(rows.map((r) => r.writer))) {
  const W = train(rows.flatMap((r, i) => (r.writer !== w ? [i] : [])));
  rows.forEach((r, i) => {
    if (r.writer === w) q[i] = softmax(logits(W, X[i]!));
  });
}
for (const U of [2, 2.5, 3, 4])
  report(
    `combiner, U = ${U}`,
    rows.map((r, i) => choose(q[i]!, U, r.s)),
  );
