/**
 * How far a hit that matched only by meaning may be from the query and still be shown (issue 9 §Build 4).
 *
 * A hit is "related, not matching" when it carries none of the query's words (as typed, corrected, or from the
 * thesaurus), neither in itself nor in the turns around it, and none of its names: only its vector, or a
 * word-vector neighbour of a query word, brought it. Such hits below `relatedFloor` are dropped; the rest are
 * kept and marked `related`. This sweeps the floor over two kinds of questions on the LoCoMo development half:
 *
 * - positives: each conversation's own questions (their evidence is in it): R@10 must not move;
 * - negatives: the next conversation's questions asked of this one (nothing in it answers them): every related
 *   hit they get is junk by construction.
 *
 *   npx tsx bench/related-threshold.ts   → bench/results/related-threshold.md
 *
 * Indexes directly (no classification or sealing: neither changes which hits are related). Data as in
 * bench/recall-eval.ts, read from ../shared/eval/locomo-dev/ and skipped when absent.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createSearchIndex } from '../src/search/search-index.js';
import { entry, MemoryVault, testOpener, testSealer, USER } from '../test/search/helpers.js';

const ROOT = resolve(import.meta.dirname, '..');
const DATA = resolve(ROOT, '../shared/eval/locomo-dev');
const CONVS = ['conv-26', 'conv-30', 'conv-41', 'conv-42', 'conv-43'];
const FLOORS = [0, 0.4, 0.45, 0.5, 0.55];
const DAY = 86_400_000;

interface Message {
  readonly text: string;
  readonly timestamp: string;
  readonly externalId: string;
}
interface Question {
  readonly question: string;
  readonly evidence: readonly string[];
}

const readJsonl = <T>(file: string): T[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as T);

interface Tally {
  posR10: number;
  posN: number;
  posRelated: number;
  posRelatedEvidence: number;
  negN: number;
  negHits: number;
  negRelated: number;
  negOnlyRelated: number;
}

async function main(): Promise<void> {
  if (!existsSync(DATA)) {
    console.log(`related-threshold: ${DATA} is absent; skipping.`);
    return;
  }
  const tallies = new Map<number, Tally>(
    FLOORS.map((f) => [
      f,
      {
        posR10: 0,
        posN: 0,
        posRelated: 0,
        posRelatedEvidence: 0,
        negN: 0,
        negHits: 0,
        negRelated: 0,
        negOnlyRelated: 0,
      },
    ]),
  );
  for (let i = 0; i < CONVS.length; i++) {
    const conv = CONVS[i]!;
    const messages = readJsonl<Message>(join(DATA, `${conv}.messages.jsonl`));
    const own = readJsonl<Question>(join(DATA, `${conv}.queries.jsonl`));
    const foreign = readJsonl<Question>(join(DATA, `${CONVS[(i + 1) % CONVS.length]}.queries.jsonl`));
    const entries = messages.map((m) => entry(m.text, { date: m.timestamp, externalId: m.externalId }));
    const now = new Date(Math.max(...messages.map((m) => Date.parse(m.timestamp))) + DAY);
    for (const floor of FLOORS) {
      const t = tallies.get(floor)!;
      const dataDir = mkdtempSync(join(tmpdir(), 'memvault-related-'));
      const index = createSearchIndex({
        vault: new MemoryVault(entries),
        dataDir,
        sealer: testSealer(),
        relatedFloor: floor,
      });
      try {
        for (const q of own) {
          const hits = await index.search(USER, { text: q.question, limit: 20, now }, testOpener());
          const evidence = new Set(q.evidence);
          const top = hits.slice(0, 10);
          t.posR10 += top.filter((h) => evidence.has(h.entry.externalId ?? '')).length / evidence.size;
          t.posN++;
          const related = hits.filter((h) => h.signals.includes('related'));
          t.posRelated += related.length;
          t.posRelatedEvidence += related.filter((h) => evidence.has(h.entry.externalId ?? '')).length;
        }
        for (const q of foreign) {
          const hits = await index.search(USER, { text: q.question, limit: 20, now }, testOpener());
          const related = hits.filter((h) => h.signals.includes('related')).length;
          t.negN++;
          t.negHits += hits.length;
          t.negRelated += related;
          if (hits.length > 0 && related === hits.length) t.negOnlyRelated++;
        }
      } finally {
        await index.close();
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
  }
  const rows = [
    '| floor (cosine) | own questions R@10 | related hits on own questions (of them evidence) | related hits per foreign question | foreign questions answered only by related hits |',
    '|---:|---:|---:|---:|---:|',
  ];
  for (const [floor, t] of tallies) {
    rows.push(
      `| ${floor.toFixed(2)} | ${(t.posR10 / t.posN).toFixed(3)} | ${t.posRelated} (${t.posRelatedEvidence}) | ${(t.negRelated / t.negN).toFixed(2)} of ${(t.negHits / t.negN).toFixed(1)} | ${t.negOnlyRelated} of ${t.negN} |`,
    );
  }
  const table = rows.join('\n');
  console.log(table);
  writeFileSync(
    join(ROOT, 'bench/results/related-threshold.md'),
    `# Related-only hits: where to draw the line\n\n\`npx tsx bench/related-threshold.ts\` on ${new Date().toISOString().slice(0, 10)} ` +
      `(LoCoMo development half, indexed directly; foreign = the next conversation's questions, whose answers are not ` +
      `in this one, so every related hit they get is junk). Limit 20 per search.\n\n${table}\n`,
  );
}

await main();
