/**
 * Channels under load, against the loopback stand-ins of test/channels (Telegram Bot API, Twilio REST, a real
 * SMTP server), with the real server over HTTP:
 *  1. inbound: 100 people linked by contact share, then Telegram webhooks at 50 messages/s spread over them;
 *     latency from POST to the 200 (the memory is stored and its reply sent before the ack);
 *  2. outbound: the digest of each of N people (default 1,000), each with one level-1 memory of the day, delivered
 *     to the in-app list, Telegram (the linked ones) and e-mail, `--concurrency` people at a time (default 2, as
 *     serve's DailyScheduler runs them).
 *
 *   npx tsx bench/channels.ts [--people 100] [--seconds 10] [--digests 1000] [--concurrency 2]
 *
 * `--seconds 0` skips the inbound part. Sign-ups (one Argon2id each) are set-up, not measured.
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
const argOrZero = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : Number.NaN;
  return Number.isFinite(v) && v >= 0 ? v : fallback;
};
const PEOPLE = arg('people', 100);
const SECONDS = argOrZero('seconds', 10);
const DIGESTS = arg('digests', 1000);
const CONCURRENCY = arg('concurrency', 2);
const RATE = 50;

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const phone = (i: number) => `+3519123${String(i).padStart(5, '0')}` as UserId;
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

/** Runs `work` over `items`, `n` at a time. */
async function pool<T>(items: readonly T[], n: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: Math.min(n, queue.length) }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
    }),
  );
}
const DAY_NOTE = 'Walked along the river with Sara and fed the ducks';

const s = await startChannelServer();
try {
  const loadBefore = load();
  // People, one memory of the day each, and Telegram links by contact share (set-up, not measured).
  const setupT0 = performance.now();
  await pool(
    Array.from({ length: Math.max(PEOPLE, DIGESTS) }, (_, i) => i),
    2,
    async (i) => {
      const userId = phone(i);
      await s.mv.memory.signUp({ phone: userId, timezone: 'Europe/Lisbon', email: `p${i}@example.org` });
      await s.mv.memory.remember({ userId, opener: await s.mv.auth.channelOpener(userId), meta: {} }, DAY_NOTE, {
        channel: 'api',
      });
      if (i < PEOPLE) {
        await s.tg(
          tgMessage(s.nextUpdateId(), 500_000 + i, {
            contact: { phone_number: userId.slice(1), first_name: 'P', user_id: 500_000 + i },
          }),
        );
      }
    },
  );
  const setupWall = (performance.now() - setupT0) / 1000;
  // 1. Inbound at 50 messages/s.
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  const total = RATE * SECONDS;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const inflight: Promise<void>[] = [];
  let stored = 0;
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
  // Each person holds the set-up's memory of the day besides what the inbound part stored.
  if (total > 0) for (let i = 0; i < PEOPLE; i++) stored += (await s.memories(phone(i))).total - 1;

  // 2. Digest fan-out.
  const loadBeforeFanout = load();
  const mailsBefore = s.smtp.mails.length;
  const sendsBefore = s.telegram.calls.filter((c) => c.method === 'sendMessage').length;
  const cpu1 = process.cpuUsage();
  const t1 = performance.now();
  let delivered = 0;
  let failed = 0;
  let errors = 0;
  const perPerson: number[] = [];
  await pool(
    Array.from({ length: DIGESTS }, (_, i) => phone(i)),
    CONCURRENCY,
    async (u) => {
      const start = performance.now();
      try {
        const r = await s.mv.channels.service.deliverDigest(u);
        delivered += r?.delivered.length ?? 0;
        failed += r?.failed.length ?? 0;
      } catch {
        errors++;
      }
      perPerson.push(performance.now() - start);
    },
  );
  const fanoutWall = (performance.now() - t1) / 1000;
  const fanoutCpu = process.cpuUsage(cpu1);
  const loadFanout = load();
  perPerson.sort((a, b) => a - b);
  const fanoutMails = s.smtp.mails.slice(mailsBefore);
  const mails = fanoutMails.length;
  const mailsWithNote = fanoutMails.filter((m) => m.text.includes('ducks')).length;
  const telegramSends = s.telegram.calls.filter((c) => c.method === 'sendMessage').length - sendsBefore;

  const lines = [
    '# Channels',
    '',
    `Measured ${new Date().toISOString()} on ${cpus().length} cores (${cpus()[0]?.model ?? 'cpu'}), Node ${process.version}, by \`npx tsx bench/channels.ts --people ${PEOPLE} --seconds ${SECONDS} --digests ${DIGESTS} --concurrency ${CONCURRENCY}\`.`,
    'Server, stand-ins (Telegram Bot API, Twilio, SMTP) and the load generator share one process over loopback; the machine',
    'was shared with other work, so wall times are inflated: read the CPU columns beside them. Load average (1, 5, 15 min): ' +
      `before ${loadBefore}; after inbound ${loadInbound}; before fan-out ${loadBeforeFanout}; after fan-out ${loadFanout}.`,
    `Set-up (not measured): ${Math.max(PEOPLE, DIGESTS)} sign-ups (one Argon2id each), one memory each, ${PEOPLE} Telegram links, ${setupWall.toFixed(0)} s wall.`,
    '',
    `## Inbound: Telegram webhook → stored → acknowledged, ${RATE} messages/s across ${PEOPLE} people for ${SECONDS} s`,
    '',
    '| messages | 200 | other | p50 ms | p90 ms | p99 ms | max ms | stored | wall s | CPU s (user+sys) |',
    '|---|---|---|---|---|---|---|---|---|---|',
    total === 0
      ? '| (skipped: --seconds 0) | | | | | | | | | |'
      : `| ${total} | ${statuses.get(200) ?? 0} | ${total - (statuses.get(200) ?? 0)} | ${pct(latencies, 50).toFixed(0)} | ${pct(latencies, 90).toFixed(0)} | ${pct(latencies, 99).toFixed(0)} | ${(latencies.at(-1) ?? 0).toFixed(0)} | ${stored} | ${inboundWall.toFixed(1)} | ${((inboundCpu.user + inboundCpu.system) / 1e6).toFixed(1)} |`,
    '',
    'Each acknowledged message is classified, sealed, appended, indexed and answered (sendMessage to the stand-in) before the 200.',
    '',
    `## Outbound: digest fan-out to ${DIGESTS} people (in-app, e-mail${PEOPLE > 0 ? `, and Telegram for the ${PEOPLE} linked` : ''}), ${CONCURRENCY} at a time`,
    '',
    '| people | deliveries | failed deliveries | errors | mails received | mails with the day’s memory | Telegram messages | wall s | per person p50 / p99 ms | CPU s (user+sys) | CPU ms per person |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    `| ${DIGESTS} | ${delivered} | ${failed} | ${errors} | ${mails} | ${mailsWithNote} | ${telegramSends} | ${fanoutWall.toFixed(1)} | ${pct(perPerson, 50).toFixed(0)} / ${pct(perPerson, 99).toFixed(0)} | ${((fanoutCpu.user + fanoutCpu.system) / 1e6).toFixed(1)} | ${((fanoutCpu.user + fanoutCpu.system) / 1e3 / DIGESTS).toFixed(1)} |`,
    '',
    'Each person has one level-1 memory of the day, so each digest is built from a real day (the template digest; no LLM);',
    'writing the day itself (importance, links) is bench/insights-night.bench.ts. A delivery is the in-app notification',
    'file, plus a Telegram sendMessage for the linked people and one SMTP mail (nodemailer’s pool: 3 connections). CPU',
    'includes the stand-ins: the SMTP server parses every mail with mailparser in this same process.',
    '',
  ];
  await mkdir(join(HERE, 'results'), { recursive: true });
  await writeFile(join(HERE, 'results', 'channels.md'), lines.join('\n'));
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await s.close();
}
