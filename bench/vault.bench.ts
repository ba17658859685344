/**
 * Vault benchmark: durable append latency, filtered read latency and bulk append throughput at 1k, 10k and
 * 100k existing entries for one user. Writes bench/results/vault.md.
 *
 *   npx tsx bench/vault.bench.ts [--quick]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { monotonicFactory } from 'ulidx';
import { withChecksum } from '../src/core/checksum.js';
import type { MemoryEntry, UserId } from '../src/core/entry.js';
import { plainOpener } from '../src/ports/sealer.js';
import { FsVault } from '../src/vault/fs-vault.js';
import { createOpener, createSealer } from '../src/security/seal.js';
import { generateX25519 } from '../src/security/crypto-x25519.js';
import type { SecurityLevel } from '../src/core/category.js';
import { renderEntry, renderSealedEntry } from '../src/vault/markdown-codec.js';
import { categoryHeader } from '../src/vault/templates.js';

const QUICK = process.argv.includes('--quick');
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const SIZES = QUICK ? [1_000, 10_000] : [1_000, 10_000, 100_000];
const APPENDS = QUICK ? 100 : 300;
const READS = QUICK ? 50 : 200;
const USER = '+14155550134' as UserId;
const TAGS = Array.from({ length: 60 }, (_, i) => `tag${i}`);
const WORDS = 'the a walk river sara lunch meeting project call doctor bank trip book idea family run coffee'.split(
  ' ',
);
const opener = plainOpener();

/** Deterministic pseudo-random numbers, so every run seeds the same vault. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function pct(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const ms = (n: number) => (n < 1 ? n.toFixed(3) : n < 10 ? n.toFixed(2) : n.toFixed(1));

/** Writes `n` entries straight into the CHRONOLOGICAL file with the codec (no per-entry fsync). */
function seed(dataDir: string, n: number): { first: string; last: string } {
  const random = rng(n);
  const ulid = monotonicFactory();
  const start = Date.UTC(2024, 0, 1);
  const span = 2 * 365 * 86_400_000;
  const parts = [categoryHeader(USER, 'CHRONOLOGICAL')];
  let first = '';
  let last = '';
  for (let i = 0; i < n; i++) {
    const time = start + Math.floor((i / n) * span);
    const date = new Date(time).toISOString();
    const words = Array.from({ length: 30 }, () => WORDS[Math.floor(random() * WORDS.length)]).join(' ');
    const tags = [
      ...new Set(
        Array.from({ length: 1 + Math.floor(random() * 3) }, () => TAGS[Math.floor(random() * TAGS.length)] ?? 'x'),
      ),
    ];
    const entry: MemoryEntry = withChecksum({
      id: ulid(time),
      userId: USER,
      date,
      eventDate: null,
      category: 'CHRONOLOGICAL',
      level: 1,
      tags,
      content: `Entry ${i}: ${words}.`,
      analysis: 'A dated event.',
      confidence: 0.9,
      related: [],
      emotionalContext: 'neutral',
      channel: 'import',
      externalId: `seed-${i}`,
    });
    parts.push(renderEntry(entry), '\n');
    if (i === 0) first = date;
    last = date;
  }
  writeFileSync(join(dataDir, 'users', USER, `CHRONOLOGICAL.${USER}.md`), parts.join(''), { mode: 0o600 });
  return { first, last };
}

interface Row {
  size: number;
  fileMb: number;
  coldLoadMs: number;
  /** Heap held by the parsed, cached file after the first read. */
  heapMb: number;
  appendP50: number;
  appendP99: number;
  appendMax: number;
  readTagP50: number;
  readTagP99: number;
  readRangeP50: number;
  readRangeP99: number;
  readBothP50: number;
  readBothP99: number;
  bulkSeqPerSec: number;
  bulkParPerSec: number;
}

async function measure(size: number): Promise<Row> {
  const dataDir = mkdtempSync(join(tmpdir(), 'memvault-bench-'));
  try {
    const setup = new FsVault({ dataDir });
    await setup.createUser({ userId: USER });
    await setup.close();
    const { first, last } = seed(dataDir, size);
    const vault = new FsVault({ dataDir });

    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    let t = performance.now();
    const all = await vault.read(USER, { limit: 1 }, opener);
    const coldLoadMs = performance.now() - t;
    gc();
    const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
    if (all.total !== size || all.damaged.length > 0) throw new Error(`seeded ${size}, read ${all.total}`);

    const append = (i: number) =>
      vault.append(USER, {
        date: new Date().toISOString(),
        category: 'CHRONOLOGICAL',
        content: `A new memory number ${i} about a walk by the river with Sara.`,
        tags: ['bench', TAGS[i % TAGS.length] ?? 'x'],
        channel: 'cli',
      });

    const appends: number[] = [];
    for (let i = 0; i < APPENDS; i++) {
      t = performance.now();
      await append(i);
      appends.push(performance.now() - t);
    }

    const mid = new Date((Date.parse(first) + Date.parse(last)) / 2);
    const from = new Date(mid.getTime() - 90 * 86_400_000).toISOString();
    const to = mid.toISOString();
    const timeReads = async (filter: Parameters<FsVault['read']>[1]) => {
      const samples: number[] = [];
      for (let i = 0; i < READS; i++) {
        t = performance.now();
        const r = await vault.read(USER, filter, opener);
        samples.push(performance.now() - t);
        if (r.entries.length === 0) throw new Error('benchmark filter matched nothing');
      }
      return samples;
    };
    const readTag = await timeReads({ tags: ['tag7'], limit: 50 });
    const readRange = await timeReads({ from, to, limit: 50 });
    const readBoth = await timeReads({ tags: ['tag7'], from, to, limit: 50 });

    const BULK = QUICK ? 200 : 500;
    t = performance.now();
    for (let i = 0; i < BULK; i++) await append(i);
    const bulkSeqPerSec = BULK / ((performance.now() - t) / 1000);
    t = performance.now();
    await Promise.all(Array.from({ length: BULK }, (_, i) => append(i)));
    const bulkParPerSec = BULK / ((performance.now() - t) / 1000);

    await vault.close();
    const { statSync } = await import('node:fs');
    const fileMb = statSync(join(dataDir, 'users', USER, `CHRONOLOGICAL.${USER}.md`)).size / 2 ** 20;
    return {
      size,
      fileMb,
      coldLoadMs,
      heapMb,
      appendP50: pct(appends, 50),
      appendP99: pct(appends, 99),
      appendMax: Math.max(...appends),
      readTagP50: pct(readTag, 50),
      readTagP99: pct(readTag, 99),
      readRangeP50: pct(readRange, 50),
      readRangeP99: pct(readRange, 99),
      readBothP50: pct(readBoth, 50),
      readBothP99: pct(readBoth, 99),
      bulkSeqPerSec,
      bulkParPerSec,
    };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The disk's own cost: O_APPEND write + fdatasync of a 600-byte block, no vault. */
async function baseline(): Promise<{ p50: number; p99: number }> {
  const { open } = await import('node:fs/promises');
  const dir = mkdtempSync(join(tmpdir(), 'memvault-bench-'));
  const handle = await open(join(dir, 'raw.md'), 'a');
  const block = Buffer.alloc(600, 'x');
  const samples: number[] = [];
  try {
    for (let i = 0; i < APPENDS; i++) {
      const t = performance.now();
      await handle.write(block);
      await handle.datasync();
      samples.push(performance.now() - t);
    }
  } finally {
    await handle.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return { p50: pct(samples, 50), p99: pct(samples, 99) };
}

const disk = await baseline();
console.log(`raw write+fdatasync: p50 ${ms(disk.p50)} ms p99 ${ms(disk.p99)} ms`);
const rows: Row[] = [];
for (const size of SIZES) {
  const row = await measure(size);
  rows.push(row);
  console.log(
    `${size} entries: append p50 ${ms(row.appendP50)} ms p99 ${ms(row.appendP99)} ms · tag read p50 ${ms(row.readTagP50)} ms ` +
      `p99 ${ms(row.readTagP99)} ms · range read p99 ${ms(row.readRangeP99)} ms · cold load ${ms(row.coldLoadMs)} ms`,
  );
}

/**
 * Sealed reads with the real sealer (X25519 + HKDF + AEAD, src/security/seal.ts): a CONFIDENTIAL (level 2) file
 * and a SECRET (level 3) file of `n` entries each. Level 2 is opened once and then served from the in-memory
 * cache of opened entries; level 3 is opened on every read.
 */
async function measureSealed(n: number) {
  const dataDir = mkdtempSync(join(tmpdir(), 'memvault-bench-'));
  try {
    const keys = new Map<SecurityLevel, Uint8Array>();
    const publics = new Map<SecurityLevel, Uint8Array>();
    for (const level of [1, 2, 3, 4] as const) {
      const pair = generateX25519();
      keys.set(level, pair.privateKey);
      publics.set(level, pair.publicKey);
    }
    const sealer = createSealer(
      { publicKey: async (_u, level) => publics.get(level) ?? new Uint8Array() },
      {
        level1Plain: false,
      },
    );
    const setup = new FsVault({ dataDir, sealer });
    await setup.createUser({ userId: USER });
    await setup.close();
    const ulid = monotonicFactory();
    const start = Date.UTC(2024, 0, 1);
    let t = performance.now();
    const secretCount = Math.floor(n / 5);
    for (const category of ['CONFIDENTIAL', 'SECRET'] as const) {
      const level = category === 'CONFIDENTIAL' ? 2 : 3;
      const count = level === 2 ? n : secretCount;
      const parts = [categoryHeader(USER, category)];
      for (let i = 0; i < count; i++) {
        const time = start + Math.floor((i / count) * 2 * 365 * 86_400_000);
        const entry: MemoryEntry = withChecksum({
          id: ulid(time),
          userId: USER,
          date: new Date(time).toISOString(),
          eventDate: null,
          category,
          level,
          tags: [TAGS[i % TAGS.length] ?? 'x'],
          content: `Sealed entry ${i}: my account number is ${100000 + i} at the bank on the corner.`,
          analysis: 'Financial detail.',
          confidence: 0.95,
          related: [],
          emotionalContext: 'neutral',
          channel: 'import',
          externalId: null,
        });
        const payload = await sealer.seal({ userId: USER, level, category, entryId: entry.id }, renderEntry(entry));
        parts.push(renderSealedEntry({ id: entry.id, date: level <= 2 ? entry.date : null, payload }), '\n');
      }
      writeFileSync(join(dataDir, 'users', USER, `${category}.${USER}.md`), parts.join(''), { mode: 0o600 });
    }
    const sealMs = (performance.now() - t) / (n + secretCount);
    const opener = createOpener(USER, keys);
    const vault = new FsVault({ dataDir, sealer });
    const to = new Date(start + 365 * 86_400_000).toISOString();
    const from = new Date(start + 335 * 86_400_000).toISOString();
    t = performance.now();
    const ranged = await vault.read(USER, { categories: ['CONFIDENTIAL'], from, to, limit: 50 }, opener);
    const coldRangeMs = performance.now() - t;
    t = performance.now();
    const cold = await vault.read(USER, { categories: ['CONFIDENTIAL'], tags: ['tag7'], limit: 50 }, opener);
    const coldMs = performance.now() - t;
    if (cold.damaged.length > 0 || ranged.total === 0) throw new Error('sealed benchmark read failed');
    const warm: number[] = [];
    for (let i = 0; i < READS; i++) {
      t = performance.now();
      await vault.read(USER, { categories: ['CONFIDENTIAL'], tags: ['tag7'], limit: 50 }, opener);
      warm.push(performance.now() - t);
    }
    const secret: number[] = [];
    for (let i = 0; i < 3; i++) {
      t = performance.now();
      await vault.read(USER, { categories: ['SECRET'], tags: ['tag7'], limit: 50 }, opener);
      secret.push(performance.now() - t);
    }
    await vault.close();
    return {
      n,
      secretCount,
      sealMs,
      coldRangeMs,
      coldMs,
      warmP50: pct(warm, 50),
      warmP99: pct(warm, 99),
      secretP50: pct(secret, 50),
    };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const sealed = await measureSealed(QUICK ? 1_000 : 5_000);
console.log('sealed', sealed);

const cpu = cpus()[0]?.model ?? 'unknown CPU';
const lines = [
  '# Vault benchmark (FsVault, plain level 1)',
  '',
  `Measured ${new Date().toISOString()} on ${cpus().length} cores (${cpu}), Node ${process.version}, ` +
    `data under ${tmpdir()} on the machine's disk.${QUICK ? ' Quick run.' : ''}`,
  'Load average at the end of the run (other work shares this machine): ' +
    `${(await import('node:os'))
      .loadavg()
      .map((n) => n.toFixed(1))
      .join(' ')}.`,
  '',
  `Each size seeds one user's CHRONOLOGICAL file with N entries (about 600 bytes each, 60 tags, dates over two`,
  `years), written with the codec; then ${APPENDS} durable appends (write + fdatasync under the user lock), ${READS}`,
  'reads per filter (limit 50, warm cache), and bulk appends sequentially and 500 at once (Promise.all).',
  '',
  `Disk baseline in the same run (a bare O_APPEND write + fdatasync of 600 bytes, no vault): p50 ${ms(disk.p50)} ms,` +
    ` p99 ${ms(disk.p99)} ms.`,
  '',
  '| existing entries | file | cold load | heap held | append p50 | append p99 | append max | tag read p50 / p99 | 90-day range p50 / p99 | tag + range p50 / p99 | bulk seq | bulk parallel |',
  '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map(
    (r) =>
      `| ${r.size.toLocaleString('en')} | ${r.fileMb.toFixed(1)} MB | ${ms(r.coldLoadMs)} ms | ${r.heapMb.toFixed(1)} MB | ` +
      `${ms(r.appendP50)} ms | ` +
      `**${ms(r.appendP99)} ms** | ${ms(r.appendMax)} ms | ${ms(r.readTagP50)} / ${ms(r.readTagP99)} ms | ` +
      `${ms(r.readRangeP50)} / ${ms(r.readRangeP99)} ms | ${ms(r.readBothP50)} / ${ms(r.readBothP99)} ms | ` +
      `${Math.round(r.bulkSeqPerSec)}/s | ${Math.round(r.bulkParPerSec)}/s |`,
  ),
  '',
  'Target (DESIGN §11): durable append p99 < 20 ms at 100k entries per user.',
  '',
  `## Sealed levels (real sealer: X25519 + HKDF-SHA256 + AEAD): ${sealed.n.toLocaleString('en')} level 2 entries, ` +
    `${sealed.secretCount.toLocaleString('en')} level 3 entries`,
  '',
  '| measure | time |',
  '|---|---:|',
  `| seal one entry (seeding) | ${ms(sealed.sealMs)} ms |`,
  `| level 2, first read with a 30-day range (fresh vault: parses the file, opens only the range) | ${ms(sealed.coldRangeMs)} ms |`,
  `| level 2, first tag read (opens every remaining entry once) | ${ms(sealed.coldMs)} ms |`,
  `| level 2, warm tag read p50 / p99 (opened-entry cache) | ${ms(sealed.warmP50)} / ${ms(sealed.warmP99)} ms |`,
  `| level 3, tag read p50 of 3 (opens every entry, every read) | ${ms(sealed.secretP50)} ms |`,
  `| level 3, per entry opened | ${ms(sealed.secretP50 / sealed.secretCount)} ms |`,
  '',
];
writeFileSync(join(import.meta.dirname, 'results', 'vault.md'), lines.join('\n'));
console.log(lines.join('\n'));
