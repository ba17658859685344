import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.js';
import { createMemvault, type Memvault } from '../../src/app/container.js';
import type { UserId } from '../../src/core/entry.js';
import { addDays } from '../../src/core/local-day.js';
import { localTimeToUtc } from '../../src/core/time-zone.js';
import { insightsPath } from '../../src/insights/store.js';
import type { DayResult } from '../../src/ports/insights.js';
import { importanceIn } from '../../src/services/insights-analysis.js';
import type { Principal } from '../../src/services/types.js';
import { type SyntheticMonth, syntheticMonth, withoutTimings } from './synthetic-life.js';
import { holdsSecret } from '../helpers/leak.js';

const PHONE = '+351912345678';
const userId = PHONE as UserId;

let dataDir: string;
let mv: Memvault;
let principal: Principal;
let life: SyntheticMonth;
const logLines: string[] = [];
let now = new Date('2026-12-01T01:00:00.000Z');
const results = new Map<string, DayResult>();

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'memvault-insights-'));
  const sink = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  mv = await createMemvault(loadConfig({ MEMVAULT_DATA_DIR: dataDir, MEMVAULT_LOG_LEVEL: 'silent' }), {
    // No clock or process fields: the log lines are searched for leaked digits below.
    logger: pino({ level: 'debug', timestamp: false, base: null }, sink),
    clock: { now: () => now },
  });
  life = syntheticMonth(42);
  await mv.memory.signUp({ phone: PHONE, name: 'Ana', timezone: life.timezone });
  principal = { userId, opener: await mv.operatorOpener(userId), meta: { channel: 'cli' } };
  for (const m of [life.yearAgo, ...life.messages]) {
    // The person files each memory themselves, so the levels of the ground truth do not depend on the classifier.
    await mv.memory.remember(principal, m.text, {
      channel: 'cli',
      at: m.at,
      category: m.secret ? 'SECRET' : 'CHRONOLOGICAL',
    });
  }
  for (let day = '2026-11-01'; day <= life.lastDay; day = addDays(day, 1)) {
    results.set(day, await mv.insights.processDay(userId, day));
  }
}, 240_000);

afterAll(async () => {
  await mv?.close();
  await rm(dataDir, { recursive: true, force: true });
});

const month = () => results.get(life.lastDay)!.patterns.find((p) => p.days === 30)!;
const truthCount = (pred: (m: SyntheticMonth['messages'][number]) => boolean) => life.messages.filter(pred).length;

describe('daily processing on a synthetic month', () => {
  it('finds exactly the people and places of the ground truth over 30 days', () => {
    const people = Object.fromEntries(month().people.map((p) => [p.name, p.count]));
    expect(people).toEqual({
      Nadia: truthCount((m) => m.people.includes('Nadia')),
      Tom: truthCount((m) => m.people.includes('Tom')),
      Sam: truthCount((m) => m.people.includes('Sam')),
    });
    const places = Object.fromEntries(month().places.map((p) => [p.name, p.count]));
    expect(places.park).toBe(truthCount((m) => m.places.includes('park')));
    expect(places['Blue Bottle']).toBe(truthCount((m) => m.places.includes('Blue Bottle')));
  });

  it('sees when they write, the mood with each person, and running on Tuesdays', () => {
    const p = month();
    const evening = p.byHour.slice(18, 23).reduce((a, b) => a + b, 0);
    // Lisbon is on UTC in November.
    expect(evening).toBe(truthCount((m) => !m.secret && m.at.getUTCHours() >= 18 && m.at.getUTCHours() < 23));
    const mood = Object.fromEntries(p.moodWithPerson.map((m) => [m.name, m.valence - m.baseline]));
    expect(mood.Nadia).toBeGreaterThan(0.2);
    expect(mood.Tom).toBeGreaterThan(0.2);
    expect(mood.Sam).toBeLessThan(-0.2);
    expect(p.activityWeekday).toContainEqual({ name: 'run', weekday: 2, share: 1 });
    expect(p.memories).toBe(truthCount((m) => !m.secret));
  });

  it('states true insights with their sources', () => {
    const insights = results.get(life.lastDay)!.insights;
    const texts = insights.map((i) => i.text);
    expect(texts).toContain(
      `You mention Nadia most on weekends (${truthCount((m) => m.people.includes('Nadia'))} of ${truthCount((m) => m.people.includes('Nadia'))} times this month).`,
    );
    expect(texts.some((t) => t.startsWith('Your mood is noticeably brighter in memories with Nadia'))).toBe(true);
    expect(texts.some((t) => t.startsWith('Memories with Sam lean heavier than usual'))).toBe(true);
    for (const i of insights) expect(i.sources.length).toBeGreaterThan(0);
  });

  it('counts the sealed memory it could not open', () => {
    expect(results.get(life.lastDay)!.sealed).toBe(1);
    // A SECRET entry seals its date too, so the vault cannot say which day it belongs to: every day counts it.
    expect(results.get('2026-11-29')!.sealed).toBe(1);
    expect(results.get(life.lastDay)!.memories).toHaveLength(
      truthCount((m) => !m.secret && m.at >= new Date('2026-11-30')),
    );
  });

  it('scores importance with the five weighted factors', () => {
    const day = results.get(life.lastDay)!;
    for (const i of day.importance) {
      const f = i.factors;
      const expected =
        0.3 * f.emotionalIntensity +
        0.2 * f.uniqueness +
        0.2 * f.socialSignificance +
        0.2 * f.futureRelevance +
        0.1 * f.personalSignificance;
      expect(i.score).toBeCloseTo(expected, 2);
    }
    const dentist = day.importance.find((i) => i.factors.futureRelevance === 1);
    expect(dentist).toBeDefined();
  });

  it('connects memories sharing a person, both ways with a reason, and leaves unrelated ones alone', async () => {
    const all = await mv.memory.list(principal, { levels: [1], limit: 500 });
    const byText = (pred: (t: string) => boolean) => all.entries.filter((e) => pred(e.content));
    const nadia = byText((t) => t.includes('Nadia') && t.includes('2026') === false && !t.includes('Sintra'));
    const withNadia = await mv.insights.connections(principal, nadia.at(-1)!.id);
    expect(withNadia.length).toBeGreaterThan(0);
    for (const c of withNadia) {
      expect(c.reason).toMatch(/both mention Nadia|same place/);
      const back = await mv.insights.connections(principal, c.to);
      expect(back.some((b) => b.to === c.from && b.reason === c.reason)).toBe(true);
    }
    const tap = byText((t) => t.startsWith('Fixed the leaking'));
    for (const e of tap) {
      const links = await mv.insights.connections(principal, e.id);
      expect(links.filter((l) => l.kind === 'people' || l.kind === 'location')).toEqual([]);
    }
    const sam = byText((t) => t.includes('Sam'))[0]!;
    const samLinks = await mv.insights.connections(principal, sam.id);
    const linked = new Set(samLinks.map((l) => l.to));
    for (const n of nadia) expect(linked.has(n.id)).toBe(false);
  });

  it('writes importance into each entry’s analysis and connections into Related Memories, both ways', async () => {
    const day = results.get(life.lastDay)!;
    for (const i of day.importance) {
      const entry = await mv.vault.get(userId, i.id, principal.opener);
      expect(importanceIn(entry.analysis)).toEqual({
        score: Number(i.score.toFixed(2)),
        factors: Object.fromEntries(Object.entries(i.factors).map(([k, v]) => [k, Number(v.toFixed(2))])),
      });
      // The classifier's reasoning is still there, before it.
      expect(entry.analysis.split('\n\nImportance ')[0]!.length).toBeGreaterThan(0);
    }
    const links = [...results.values()].flatMap((r) => r.connections);
    expect(links.length).toBeGreaterThan(10);
    for (const c of links.slice(0, 20)) {
      expect((await mv.vault.get(userId, c.from, principal.opener)).related).toContain(c.to);
      expect((await mv.vault.get(userId, c.to, principal.opener)).related).toContain(c.from);
    }
  });

  it('is idempotent: re-running a day replaces its results, and never rewrites the vault', async () => {
    const before = results.get('2026-11-28')!;
    const revision = await mv.vault.revision(userId);
    const again = await mv.insights.processDay(userId, '2026-11-28');
    expect({ ...again, processedAt: '' }).toEqual({ ...before, processedAt: '' });
    expect(await mv.vault.revision(userId)).toBe(revision);
    const view = await mv.insights.insights(principal, life.lastDay);
    expect(view.result?.patterns.find((p) => p.days === 30)?.memories).toBe(month().memories);
  });

  it('undoes the links a re-run no longer finds: Related Memories mirror the stored connections', async () => {
    const all = await mv.memory.list(principal, { levels: [1], limit: 500 });
    const tz = life.timezone;
    const inDay = (e: { date: string }) =>
      new Date(e.date) >= new Date(localTimeToUtc(tz, 2026, 11, 29)) &&
      new Date(e.date) < new Date(localTimeToUtc(tz, 2026, 11, 30));
    const target = all.entries.find((e) => e.content.includes('Nadia') && inDay(e))!;
    const related = async (id: string) => [...(await mv.vault.get(userId, id, principal.opener)).related].sort();
    const stored = async (id: string) => (await mv.insights.connections(principal, id)).map((c) => c.to).sort();
    const before = await related(target.id);
    expect(before.length).toBeGreaterThan(0);
    expect(before).toEqual(await stored(target.id));
    // The memory no longer mentions anyone or anything it shared: the re-run of its day drops those links.
    await mv.vault.update(userId, target.id, { content: 'Zzz.', tags: [] }, principal.opener);
    await mv.insights.processDay(userId, '2026-11-29');
    expect(await related(target.id)).toEqual(await stored(target.id));
    for (const id of before) {
      if ((await stored(target.id)).includes(id)) continue;
      expect(await related(id)).not.toContain(target.id);
      expect(await related(id)).toEqual(await stored(id));
    }
    // Put back and re-processed: the links return, the same in the vault as in the stored connections.
    await mv.vault.update(userId, target.id, { content: target.content, tags: target.tags }, principal.opener);
    await mv.insights.processDay(userId, '2026-11-29');
    expect(await related(target.id)).toEqual(await stored(target.id));
    expect((await related(target.id)).length).toBeGreaterThan(0);
  });

  it('keeps the results sealed at rest', async () => {
    const raw = await readFile(insightsPath(dataDir, userId), 'utf8');
    expect(raw.startsWith('memvault-insights 2 sealed\n')).toBe(true);
    // Whole phrases of the state: its sealed text is ~75 000 characters of random base64url, which holds a short
    // name such as "Nadia" by chance about once in 15 000 runs.
    expect(raw).not.toContain('both mention Nadia');
    expect(raw).not.toContain('"connections"');
  });
});

describe('the digest', () => {
  it('tells the day with people, mood, upcoming events and on this day', async () => {
    const d = await mv.insights.digest(principal, { date: life.lastDay });
    expect(d.upcoming.map((u) => u.excerpt)).toEqual(['Book club meets on Tuesday at 7 pm.']);
    expect(d.upcoming[0]!.when).toBe('Tuesday 1 December at 7:00\u00a0pm');
    expect(d.onThisDay).toEqual([expect.objectContaining({ yearsAgo: 1, excerpt: life.yearAgo.text })]);
    expect(d.sealed).toBe(1);
    expect(d.text).toContain('Coming up:');
    expect(d.text).toContain('A year ago: Hiked up to the castle in Sintra with Nadia');
    expect(d.text).toContain('Not included: 1 sealed memory this digest could not open.');
  });

  it('writes a weekly digest over seven local days', async () => {
    const d = await mv.insights.digest(principal, { date: life.lastDay, week: true });
    expect(d.from).toBe('2026-11-24');
    const week = life.messages.filter(
      (m) => !m.secret && m.at >= new Date(localTimeToUtc(life.timezone, 2026, 11, 24)),
    );
    expect(d.memories).toBe(week.length);
    expect(d.text.startsWith('Your week, Tuesday 24 November to Monday 30 November')).toBe(true);
  });

  it('never carries a SECRET memory’s text into a digest, an insight or a log line', async () => {
    const daily = await mv.insights.digest(principal, { date: life.lastDay, levels: [1, 2, 3, 4] });
    const weekly = await mv.insights.digest(principal, { date: life.lastDay, week: true });
    const insights = await mv.insights.insights(principal);
    const everything = JSON.stringify([daily, weekly, insights]) + withoutTimings(logLines);
    for (const digits of ['4921', '7781']) expect(holdsSecret(everything, digits)).toBe(false);
    expect(everything).not.toContain('bank PIN');
    for (const m of life.messages) expect(logLines.join('')).not.toContain(m.text);
    expect(logLines.some((l) => l.includes('insights: day processed'))).toBe(true);
  });
});

describe('time zones', () => {
  it('puts a memory written at 23:30 in Auckland on that local day', async () => {
    const phone = '+64211234567';
    const nz = phone as UserId;
    await mv.memory.signUp({ phone, timezone: 'Pacific/Auckland' });
    const p: Principal = { userId: nz, opener: await mv.operatorOpener(nz), meta: { channel: 'cli' } };
    const late = new Date(localTimeToUtc('Pacific/Auckland', 2026, 11, 29, 23, 30));
    expect(late.toISOString()).toBe('2026-11-29T10:30:00.000Z');
    await mv.memory.remember(p, 'Late tea with Hemi at Ponsonby, a lovely end to the day.', {
      channel: 'cli',
      at: late,
    });
    const day = await mv.insights.processDay(nz, '2026-11-29');
    expect(day.memories).toHaveLength(1);
    expect((await mv.insights.processDay(nz, '2026-11-30')).memories).toHaveLength(0);
    expect(day.patterns[0]!.byHour[23]).toBe(1);
    now = new Date('2026-11-29T12:00:00.000Z'); // 01:00 on the 30th in Auckland
    const digest = await mv.insights.digest(p, { date: '2026-11-29' });
    expect(digest.memories).toBe(1);
    expect(digest.people.map((x) => x.name)).toEqual(['Hemi']);
  });
});

describe('the insights file over the years', () => {
  it('keeps a little over a year of days, so each night’s load and save stays bounded', async () => {
    expect((await mv.insights.insights(principal, '2026-11-01')).result).not.toBeNull();
    const before = (await readFile(insightsPath(dataDir, userId))).length;
    await mv.insights.processDay(userId, '2027-12-31');
    expect((await mv.insights.insights(principal, '2026-11-01')).result).toBeNull();
    expect((await mv.insights.insights(principal, '2027-12-31')).result).not.toBeNull();
    expect((await readFile(insightsPath(dataDir, userId))).length).toBeLessThan(before);
  });
});
