/**
 * Classifier benchmark: local latency (p50/p95/p99 over the people corpus, after warm-up), model load
 * time, and batch throughput through the LLM path against a loopback chat-completions stand-in.
 *
 *   npx tsx bench/classify.bench.ts
 *
 * Writes the numbers into bench/results/classify.md (the "Performance" section).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { classifyBatch } from '../src/classify/batch.js';
import { loadCorpus } from '../src/classify/corpus.js';
import { createLlmClassifier } from '../src/classify/llm-classifier.js';
import { createLocalClassifier } from '../src/classify/local-classifier.js';
import { answerContent, startFakeOpenAi } from '../test/classify/fake-openai-server.js';

const ROOT = join(import.meta.dirname, '..');
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const ms = (x: number) => `${x.toFixed(3)} ms`;

// People's messages (varied lengths, forwarded e-mails, codes told in words) are what the classifier meets.
const { train, heldOut } = loadCorpus(join(ROOT, 'corpus'), ['people']);
const texts = [...heldOut, ...train].map((r) => r.text);

let t = performance.now();
const local = createLocalClassifier();
const loadMs = performance.now() - t;
t = performance.now();
local.warmUp();
const firstMs = performance.now() - t;

// Warm-up pass: JIT and the lazily compiled date patterns.
for (const text of texts.slice(0, 300)) local.classifySync(text, { timezone: 'Europe/Paris' });

const ROUNDS = 2;
const samples: number[] = [];
// CPU time of this process per message: unlike wall-clock time it does not count waiting for a core that
// other processes hold, so it shows the classifier's own cost on a busy machine.
const cpuSamples: number[] = [];
const zones = ['UTC', 'America/New_York', 'Europe/Paris', 'Asia/Kolkata'];
for (let round = 0; round < ROUNDS; round++) {
  texts.forEach((text, i) => {
    const cpu = process.cpuUsage();
    const start = performance.now();
    local.classifySync(text, { timezone: zones[i % zones.length]! });
    samples.push(performance.now() - start);
    const used = process.cpuUsage(cpu);
    cpuSamples.push((used.user + used.system) / 1000);
  });
}
samples.sort((a, b) => a - b);
cpuSamples.sort((a, b) => a - b);
const mean = samples.reduce((a, b) => a + b, 0) / samples.length;

// Batch through the LLM path against a local stand-in that answers after 20 ms.
const server = await startFakeOpenAi({ kind: 'answer', content: answerContent(), delayMs: 20 });
const llm = createLlmClassifier({
  baseURL: server.baseURL,
  apiKey: 'bench',
  model: 'stand-in',
  local,
  timeoutMs: 2000,
});
const batchTexts = texts.slice(0, 400);
const batchRows: string[] = [];
for (const concurrency of [1, 4, 16]) {
  t = performance.now();
  const results = await classifyBatch(llm, batchTexts, { concurrency });
  const seconds = (performance.now() - t) / 1000;
  const ok = results.filter((r) => r.ok && r.result.source === 'llm').length;
  batchRows.push(
    `| ${concurrency} | ${batchTexts.length} | ${(batchTexts.length / seconds).toFixed(0)} msg/s | ${ok} |`,
  );
}
t = performance.now();
const localBatch = await classifyBatch(local, texts, { concurrency: 4 });
const localRate = texts.length / ((performance.now() - t) / 1000);
await server.close();

const report = [
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' / ')} at the end of the run (other work shares the cores). Run: ${new Date().toISOString()}.`,
  '',
  '### Local classifier latency',
  '',
  `Over ${samples.length} classifications (${texts.length} corpus messages × ${ROUNDS}, four time zones), after warm-up.`,
  '',
  '| metric | wall clock | CPU time | target |',
  '|---|---|---|---|',
  `| model load (createLocalClassifier) | ${ms(loadMs)} | | milliseconds |`,
  `| warmUp() (language model, date patterns) | ${ms(firstMs)} | | once per process |`,
  `| mean | ${ms(mean)} | ${ms(cpuSamples.reduce((a, b) => a + b, 0) / cpuSamples.length)} | |`,
  `| p50 | ${ms(pct(samples, 50))} | ${ms(pct(cpuSamples, 50))} | |`,
  `| p95 | ${ms(pct(samples, 95))} | ${ms(pct(cpuSamples, 95))} | |`,
  `| p99 | ${ms(pct(samples, 99))} | ${ms(pct(cpuSamples, 99))} | < 5 ms |`,
  `| max | ${ms(samples[samples.length - 1]!)} | ${ms(cpuSamples[cpuSamples.length - 1]!)} | |`,
  `| local batch (concurrency 4, one thread) | ${localRate.toFixed(0)} msg/s (${localBatch.length} messages) | | |`,
  '',
  '### Batch through the LLM path (loopback stand-in answering in 20 ms)',
  '',
  '| concurrency | messages | throughput | answered by the LLM |',
  '|---|---|---|---|',
  ...batchRows,
].join('\n');
console.log(report);

const dir = join(ROOT, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, 'classify.md');
const previous = existsSync(file) ? readFileSync(file, 'utf8') : '# Classifier results\n';
const section = `<!-- perf:start -->\n## Performance\n\n${report}\n<!-- perf:end -->`;
writeFileSync(
  file,
  /<!-- perf:start -->[\s\S]*<!-- perf:end -->/.test(previous)
    ? previous.replace(/<!-- perf:start -->[\s\S]*<!-- perf:end -->/, section)
    : `${previous.trimEnd()}\n\n${section}\n`,
);
