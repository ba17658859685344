/**
 * The cost of the search index's catch-up after a write (issue 16 #5): `upsert` no longer stamps a shard with
 * the vault's revision, so the first search after each write diffs the level against the vault (checksums only;
 * entries already applied are not embedded again). Measures a search right after a told-about write against a
 * search with no write in between, at 1k and 10k level-1 entries in a real FsVault (plain level 1).
 *
 *   npx tsx bench/search-catch-up.bench.ts [sizes…]     default 1000 10000 → bench/results/search-catch-up.md
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { monotonicFactory } from 'ulidx';
import { withChecksum } from '../src/core/checksum.js';
import type { MemoryEntry, UserId } from '../src/core/entry.js';
import { plainOpener, plainSealer } from '../src/ports/sealer.js';
import { createSearchIndex } from '../src/search/search-index.js';
import { FsVault } from '../src/vault/fs-vault.js';
import { renderEntry } from '../src/vault/markdown-codec.js';
import { categoryHeader } from '../src/vault/templates.js';

const USER = '+14155550134' as UserId;
const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
const SIZES = sizes.length > 0 ? sizes : [1000, 10_000];
const ROUNDS = 30;
const WORDS = 'walk river sara lunch meeting project call doctor bank trip book idea family run coffee kayak'.split(
  ' ',
);
const opener = plainOpener();

let s = 7;
const rand = () => {
  s = (s * 1103515245 + 12345) & 0x7fffffff;
  return s / 0x7fffffff;
};
const text = (i: number) =>
  `Entry ${i}: ${Array.from({ length: 20 }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(' ')}.`;

function seed(dataDir: string, n: number): void {
  const ulid = monotonicFactory();
  const start = Date.UTC(2025, 0, 1);
  const parts = [categoryHeader(USER, 'CHRONOLOGICAL')];
  for (let i = 0; i < n; i++) {
    const time = start + i * 3_600_000;
    const entry: MemoryEntry = withChecksum({
      id: ulid(time),
      userId: USER,
      date: new Date(time).toISOString(),
      eventDate: null,
      category: 'CHRONOLOGICAL',
      level: 1,
      tags: [],
      content: text(i),
      analysis: '',
      confidence: 0.9,
      related: [],
      emotionalContext: 'neutral',
      channel: 'import',
      externalId: null,
    });
    parts.push(renderEntry(entry), '\n');
  }
  writeFileSync(join(dataDir, 'users', USER, `CHRONOLOGICAL.${USER}.md`), parts.join(''), { mode: 0o600 });
}

function pct(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}
const f = (n: number) => n.toFixed(1);

const rows: string[] = [];
for (const size of SIZES) {
  const dataDir = mkdtempSync(join(tmpdir(), 'memvault-catchup-'));
  try {
    const vault = new FsVault({ dataDir });
    await vault.createUser({ userId: USER });
    seed(dataDir, size);
    const index = createSearchIndex({ vault, dataDir, sealer: plainSealer, saveDelayMs: 60_000 });
    await index.search(USER, { text: 'kayak river' }, opener); // builds the shard
    const warm: number[] = [];
    const afterWrite: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      let t = performance.now();
      await index.search(USER, { text: 'coffee with sara' }, opener);
      warm.push(performance.now() - t);
      const entry = await vault.append(USER, {
        date: new Date().toISOString(),
        category: 'CHRONOLOGICAL',
        content: text(size + r),
        channel: 'cli',
      });
      await index.upsert(USER, entry);
      t = performance.now();
      await index.search(USER, { text: 'coffee with sara' }, opener);
      afterWrite.push(performance.now() - t);
    }
    rows.push(
      `| ${size.toLocaleString('en')} | ${f(pct(warm, 50))} | ${f(pct(warm, 95))} | ${f(pct(afterWrite, 50))} | ${f(pct(afterWrite, 95))} |`,
    );
    await index.close();
    await vault.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const load = loadavg()
  .map((x) => x.toFixed(1))
  .join(' ');
const report = `# Search catch-up after a write (bench/search-catch-up.bench.ts)

A told-about write (\`upsert\`) applies its entry but leaves the shard's revision (issue 16 #5), so the first
search after it catches up with the vault: one \`vault.read\` of the level (cached, tail-read) and a checksum
comparison per entry; no embedding for entries already applied. ${ROUNDS} rounds of: search, append + upsert,
search. Level 1 plain in a real FsVault, all signals, top 50.

| memories | no write before: p50 ms | p95 ms | right after a write: p50 ms | p95 ms |
|---:|---:|---:|---:|---:|
${rows.join('\n')}

Measured ${new Date().toISOString().slice(0, 10)} on ${process.platform}/${process.arch}, Node ${process.version},
${cpus().length} cores, load average ${load} at the end: the machine was shared with four other engineers' builds
and tests, so wall-clock times include waiting for a core.
`;
writeFileSync(resolve(import.meta.dirname, 'results/search-catch-up.md'), report);
process.stdout.write(report);
