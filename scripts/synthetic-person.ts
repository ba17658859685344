/**
 * Fills a data dir with a generated person's month (test/insights/synthetic-life.ts, seeded) and processes each
 * day, so `memvault digest` and `memvault insights` have something real to show:
 *   MEMVAULT_DATA_DIR=/tmp/demo npx tsx scripts/synthetic-person.ts [seed]
 */
import { loadConfig } from '../src/app/config.js';
import { createMemvault } from '../src/app/container.js';
import type { UserId } from '../src/core/entry.js';
import { addDays } from '../src/core/local-day.js';
import { syntheticMonth } from '../test/insights/synthetic-life.js';

const seed = Number(process.argv[2] ?? 42);
const phone = '+351912345678';
const mv = await createMemvault(loadConfig({ ...process.env, MEMVAULT_LOG_LEVEL: 'warn' }));
try {
  const life = syntheticMonth(seed);
  await mv.memory.signUp({ phone, name: 'Ana', timezone: life.timezone });
  const userId = phone as UserId;
  const principal = { userId, opener: await mv.operatorOpener(userId), meta: { channel: 'cli' } };
  for (const m of [life.yearAgo, ...life.messages]) {
    await mv.memory.remember(principal, m.text, {
      channel: 'cli',
      at: m.at,
      category: m.secret ? 'SECRET' : 'CHRONOLOGICAL',
    });
  }
  for (let day = '2026-11-01'; day <= life.lastDay; day = addDays(day, 1)) await mv.insights.processDay(userId, day);
  console.log(`${phone}: ${life.messages.length + 1} memories, days processed up to ${life.lastDay}`);
} finally {
  await mv.close();
}
