import { readFileSync } from 'node:fs';
import { levelOf, type Category } from '../src/core/category.js';
import { createLocalClassifier } from '../src/classify/local-classifier.js';
const rows = readFileSync('/work/shared/eval/classify-dev/messages.jsonl','utf8').split('\n').filter(Boolean).map(l=>JSON.parse(l));
const c = createLocalClassifier();
const now = new Date('2026-11-26T18:00:00Z');
for (const r of rows) { const p = c.classifySync(r.text.replace(/\n/g,' '),{now}).category; if (levelOf(p) < levelOf(r.label)) console.log(`${r.label}->${p} [${r.writer}] why: ${r.why}`); }
