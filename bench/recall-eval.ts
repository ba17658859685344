/**
 * Recall on real conversations (issue 9 §Build 1): the development half of LoCoMo, through the real pipeline.
 *
 * Each conversation becomes one person's vault in a temporary data directory: every turn goes through
 * `memory.remember` exactly as `memvault import` sends it (classification, sealing, append, index), with its
 * timestamp and externalId; every question goes through `memory.search`, the call behind `memvault search`.
 * Prints R@1/5/10/20, hit@10 and MRR per category and overall, and search latency p50/p95.
 *
 *   npx tsx bench/recall-eval.ts [--conv conv-26] [--misses FILE]   (npm run eval:recall)
 *
 * The data is read from ../shared/eval/locomo-dev/ relative to the repository (never copied into it); without it
 * the evaluation says so and exits 0. `--misses FILE` writes every question whose evidence is not all in the top
 * 10, with what came back, for looking at where recall is lost.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { createMemvault } from '../src/app/container.js';
import { loadConfig } from '../src/app/config.js';
import type { UserId } from '../src/core/entry.js';
import type { Principal } from '../src/services/types.js';

const ROOT = resolve(import.meta.dirname, '..');
const DATA = resolve(ROOT, '../shared/eval/locomo-dev');
const CATEGORIES: Record<number, string> = { 1: 'multi-hop', 2: 'temporal', 3: 'open-domain', 4: 'single-hop' };
const KS = [1, 5, 10, 20] as const;
/** Questions are asked the day after the conversation's last message, as a person looking back would. */
const DAY = 86_400_000;

interface Message {
  readonly text: string;
  readonly timestamp: string;
  readonly externalId: string;
}
interface Question {
  readonly id: string;
  readonly question: string;
  readonly category: number;
  readonly evidence: readonly string[];
}
interface Outcome {
  readonly category: number;
  readonly recall: Record<(typeof KS)[number], number>;
  readonly hit10: boolean;
  readonly rr: number;
}

const args = process.argv.slice(2);
const only = args.includes('--conv') ? args[args.indexOf('--conv') + 1] : undefined;
const missesFile = args.includes('--misses') ? args[args.indexOf('--misses') + 1] : undefined;
/** `--q TEXT`: only the questions containing TEXT, with their top 5 printed (for looking at one case). */
const focus = args.includes('--q') ? args[args.indexOf('--q') + 1] : undefined;

function readJsonl<T>(file: string): T[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as T);
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function summarise(outcomes: readonly Outcome[]): string[] {
  const n = Math.max(1, outcomes.length);
  const mean = (f: (o: Outcome) => number) => (outcomes.reduce((s, o) => s + f(o), 0) / n).toFixed(3);
  return [
    String(outcomes.length),
    ...KS.map((k) => mean((o) => o.recall[k])),
    mean((o) => (o.hit10 ? 1 : 0)),
    mean((o) => o.rr),
  ];
}

async function evaluateConversation(
  messages: readonly Message[],
  questions: readonly Question[],
  latencies: number[],
  cpuTimes: number[],
  misses: unknown[],
): Promise<{ outcomes: Outcome[]; importMs: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'memvault-recall-'));
  try {
    const config = loadConfig({ MEMVAULT_LOG_LEVEL: 'silent' }, { dataDir });
    const app = await createMemvault(config, { logger: pino({ level: 'silent' }) });
    try {
      const profile = await app.memory.signUp({ phone: '+14155550100', timezone: 'UTC' });
      const userId = profile.userId as UserId;
      const principal: Principal = { userId, opener: await app.operatorOpener(userId), meta: { channel: 'cli' } };
      const started = performance.now();
      for (const m of messages) {
        await app.memory.remember(principal, m.text, {
          channel: 'import',
          at: new Date(m.timestamp),
          externalId: m.externalId,
        });
      }
      const importMs = performance.now() - started;
      const last = Math.max(...messages.map((m) => Date.parse(m.timestamp)));
      const now = new Date(last + DAY);
      const outcomes: Outcome[] = [];
      for (const q of questions.filter((x) => !focus || x.question.includes(focus))) {
        const t0 = performance.now();
        const c0 = process.cpuUsage();
        const hits = await app.memory.search(principal, { text: q.question, limit: 20, now });
        latencies.push(performance.now() - t0);
        const c1 = process.cpuUsage(c0);
        cpuTimes.push((c1.user + c1.system) / 1000);
        if (focus) {
          console.log(q.question, q.evidence);
          for (const h of hits.slice(0, 5))
            console.log(`  ${h.entry.externalId} ${h.score} [${h.signals.join(',')}] ${h.entry.content.slice(0, 120)}`);
        }
        const ids = hits.map((h) => h.entry.externalId);
        const evidence = new Set(q.evidence);
        const recall = {} as Record<(typeof KS)[number], number>;
        for (const k of KS) {
          recall[k] = ids.slice(0, k).filter((id) => id !== null && evidence.has(id)).length / evidence.size;
        }
        const first = ids.findIndex((id) => id !== null && evidence.has(id));
        outcomes.push({
          category: q.category,
          recall,
          hit10: first >= 0 && first < 10,
          rr: first >= 0 ? 1 / (first + 1) : 0,
        });
        if (missesFile && recall[10] < 1) {
          const byId = new Map(messages.map((m) => [m.externalId, m.text]));
          misses.push({
            id: q.id,
            category: CATEGORIES[q.category],
            question: q.question,
            evidence: q.evidence.map((e) => `${e} ${byId.get(e) ?? '?'}`),
            firstRank: first >= 0 ? first + 1 : null,
            top: hits
              .slice(0, 5)
              .map((h) => `${h.entry.externalId} ${h.score} [${h.signals.join(',')}] ${h.entry.content}`),
          });
        }
      }
      return { outcomes, importMs };
    } finally {
      await app.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (!existsSync(DATA)) {
    console.log(`recall-eval: ${DATA} is absent; skipping (the LoCoMo development half lives outside the repository).`);
    return;
  }
  const convs = readdirSync(DATA)
    .filter((f) => f.endsWith('.messages.jsonl'))
    .map((f) => f.replace('.messages.jsonl', ''))
    .filter((c) => !only || c === only)
    .sort();
  const all: Outcome[] = [];
  const latencies: number[] = [];
  const cpuTimes: number[] = [];
  const misses: unknown[] = [];
  let imported = 0;
  let importMs = 0;
  for (const conv of convs) {
    const messages = readJsonl<Message>(join(DATA, `${conv}.messages.jsonl`));
    const questions = readJsonl<Question>(join(DATA, `${conv}.queries.jsonl`));
    const result = await evaluateConversation(messages, questions, latencies, cpuTimes, misses);
    imported += messages.length;
    importMs += result.importMs;
    all.push(...result.outcomes);
    const [, , , r10, , , mrr] = summarise(result.outcomes);
    console.log(
      `${conv}: ${messages.length} turns imported in ${(result.importMs / 1000).toFixed(1)} s, ${questions.length} questions, R@10 ${r10}, MRR ${mrr}`,
    );
  }
  latencies.sort((a, b) => a - b);
  cpuTimes.sort((a, b) => a - b);
  const header = '| category | questions | R@1 | R@5 | R@10 | R@20 | hit@10 | MRR |';
  const rows = [header, '|---|---:|---:|---:|---:|---:|---:|---:|'];
  for (const [cat, name] of Object.entries(CATEGORIES)) {
    const outcomes = all.filter((o) => o.category === Number(cat));
    if (outcomes.length > 0) rows.push(`| ${cat} ${name} | ${summarise(outcomes).join(' | ')} |`);
  }
  rows.push(`| **overall** | ${summarise(all).join(' | ')} |`);
  const latency = `search latency per question (in-process, ${all.length} questions): p50 ${percentile(latencies, 0.5).toFixed(1)} ms, p95 ${percentile(latencies, 0.95).toFixed(1)} ms (CPU time p50 ${percentile(cpuTimes, 0.5).toFixed(1)} ms, p95 ${percentile(cpuTimes, 0.95).toFixed(1)} ms); import ${imported} turns in ${(importMs / 1000).toFixed(1)} s`;
  console.log(`\n${rows.join('\n')}\n\n${latency}`);
  if (missesFile) {
    writeFileSync(missesFile, `${JSON.stringify(misses, null, 1)}\n`);
    console.log(`misses written to ${missesFile}`);
  }
  if (!only) {
    writeFileSync(
      join(ROOT, 'bench/results/recall-eval.md'),
      `# Recall on LoCoMo (development half)\n\n\`npm run eval:recall\` on ${new Date().toISOString().slice(0, 10)}; ${convs.length} conversations, ` +
        `each imported through \`memory.remember\` (the path of \`memvault import\`) and asked through \`memory.search\`. ` +
        `The machine (2 cores) was shared with other work while this ran, so latencies are upper bounds.\n\n${rows.join('\n')}\n\n${latency}\n`,
    );
  }
}

await main();
