/**
 * Brings the writers' labelled messages (`/work/corpus-in/<writer>.jsonl`, or `--from DIR`) into
 * `corpus/people/<writer>.jsonl` and fixes the held-out split of the people corpus in `corpus/people-split.json`.
 *
 *   npx tsx scripts/import-classify-corpus.ts [--from /work/corpus-in]
 *
 * Rows are validated (text, one of the five labels, writer, persona) and exact duplicates dropped. Each row's
 * id is a hash of its text, so re-running after writers add more keeps every earlier assignment.
 * The split: a row is held out when its id hash falls in the lowest 20% (about 20% of every writer × label
 * group); then any held-out row that is a near-copy of a training row (Jaccard ≥ 0.5 over word 3-shingles,
 * or ≥ 0.8 over word sets) moves to training, so the test split never scores a paraphrase of what was learnt.
 * Files under corpus/people that did not come from --from (e.g. `engineer.jsonl`) are kept and split the same way.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { isCategory } from '../src/core/category.js';

const ROOT = join(import.meta.dirname, '..');
const PEOPLE = join(ROOT, 'corpus', 'people');
const { values } = parseArgs({ options: { from: { type: 'string', default: '/work/corpus-in' } } });

interface Row {
  id: string;
  text: string;
  label: string;
  writer: string;
  persona: string;
  why: string;
}

const idOf = (text: string) => createHash('sha256').update(text.normalize('NFKC')).digest('hex').slice(0, 12);

mkdirSync(PEOPLE, { recursive: true });
const from = values.from;
if (from && existsSync(from)) {
  for (const file of readdirSync(from).filter((f) => /^[\w-]+\.jsonl$/.test(f))) {
    const writer = basename(file, '.jsonl');
    const rows: Row[] = [];
    const seen = new Set<string>();
    let bad = 0;
    for (const line of readFileSync(join(from, file), 'utf8').split('\n')) {
      if (!line.trim()) continue;
      let raw: Record<string, unknown>;
      try {
        raw = JSON.parse(line) as Record<string, unknown>;
      } catch {
        bad++;
        continue;
      }
      const text = typeof raw.text === 'string' ? raw.text.trim() : '';
      if (!text || !isCategory(raw.label)) {
        bad++;
        continue;
      }
      const id = idOf(text);
      if (seen.has(id)) continue;
      seen.add(id);
      rows.push({
        id,
        text,
        label: raw.label,
        writer: typeof raw.writer === 'string' ? raw.writer : writer,
        persona: typeof raw.persona === 'string' ? raw.persona : 'unknown',
        why: typeof raw.why === 'string' ? raw.why.slice(0, 120) : '',
      });
    }
    writeFileSync(join(PEOPLE, `${writer}.jsonl`), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    console.log(`${writer}: ${rows.length} messages${bad ? ` (${bad} unreadable lines skipped)` : ''}`);
  }
}

// The split over every file in corpus/people.
const all: Row[] = [];
for (const file of readdirSync(PEOPLE)
  .filter((f) => f.endsWith('.jsonl'))
  .sort()) {
  for (const line of readFileSync(join(PEOPLE, file), 'utf8').split('\n')) {
    if (line.trim()) all.push(JSON.parse(line) as Row);
  }
}
const bucket = (id: string) => Number.parseInt(id.slice(0, 8), 16) % 100;
const words = (t: string) =>
  t
    .toLowerCase()
    .replace(/\d/g, '0')
    .match(/[\p{L}\p{N}']+/gu) ?? [];
const shingles = (t: string) => {
  const w = words(t);
  const out = new Set<string>();
  for (let i = 0; i + 3 <= w.length; i++) out.add(w.slice(i, i + 3).join(' '));
  if (w.length < 3) out.add(w.join(' '));
  return out;
};
const jaccard = (a: Set<string>, b: Set<string>) => {
  let inter = 0;
  for (const x of a) if (b.has(x)) inter++;
  return inter / (a.size + b.size - inter || 1);
};

/**
 * Answers "is this text a near-copy of one of `texts`?" (shingle Jaccard ≥ 0.5 or word-set Jaccard ≥ 0.8) without
 * comparing it with every one of them. Prefix filtering: order each set's tokens rarest first; two sets with
 * Jaccard ≥ t must share a token among the first |x| − ⌈t·|x|⌉ + 1 of each. Only rows sharing such a token are
 * compared in full, so the answer is exactly the all-pairs one, in seconds rather than a quarter of an hour.
 */
function nearCopyFinder(texts: string[]): (text: string) => boolean {
  const measures = [
    { of: shingles, t: 0.5 },
    { of: (text: string) => new Set(words(text)), t: 0.8 },
  ].map(({ of, t }) => {
    const sets = texts.map(of);
    const df = new Map<string, number>();
    for (const set of sets) for (const x of set) df.set(x, (df.get(x) ?? 0) + 1);
    const prefix = (set: Set<string>) =>
      [...set]
        .sort((a, b) => (df.get(a) ?? 0) - (df.get(b) ?? 0) || (a < b ? -1 : a > b ? 1 : 0))
        .slice(0, set.size - Math.ceil(t * set.size - 1e-9) + 1);
    const index = new Map<string, number[]>();
    sets.forEach((set, i) => {
      for (const x of prefix(set)) {
        const rows = index.get(x);
        if (rows) rows.push(i);
        else index.set(x, [i]);
      }
    });
    return (text: string) => {
      const set = of(text);
      const seen = new Set<number>();
      for (const x of prefix(set))
        for (const i of index.get(x) ?? []) {
          if (seen.has(i)) continue;
          seen.add(i);
          if (jaccard(set, sets[i]!) >= t) return true;
        }
      return false;
    };
  });
  return (text) => measures.some((isNear) => isNear(text));
}
const test = all.filter((r) => bucket(r.id) < 20);
const train = all.filter((r) => bucket(r.id) >= 20);
const nearCopy = nearCopyFinder(train.map((r) => r.text));
const heldOut: string[] = [];
let moved = 0;
for (const r of test) {
  if (nearCopy(r.text)) moved++;
  else heldOut.push(r.id);
}
heldOut.sort();
writeFileSync(
  join(ROOT, 'corpus', 'people-split.json'),
  `${JSON.stringify({ rule: 'sha256(text) bucket < 20 of 100, minus near-copies of training rows', heldOut }, null, 1)}\n`,
);
const count = (rows: Row[]) =>
  Object.entries(
    rows.reduce<Record<string, number>>((acc, r) => {
      acc[r.label] = (acc[r.label] ?? 0) + 1;
      return acc;
    }, {}),
  )
    .sort()
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
const held = new Set(heldOut);
console.log(`people corpus: ${all.length} messages (${count(all)})`);
console.log(
  `held out: ${heldOut.length} (${count(all.filter((r) => held.has(r.id)))}); ${moved} near-copies moved to training`,
);
