/**
 * Channels under load, against the loopback stand-ins of test/channels (Telegram Bot API, Twilio REST, a real
 * SMTP server), with the real server over HTTP:
 *  1. inbound: 100 people linked by contact share, then Telegram webhooks at 50 messages/s spread over them;
 *     latency from POST to the 200 (the memory is stored and its reply sent before the ack);
 *  2. outbound: the digest of each of N people (default 1,000) delivered to the in-app list, Telegram and e-mail.
 *
 *   npx tsx bench/channels.ts [--people 100] [--seconds 10] [--digests 1000]
 *
 * Writes bench/results/channels.md.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { UserId } from '../src/core/entry.js';
import { startChannelServer, tgMessage } from '../test/channels/harness.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : Number.NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
};
const PEOPLE = arg('people', 100);
const SECONDS = arg('seconds', 10);
const DIGESTS = arg('digests', 1000);
const RATE = 50;

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const phone = (i: number) => `+3519123${String(i).padStart(5, '0')}` as UserId;
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

const s = await startChannelServer();
try {
  const loadBefore = load();
  // People and links (not measured).
  for (let i = 0; i < Math.max(PEOPLE, DIGESTS); i++) {
    await s.mv.memory.signUp({ phone: phone(i), timezone: 'Europe/Lisbon', email: `p${i}@example.org` });
    if (i < PEOPLE) {
      await s.tg(
        tgMessage(s.nextUpdateId(), 500_000 + i, {
          contact: { phone_number: phone(i).slice(1), first_name: 'P', user_id: 500_000 + i },
        }),
      );
    }
  }
  // 1. Inbound at 50 messages/s.
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  const total = RATE * SECONDS;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const inflight: Promise<void>[] = [];
  for (let n = 0; n < total; n++) {
    const due = t0 + (n * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const chat = 500_000 + (n % PEOPLE);
    inflight.push(
      (async () => {
        const start = performance.now();
        const res = await s.tg(
          tgMessage(s.nextUpdateId(), chat, { text: `Walked the dog along the river, note ${n}` }),
        );
        latencies.push(performance.now() - start);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      })(),
    );
  }
  await Promise.all(inflight);
  const inboundWall = (performance.now() - t0) / 1000;
  const inboundCpu = process.cpuUsage(cpu0);
  const loadInbound = load();
  latencies.sort((a, b) => a - b);
  let stored = 0;
  for (let i = 0; i < PEOPLE; i++) stored += (await s.memories(phone(i))).total;

  // 2. Digest fan-out.
  const cpu1 = process.cpuUsage();
  const t1 = performance.now();
  let delivered = 0;
  let failed = 0;
  let errors = 0;
  const queue = Array.from({ length: DIGESTS }, (_, i) => phone(i));
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let u = queue.shift(); u; u = queue.shift()) {
        try {
          const r = await s.mv.channels.service.deliverDigest(u);
          delivered += r?.delivered.length ?? 0;
          failed += r?.failed.length ?? 0;
        } catch {
          errors++;
        }
      }
    }),
  );
  const fanoutWall = (performance.now() - t1) / 1000;
  const fanoutCpu = process.cpuUsage(cpu1);
  const loadFanout = load();
  const mails = s.smtp.mails.length;

  const lines = [
    '# Channels',
    '',
    `Measured ${new Date().toISOString()} on ${cpus().length} cores (${cpus()[0]?.model ?? 'cpu'}), Node ${process.version}, by \`npx tsx bench/channels.ts --people ${PEOPLE} --seconds ${SECONDS} --digests ${DIGESTS}\`.`,
    'Server, stand-ins (Telegram Bot API, Twilio, SMTP) and the load generator share one process over loopback; the machine',
    'was shared with other work. Load average (1, 5, 15 min): ' +
      `before ${loadBefore}; after inbound ${loadInbound}; after fan-out ${loadFanout}.`,
    '',
    `## Inbound: Telegram webhook → stored → acknowledged, ${RATE} messages/s across ${PEOPLE} people for ${SECONDS} s`,
    '',
    '| messages | 200 | other | p50 ms | p90 ms | p99 ms | max ms | stored | wall s | CPU s (user+sys) |',
    '|---|---|---|---|---|---|---|---|---|---|',
    `| ${total} | ${statuses.get(200) ?? 0} | ${total - (statuses.get(200) ?? 0)} | ${pct(latencies, 50).toFixed(0)} | ${pct(latencies, 90).toFixed(0)} | ${pct(latencies, 99).toFixed(0)} | ${(latencies.at(-1) ?? 0).toFixed(0)} | ${stored} | ${inboundWall.toFixed(1)} | ${((inboundCpu.user + inboundCpu.system) / 1e6).toFixed(1)} |`,
    '',
    'Each acknowledged message is classified, sealed, appended, indexed and answered (sendMessage to the stand-in) before the 200.',
    '',
    `## Outbound: digest fan-out to ${DIGESTS} people (in-app, e-mail${PEOPLE > 0 ? `, and Telegram for the ${PEOPLE} linked` : ''}), 4 at a time`,
    '',
    '| people | deliveries | failed deliveries | errors | mails received | wall s | per person ms | CPU s |',
    '|---|---|---|---|---|---|---|---|',
    `| ${DIGESTS} | ${delivered} | ${failed} | ${errors} | ${mails} | ${fanoutWall.toFixed(1)} | ${((fanoutWall * 1000) / DIGESTS).toFixed(1)} | ${((fanoutCpu.user + fanoutCpu.system) / 1e6).toFixed(1)} |`,
    '',
    'The people have no memories of the day (the digest is built, but short): this measures delivery, not digest writing',
    '(bench/insights-night.bench.ts measures that).',
    '',
  ];
  await mkdir(join(HERE, 'results'), { recursive: true });
  await writeFile(join(HERE, 'results', 'channels.md'), lines.join('\n'));
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await s.close();
}
