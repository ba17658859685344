import type { Command } from 'commander';
import { parseCategory } from '../../core/category.js';
import { hitJson, hitLines } from '../format.js';
import { writeJson, writeLine } from '../io.js';
import { collect, common, parseCount, parseDate, parseLevel, unlockOptions } from '../options.js';
import { asUser } from '../principal.js';
import type { CliRuntime } from '../runtime.js';

interface SearchOptions {
  user: string;
  limit: string;
  from?: string;
  to?: string;
  byEventDate?: boolean;
  tag?: string[];
  category?: string[];
  level?: string[];
  passwordStdin?: boolean;
  totp?: string;
  dataDir?: string;
  json?: boolean;
}

export function registerSearch(program: Command, runtime: CliRuntime): void {
  unlockOptions(
    common(
      program
        .command('search')
        .description('find memories: full-text, fuzzy and semantic, inside what you have unlocked')
        .requiredOption('--user <phone>', 'whose memories')
        .option('--limit <k>', 'at most this many results', '50')
        .option('--from <date>', 'from this date (inclusive)')
        .option('--to <date>', 'up to this date (exclusive)')
        .option('--by-event-date', 'apply --from/--to to when things happened')
        .option('--tag <tag>', 'only memories with this tag (repeatable)', collect)
        .option('--category <category>', 'only this category (repeatable)', collect)
        .option('--level <n>', 'only this level (repeatable)', collect)
        .argument('<query...>', 'what to look for, e.g. "where does nadia live now"'),
    ),
  ).action(async (words: string[], opts: SearchOptions) => {
    const query = {
      text: words.join(' '),
      limit: parseCount(opts.limit, '--limit', 1_000),
      ...(opts.from ? { from: parseDate(opts.from, '--from') } : {}),
      ...(opts.to ? { to: parseDate(opts.to, '--to') } : {}),
      ...(opts.byEventDate ? { dateField: 'eventDate' as const } : {}),
      ...(opts.tag ? { tags: opts.tag } : {}),
      ...(opts.category ? { categories: opts.category.map(parseCategory) } : {}),
      ...(opts.level ? { levels: opts.level.map(parseLevel) } : {}),
    };
    await asUser(runtime, opts, async (app, principal) => {
      const hits = await app.memory.search(principal, query);
      if (opts.json) writeJson(runtime.stdout, { results: hits.map(hitJson) });
      else if (hits.length === 0) writeLine(runtime.stdout, 'Nothing found.');
      else for (const line of hitLines(hits)) writeLine(runtime.stdout, line);
    });
  });

  unlockOptions(
    common(
      program
        .command('reindex')
        .description('rebuild the search index from the vault')
        .requiredOption('--user <phone>', 'whose index'),
    ),
  ).action(async (opts: { user: string; passwordStdin?: boolean; totp?: string; dataDir?: string; json?: boolean }) => {
    await asUser(runtime, opts, async (app, principal) => {
      const result = await app.memory.reindex(principal);
      if (opts.json) writeJson(runtime.stdout, result);
      else writeLine(runtime.stdout, `Indexed ${result.entries} memories in ${result.ms.toFixed(0)} ms.`);
    });
  });
}
