import { readFileSync } from 'node:fs';
import { detectSecrets } from '../src/classify/detectors.js';
const rows = readFileSync(process.argv[2]!,'utf8').split('\n').filter(Boolean).map(l=>JSON.parse(l));
let n=0;
for (const r of rows) { if (r.label==='SECRET'||r.label==='ULTRASECRET') continue; const f = detectSecrets(r.text).filter(f=>f.certainty>=0.9); if (f.length) { n++; console.log(r.label, f.map(x=>x.kind+':'+JSON.stringify(r.text.slice(x.start,x.end))).join(' '), '|', r.text.slice(0,140)); } }
console.log('FP', n);
