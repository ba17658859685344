/**
 * Sealed appends through the real keyring and sealer: since a rotation's re-seal must never miss an entry, the
 * vault seals under the person's lock (docs/entry-format.md, "Invariants"). This measures what that costs:
 * sequential append latency and the throughput of many appends to one person at once. Writes
 * bench/results/sealed-append.md.
 *
 *   npx tsx bench/sealed-append.bench.ts [--label TEXT]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { UserId } from '../src/core/entry.js';
import { KeyringStore } from '../src/security/keyring.js';
import { createSealer } from '../src/security/seal.js';
import { FsVault } from '../src/vault/fs-vault.js';

const USER = '+14155550134' as UserId;
const SEQUENTIAL = 300;
const PARALLEL = 600;
const label = process.argv.includes('--label') ? process.argv[process.argv.indexOf('--label') + 1] : 'this tree';

const pct = (samples: number[], p: number) =>
  [...samples].sort((a, b) => a - b)[Math.min(samples.length - 1, Math.floor((p / 100) * samples.length))] ?? NaN;

const dataDir = mkdtempSync(join(tmpdir(), 'memvault-bench-seal-'));
try {
  const keyring = new KeyringStore({
    dataDir,
    masterKey: new Uint8Array(32).fill(7),
    kdf: { memoryCost: 64, timeCost: 1, parallelism: 1 },
  });
  await keyring.create(USER, 'bench password');
  const vault = new FsVault({ dataDir, sealer: createSealer(keyring, { level1Plain: false }) });
  await vault.createUser({ userId: USER, name: 'Bench', timezone: 'UTC' });
  const entry = (i: number) => ({
    date: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(),
    category: (['CHRONOLOGICAL', 'CONFIDENTIAL', 'SECRET'] as const)[i % 3] ?? 'CHRONOLOGICAL',
    content: `Sealed append number ${i}: lunch with Sara by the river, then a call about the project.`,
    channel: 'cli' as const,
  });
  for (let i = 0; i < 20; i++) await vault.append(USER, entry(i)); // warm up
  const times: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) {
    const t = performance.now();
    await vault.append(USER, entry(1000 + i));
    times.push(performance.now() - t);
  }
  const t = performance.now();
  await Promise.all(Array.from({ length: PARALLEL }, (_, i) => vault.append(USER, entry(5000 + i))));
  const parallelMs = performance.now() - t;
  await vault.close();
  const row =
    `| ${label} | ${pct(times, 50).toFixed(3)} ms | ${pct(times, 99).toFixed(2)} ms | ` +
    `${Math.round(PARALLEL / (parallelMs / 1000))}/s | ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} |`;
  const text = `# Sealed appends (real keyring and sealer, levels 1–3 in turn)

Measured ${new Date().toISOString()} on ${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version}, data
under ${tmpdir()}. The machine was shared with other work (load average at the end of the run in the last column):
numbers move by tens of percent between runs.

${SEQUENTIAL} sequential durable appends (seal, write, fdatasync, under the person's lock), then ${PARALLEL} appends
to the same person at once (Promise.all).

| tree | append p50 | append p99 | ${PARALLEL} at once | load |
|---|---:|---:|---:|---|
${row}
`;
  writeFileSync(new URL('./results/sealed-append.md', import.meta.url), text);
  process.stdout.write(`${row}\n`);
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
