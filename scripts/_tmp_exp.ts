import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Category, levelOf } from '../src/core/category.js';
import { loadCorpus } from '../src/classify/corpus.js';
import { detectSecrets, maskFindings } from '../src/classify/detectors.js';
import { createLocalClassifier } from '../src/classify/local-classifier.js';
import { evaluate } from '../src/classify/metrics.js';
import { trainTextModel } from '../src/classify/text-model.js';
const ROOT = join(import.meta.dirname, '..');
const mode = process.argv[2] ?? 'people';
const tw = Number(process.argv[3] ?? '0.3');
const people = loadCorpus(join(ROOT, 'corpus'), ['people']);
const old = loadCorpus(join(ROOT, 'corpus'), ['handwritten', 'template']);
const mask = (t: string) => maskFindings(t, detectSecrets(t));
let train = people.train.map((r) => ({ text: mask(r.text), label: r.label, weight: 1 }));
if (mode !== 'people') {
  for (const r of [...old.train, ...old.heldOut]) {
    if (r.source === 'template' && mode !== 'all') continue;
    train.push({ text: mask(r.text), label: r.label, weight: r.source === 'template' ? tw : mode === 'all' ? 1 : tw });
  }
}
const model = trainTextModel(train, { bits: 16, epochs: 20, classWeights: { SECRET: 1.5, ULTRASECRET: 2, CONFIDENTIAL: 1.2 } });
const c = createLocalClassifier({ model });
const now = new Date('2026-11-26T18:00:00Z');
const dev = readFileSync('/work/shared/eval/classify-dev/messages.jsonl','utf8').split('\n').filter(Boolean).map(l=>JSON.parse(l));
const show = (name: string, rows: {text:string,label:Category}[]) => {
  const pairs = rows.map(r=>({truth:r.label, predicted:c.classifySync(r.text.replace(/\n/g,' '),{now}).category}));
  const m = evaluate(pairs);
  console.log(`${mode} tw=${tw} ${name} n=${m.total} acc=${(m.accuracy*100).toFixed(1)} under=${(m.underProtection*100).toFixed(1)} CONF=${(m.protection.CONFIDENTIAL*100).toFixed(1)} SEC=${(m.protection.SECRET*100).toFixed(1)} ULTRA=${(m.protection.ULTRASECRET*100).toFixed(1)} over=${(m.overProtection*100).toFixed(1)}`);
};
show('test', people.heldOut);
show('dev ', dev);
if (process.argv[4]) for (const r of people.heldOut) { const res = c.classifySync(r.text,{now}); if (levelOf(res.category) < levelOf(r.label)) console.log(`${r.label}->${res.category}: ${r.text.slice(0,200)}`); }
if (process.argv[5]) for (const r of dev) { const res = c.classifySync(r.text.replace(/\n/g,' '),{now}); if (levelOf(res.category) < levelOf(r.label)) console.log(`DEV ${r.label}->${res.category}: ${r.why}`); }
