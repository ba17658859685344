/**
 * Trains the local text model on the training part of corpus/ (never on the held-out split) and writes
 * assets/classifier/model.{json,bin}.
 *
 *   npx tsx scripts/train-classifier.ts [--bits 16] [--epochs 25]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadCorpus } from '../src/classify/corpus.js';
import { detectSecrets, maskFindings } from '../src/classify/detectors.js';
import { trainTextModel } from '../src/classify/text-model.js';

const ROOT = join(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    bits: { type: 'string', default: '16' },
    epochs: { type: 'string', default: '25' },
    l2: { type: 'string', default: '1e-5' },
  },
});

const corpus = loadCorpus(join(ROOT, 'corpus'));
// The model learns from masked text, exactly as the classifier will show it (see maskFindings).
const mask = (text: string) => maskFindings(text, detectSecrets(text));
const train = corpus.train.map((r) => ({ ...r, text: mask(r.text) }));
const heldOut = corpus.heldOut.map((r) => ({ ...r, text: mask(r.text) }));
const started = performance.now();
const model = trainTextModel(train, {
  bits: Number(values.bits),
  epochs: Number(values.epochs),
  l2: Number(values.l2),
  // Missing a secret costs more than over-protecting a fact.
  classWeights: { SECRET: 1.5, ULTRASECRET: 2, CONFIDENTIAL: 1.2 },
});
const seconds = ((performance.now() - started) / 1000).toFixed(1);
model.save(join(ROOT, 'assets', 'classifier'));

let correct = 0;
for (const row of heldOut) {
  const p = model.predict(row.text);
  const best = (Object.entries(p) as [string, number][]).sort((a, b) => b[1] - a[1])[0]?.[0];
  if (best === row.label) correct++;
}
console.log(
  `trained on ${train.length} messages in ${seconds}s; text model alone on the held-out split: ` +
    `${((100 * correct) / heldOut.length).toFixed(1)}% (${heldOut.length} messages)`,
);
