import type { Command } from 'commander';
import { validationError } from '../../core/errors.js';
import { isLocalDay } from '../../core/local-day.js';
import type { DayResult } from '../../ports/insights.js';
import { writeJson, writeLine } from '../io.js';
import { common, unlockOptions } from '../options.js';
import { asUser } from '../principal.js';
import type { CliRuntime } from '../runtime.js';

interface DigestOptions {
  user: string;
  date?: string;
  week?: boolean;
  passwordStdin?: boolean;
  totp?: string;
  dataDir?: string;
  json?: boolean;
}

interface InsightsOptions {
  user: string;
  date?: string;
  process?: boolean;
  dataDir?: string;
  json?: boolean;
}

function checkDay(value: string | undefined): string | undefined {
  if (value !== undefined && !isLocalDay(value)) {
    throw validationError(`--date "${value.slice(0, 20)}" is not a day. Use YYYY-MM-DD, e.g. 2026-11-30.`, {
      field: 'date',
    });
  }
  return value;
}

export function registerInsights(program: Command, runtime: CliRuntime): void {
  unlockOptions(
    common(
      program
        .command('digest')
        .description("a person's day (or week) in a few lines: highlights, people, mood, what is coming, on this day")
        .requiredOption('--user <phone>', 'whose digest')
        .option('--date <YYYY-MM-DD>', 'the local day (default: today in their time zone)')
        .option('--week', 'the seven days ending with --date'),
    ),
  ).action(async (opts: DigestOptions) => {
    const date = checkDay(opts.date);
    await asUser(runtime, opts, async (app, principal) => {
      // Level 1 unless the command unlocked more: a digest covers what the caller chose to open.
      const levels = opts.passwordStdin ? ([1, 2, 3] as const) : ([1] as const);
      const digest = await app.insights.digest(principal, {
        ...(date ? { date } : {}),
        ...(opts.week ? { week: true } : {}),
        levels,
      });
      if (opts.json) writeJson(runtime.stdout, digest);
      else writeLine(runtime.stdout, digest.text);
    });
  });

  common(
    program
      .command('insights')
      .description('patterns, connections and insights the daily processing found (level 1)')
      .requiredOption('--user <phone>', 'whose insights')
      .option('--date <YYYY-MM-DD>', 'a processed local day (default: the latest)')
      .option('--process', 'process that day now (default: yesterday), replacing its earlier results'),
  ).action(async (opts: InsightsOptions) => {
    const date = checkDay(opts.date);
    await asUser(runtime, opts, async (app, principal) => {
      if (opts.process) await app.insights.processDay(principal.userId, date);
      const view = await app.insights.insights(principal, date);
      if (opts.json) {
        writeJson(runtime.stdout, view);
        return;
      }
      if (!view.result) {
        writeLine(
          runtime.stdout,
          view.day
            ? `${view.day} has not been processed yet. Run with --process to process it now.`
            : 'No day has been processed yet. Run with --process, or let `memvault serve` process each night.',
        );
        return;
      }
      for (const line of describeDay(view.result)) writeLine(runtime.stdout, line);
    });
  });
}

interface SettingsOptions {
  user: string;
  level?: string;
  passwordStdin?: boolean;
  totp?: string;
  dataDir?: string;
  json?: boolean;
}

const LEVEL_WORDS = ['nothing', 'everyday memories (level 1)', 'everyday and confidential memories (levels 1–2)'];

/** `memvault settings llm`: what an LLM may read when it writes a person's digests. */
export function registerSettings(program: Command, runtime: CliRuntime): void {
  const settings = program.command('settings').description("a person's settings");
  unlockOptions(
    common(
      settings
        .command('llm')
        .description(
          'what an LLM may read when it writes digests: 0 nothing, 1 everyday memories (default), 2 also ' +
            'confidential ones (needs --password-stdin). Detected secrets are masked at every level.',
        )
        .requiredOption('--user <phone>', 'whose setting')
        .option('--level <0|1|2>', 'set it (without: show it)'),
    ),
  ).action(async (opts: SettingsOptions) => {
    let level: number | undefined;
    if (opts.level !== undefined) {
      if (!/^[012]$/.test(opts.level.trim())) {
        throw validationError(`--level "${opts.level.slice(0, 10)}" is not 0, 1 or 2.`, { field: 'level' });
      }
      level = Number(opts.level.trim());
    }
    await asUser(runtime, opts, async (app, principal) => {
      const s =
        level === undefined ? await app.insights.settings(principal) : await app.insights.setLlmLevel(principal, level);
      if (opts.json) {
        writeJson(runtime.stdout, { level: s.llmLevel, updatedAt: s.updatedAt });
        return;
      }
      const llm = app.insights.llmConfigured ? '' : ' (no LLM is configured: digests are written by the template)';
      writeLine(runtime.stdout, `An LLM may read ${LEVEL_WORDS[s.llmLevel]} when it writes digests${llm}.`);
    });
  });
}

function describeDay(day: DayResult): string[] {
  const n = day.memories.length;
  const lines = [`Insights as of ${day.day} (${n} ${n === 1 ? 'memory' : 'memories'} that day).`];
  const month = day.patterns.find((p) => p.days === 30);
  if (month && month.memories > 0) {
    const top = (xs: ReadonlyArray<{ name: string; count: number }>) =>
      xs
        .slice(0, 5)
        .map((x) => `${x.name} (${x.count})`)
        .join(', ');
    lines.push(`Last 30 days: ${month.memories} memories.`);
    if (month.people.length) lines.push(`  People: ${top(month.people)}`);
    if (month.places.length) lines.push(`  Places: ${top(month.places)}`);
    if (month.activities.length) lines.push(`  Activities: ${top(month.activities)}`);
    if (month.moods.length) lines.push(`  Moods: ${top(month.moods)}`);
  }
  if (day.insights.length > 0) {
    lines.push('', 'Noticed:');
    for (const i of day.insights) lines.push(`  • ${i.text}`);
  }
  if (day.connections.length > 0) lines.push('', `${day.connections.length} new connections between memories.`);
  if (day.sealed > 0) lines.push(`${day.sealed} sealed ${day.sealed === 1 ? 'memory was' : 'memories were'} not read.`);
  return lines;
}
