/**
 * MCP tools benchmark: what one tool call costs through the SDK's own client (in-memory transport) on the real
 * wiring, for a vault of N memories (default 5,000; `MCP_BENCH_SIZE`) spread over levels 1–4 as a person's would
 * be (70% / 15% / 10% / 5%), read by a level-1 caller (so every list also counts three locked levels).
 * Memories are appended straight to the vault (no classifier) to keep the setup short. Reports wall-clock p50 /
 * p95 and CPU time per call (process.cpuUsage, user + system), and `lockedCounts` alone to isolate what the
 * locked-level counts add to search_memories and timeline.
 * Run: `npx tsx bench/mcp.bench.ts`; writes bench/results/mcp.md.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { loadConfig } from '../src/app/config.js';
import { createMemvault } from '../src/app/container.js';
import type { Category } from '../src/core/category.js';
import type { UserId } from '../src/core/entry.js';
import { createMcpServer } from '../src/mcp/mcp-server.js';
import { lockedCounts } from '../src/mcp/present.js';
import type { Principal } from '../src/services/types.js';

const SIZE = Number(process.env.MCP_BENCH_SIZE ?? 5000);
const RUNS = Number(process.env.MCP_BENCH_RUNS ?? 30);
const PEOPLE = ['Nadia', 'Tom', 'Sam', 'Maya', 'Hemi', 'Priya', 'Lucas', 'Ines', 'Omar', 'Yuki'];
const TEXTS = [
  (p: string) => `Brunch with ${p} at the harbour, we laughed so much.`,
  (p: string) => `Went running with ${p} along the river this morning.`,
  (p: string) => `${p} recommended a book about mountain villages.`,
  () => 'Fixed the leaking kitchen tap and watered the plants.',
  (p: string) => `Coffee with ${p}; we planned the trip to Porto in spring.`,
];

function categoryOf(n: number): Category {
  const r = n % 20;
  if (r < 7) return 'CHRONOLOGICAL';
  if (r < 14) return 'GENERAL';
  if (r < 17) return 'CONFIDENTIAL';
  if (r < 19) return 'SECRET';
  return 'ULTRASECRET';
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
  return { p50: at(0.5), p95: at(0.95) };
};

const dataDir = await mkdtemp(join(tmpdir(), 'memvault-mcp-bench-'));
const mv = await createMemvault(loadConfig({ MEMVAULT_DATA_DIR: dataDir, MEMVAULT_LOG_LEVEL: 'silent' }));
const rows: string[] = [];
let setupMs = 0;
try {
  const phone = '+351912345678';
  const userId = phone as UserId;
  await mv.memory.signUp({ phone, timezone: 'Europe/Lisbon' });
  const setup = performance.now();
  const end = Date.parse('2026-11-30T12:00:00Z');
  const span = 2 * 365 * 86_400_000;
  for (let n = 0; n < SIZE; n++) {
    await mv.vault.append(userId, {
      date: new Date(end - span + (span * n) / SIZE).toISOString(),
      category: categoryOf(n),
      content: TEXTS[n % TEXTS.length]!(PEOPLE[n % PEOPLE.length]!),
      channel: 'import',
    });
  }
  setupMs = performance.now() - setup;
  const principal: Principal = {
    userId,
    opener: await mv.auth.channelOpener(userId),
    meta: { channel: 'mcp' },
    client: 'bench',
  };
  const server = createMcpServer({ memory: mv.memory, principalFor: async () => principal, now: () => new Date(end) });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(clientSide);
  await client.listTools();
  const first = (await client.callTool({
    name: 'search_memories',
    arguments: { query: 'coffee Porto' },
  })) as CallToolResult;
  const cursor = (first.structuredContent as { nextCursor?: string }).nextCursor;
  const someId = (first.structuredContent as { results: { id: string }[] }).results[0]?.id ?? '';

  const cases: [string, () => Promise<unknown>][] = [
    [
      'search_memories "coffee Porto" (page 1 of 10)',
      () => client.callTool({ name: 'search_memories', arguments: { query: 'coffee Porto' } }),
    ],
    [
      'search_memories, page 2 by cursor',
      () => client.callTool({ name: 'search_memories', arguments: { query: 'coffee Porto', cursor } }),
    ],
    [
      'search_memories, no match',
      () => client.callTool({ name: 'search_memories', arguments: { query: 'submarine warranty' } }),
    ],
    ['timeline, 7 days', () => client.callTool({ name: 'timeline', arguments: { days: 7 } })],
    ['timeline, 366 days, 50 per page', () => client.callTool({ name: 'timeline', arguments: { days: 366 } })],
    ['get_memory', () => client.callTool({ name: 'get_memory', arguments: { id: someId } })],
    ['search (ChatGPT connector)', () => client.callTool({ name: 'search', arguments: { query: 'coffee Porto' } })],
    ['lockedCounts alone (3 locked levels, no window)', () => lockedCounts(mv.memory, principal, {})],
  ];
  for (const [name, run] of cases) {
    await run(); // warm
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await run();
      wall.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
    }
    const w = stats(wall);
    const c = stats(cpu);
    rows.push(`| ${name} | ${w.p50.toFixed(1)} | ${w.p95.toFixed(1)} | ${c.p50.toFixed(1)} | ${c.p95.toFixed(1)} |`);
    console.log(rows.at(-1));
  }
  await client.close();
} finally {
  await mv.close();
  await rm(dataDir, { recursive: true, force: true });
}

const load = loadavg()
  .map((l) => l.toFixed(2))
  .join(' / ');
const report = `# MCP tools benchmark

One tool call through the SDK's own client (in-memory transport) on the real wiring: sealed levels 1–4, the
search index, the audit log. ${SIZE.toLocaleString('en')} memories over two years (70% level 1, 15% level 2, 10%
level 3, 5% level 4), appended straight to the vault (setup ${(setupMs / 1000).toFixed(0)} s); the caller reads
level 1 only, so every search and timeline also counts three locked levels. ${RUNS} runs per row after one warm-up.
CPU is process.cpuUsage (user + system) around the call.

Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, load average at the end
${load} — shared with other engineers' builds and tests at the time, so wall-clock numbers are upper bounds.

| call | wall p50 ms | wall p95 ms | CPU p50 ms | CPU p95 ms |
|---|---|---|---|---|
${rows.join('\n')}

Run: \`npx tsx bench/mcp.bench.ts\` (\`MCP_BENCH_SIZE\`, \`MCP_BENCH_RUNS\`).
`;
await writeFile(new URL('./results/mcp.md', import.meta.url), report);
console.log(report);
