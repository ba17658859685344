import type { Command } from 'commander';
import { type Category, type SecurityLevel, parseCategory } from '../../core/category.js';
import { validationError } from '../../core/errors.js';
import { entryDetail, entryJson, entryLine } from '../format.js';
import { readAll, writeJson, writeLine } from '../io.js';
import { collect, common, parseCount, parseDate, parseLevel, unlockOptions } from '../options.js';
import { asUser } from '../principal.js';
import type { CliRuntime } from '../runtime.js';

interface Base {
  user: string;
  dataDir?: string;
  json?: boolean;
  passwordStdin?: boolean;
  totp?: string;
}

export function registerMemories(program: Command, runtime: CliRuntime): void {
  common(
    program
      .command('add')
      .description('remember something: classify it, seal it at its level and append it to the right file')
      .requiredOption('--user <phone>', 'whose memory')
      .option('--at <iso>', 'when the message was sent (default now)')
      .option('--external-id <id>', 'the id of this message in its source system')
      .option('--category <category>', 'store in this category instead of the classifier’s choice')
      .argument('[text...]', 'the message; "-" or nothing reads it from standard input'),
  ).action(async (words: string[], opts: Base & { at?: string; externalId?: string; category?: string }) => {
    const category = opts.category ? parseCategory(opts.category) : undefined;
    const at = opts.at ? new Date(parseDate(opts.at, '--at')) : undefined;
    const text =
      words.length === 0 || (words.length === 1 && words[0] === '-') ? await readAll(runtime.stdin) : words.join(' ');
    await asUser(runtime, opts, async (app, principal) => {
      const result = await app.memory.remember(principal, text.replace(/\r?\n$/, ''), {
        channel: 'cli',
        ...(at ? { at } : {}),
        ...(opts.externalId ? { externalId: opts.externalId } : {}),
        ...(category ? { category } : {}),
      });
      if (opts.json) {
        writeJson(runtime.stdout, {
          entry: entryJson(result.entry),
          needsReview: result.classification.needsReview,
          source: result.classification.source,
          ...(result.classification.fallbackReason ? { fallbackReason: result.classification.fallbackReason } : {}),
          reply: result.reply,
        });
      } else {
        writeLine(runtime.stdout, `${result.reply} (id ${result.entry.id})`);
        const reason = result.classification.fallbackReason;
        if (reason) {
          writeLine(
            runtime.stderr,
            `memvault: the configured LLM failed (${reason}); the local classifier chose the category.`,
          );
        }
      }
    });
  });

  unlockOptions(
    common(
      program
        .command('list')
        .description('list memories, newest first; sealed levels appear only when unlocked')
        .requiredOption('--user <phone>', 'whose memories')
        .option('--category <category>', 'only this category (repeatable)', collect)
        .option('--level <n>', 'only this level (repeatable)', collect)
        .option('--tag <tag>', 'only memories with this tag (repeatable; all must match)', collect)
        .option('--from <date>', 'from this date (inclusive)')
        .option('--to <date>', 'up to this date (exclusive)')
        .option('--by-event-date', 'apply --from/--to to when things happened, not when they were sent')
        .option('--limit <n>', 'at most this many (default 50)', '50')
        .option('--offset <n>', 'skip this many', '0')
        .option('--oldest-first', 'oldest first'),
    ),
  ).action(
    async (
      opts: Base & {
        category?: string[];
        level?: string[];
        tag?: string[];
        from?: string;
        to?: string;
        byEventDate?: boolean;
        limit: string;
        offset: string;
        oldestFirst?: boolean;
      },
    ) => {
      const categories: Category[] | undefined = opts.category?.map(parseCategory);
      const levels: SecurityLevel[] | undefined = opts.level?.map(parseLevel);
      const filter = {
        ...(categories ? { categories } : {}),
        ...(levels ? { levels } : {}),
        ...(opts.tag ? { tags: opts.tag } : {}),
        ...(opts.from ? { from: parseDate(opts.from, '--from') } : {}),
        ...(opts.to ? { to: parseDate(opts.to, '--to') } : {}),
        dateField: opts.byEventDate ? ('eventDate' as const) : ('date' as const),
        limit: parseCount(opts.limit, '--limit'),
        offset: parseCount(opts.offset, '--offset', 10_000_000),
        order: opts.oldestFirst ? ('asc' as const) : ('desc' as const),
      };
      await asUser(runtime, opts, async (app, principal) => {
        const result = await app.memory.list(principal, filter);
        if (opts.json) {
          writeJson(runtime.stdout, {
            entries: result.entries.map(entryJson),
            total: result.total,
            locked: result.locked,
            damaged: result.damaged,
            ...(result.recovered ? { recovered: result.recovered } : {}),
          });
          return;
        }
        for (const entry of result.entries) writeLine(runtime.stdout, entryLine(entry));
        if (result.entries.length === 0) writeLine(runtime.stdout, 'No memories match.');
        if (result.locked > 0) {
          writeLine(
            runtime.stdout,
            `${result.locked} sealed memories not shown: unlock with --password-stdin [--totp CODE].`,
          );
        }
        for (const d of result.damaged) {
          writeLine(runtime.stderr, `Damaged entry ${d.id ?? '(unknown id)'} in ${d.category}: ${d.reason}`);
        }
        if (result.recovered && result.recovered.length > 0) {
          writeLine(
            runtime.stderr,
            `Recovered ${result.recovered.length} damaged memories from backups: ${result.recovered.join(', ')}.`,
          );
        }
      });
    },
  );

  unlockOptions(
    common(
      program
        .command('show')
        .description('show one memory in full')
        .requiredOption('--user <phone>', 'whose memory')
        .argument('<id>', 'the memory id'),
    ),
  ).action(async (id: string, opts: Base) => {
    await asUser(runtime, opts, async (app, principal) => {
      const entry = await app.memory.get(principal, id);
      if (opts.json) writeJson(runtime.stdout, { entry: entryJson(entry) });
      else writeLine(runtime.stdout, entryDetail(entry));
    });
  });

  unlockOptions(
    common(
      program
        .command('correct')
        .description('move a memory to the right category; the classifier learns from it')
        .requiredOption('--user <phone>', 'whose memory')
        .argument('<id>', 'the memory id')
        .argument('<category>', 'the right category'),
    ),
  ).action(async (id: string, categoryName: string, opts: Base) => {
    const category = parseCategory(categoryName);
    await asUser(runtime, opts, async (app, principal) => {
      const entry = await app.memory.correct(principal, id, category);
      if (opts.json) writeJson(runtime.stdout, { entry: entryJson(entry) });
      else writeLine(runtime.stdout, `Moved ${entry.id} to ${entry.category} (level ${entry.level}).`);
    });
  });

  unlockOptions(
    common(
      program
        .command('edit')
        .description(
          'replace a memory’s text: classified again (it may move level); the earlier text is kept as a version',
        )
        .requiredOption('--user <phone>', 'whose memory')
        .argument('<id>', 'the memory id')
        .argument('[text...]', 'the new text; "-" or nothing reads it from standard input'),
    ),
  ).action(async (id: string, words: string[], opts: Base) => {
    const text =
      words.length === 0 || (words.length === 1 && words[0] === '-') ? await readAll(runtime.stdin) : words.join(' ');
    await asUser(runtime, opts, async (app, principal) => {
      const entry = await app.memory.edit(principal, id, text.replace(/\r?\n$/, ''));
      if (opts.json) writeJson(runtime.stdout, { entry: entryJson(entry) });
      else writeLine(runtime.stdout, `Edited ${entry.id}: now ${entry.category} (level ${entry.level}).`);
    });
  });

  unlockOptions(
    common(
      program
        .command('versions')
        .description(
          'earlier versions of a memory’s text, newest first (each readable only with its own level unlocked)',
        )
        .requiredOption('--user <phone>', 'whose memory')
        .argument('<id>', 'the memory id'),
    ),
  ).action(async (id: string, opts: Base) => {
    await asUser(runtime, opts, async (app, principal) => {
      const versions = await app.memory.versions(principal, id);
      if (opts.json) {
        writeJson(runtime.stdout, {
          versions: versions.map((v) => ({
            revision: v.revision,
            category: v.category,
            level: v.level,
            savedAt: v.savedAt,
            replacedAt: v.replacedAt,
            entry: v.entry ? entryJson(v.entry) : null,
          })),
        });
        return;
      }
      if (versions.length === 0) writeLine(runtime.stdout, 'No earlier versions: the text was never edited.');
      for (const v of versions) {
        const text = v.entry ? v.entry.content : `(sealed at level ${v.level}: unlock it to read)`;
        writeLine(runtime.stdout, `#${v.revision} ${v.category}, replaced ${v.replacedAt}: ${text}`);
      }
    });
  });

  unlockOptions(
    common(
      program
        .command('delete')
        .description(
          'move a memory to the trash (restorable for 30 days); --permanent erases it now, with every link to it',
        )
        .requiredOption('--user <phone>', 'whose memory')
        .option('--permanent', 'erase it now, with its versions, instead of moving it to the trash')
        .argument('<id>', 'the memory id'),
    ),
  ).action(async (id: string, opts: Base & { permanent?: boolean }) => {
    await asUser(runtime, opts, async (app, principal) => {
      const outcome = await app.memory.delete(principal, id, { permanent: opts.permanent === true });
      const wanted = id.toUpperCase();
      if (opts.json) writeJson(runtime.stdout, { deleted: wanted, trashed: outcome === 'trashed' });
      else if (outcome === 'trashed') {
        writeLine(
          runtime.stdout,
          `Moved ${wanted} to the trash (memvault trash --restore ID brings it back for 30 days).`,
        );
      } else writeLine(runtime.stdout, `Deleted ${wanted}.`);
    });
  });

  unlockOptions(
    common(
      program
        .command('trash')
        .description(
          'list the trash (deleted memories, kept 30 days); --restore ID brings one back, --empty erases all',
        )
        .requiredOption('--user <phone>', 'whose trash')
        .option('--restore <id>', 'bring this memory back from the trash')
        .option('--empty', 'erase every memory in the trash whose level is unlocked, now'),
    ),
  ).action(async (opts: Base & { empty?: boolean; restore?: string }) => {
    if (opts.empty && opts.restore) throw validationError('Give either --restore ID or --empty, not both.');
    await asUser(runtime, opts, async (app, principal) => {
      if (opts.restore) {
        const entry = await app.memory.restore(principal, opts.restore);
        if (opts.json) writeJson(runtime.stdout, { entry: entryJson(entry) });
        else writeLine(runtime.stdout, `Restored ${entry.id}.`);
        return;
      }
      if (opts.empty) {
        const erased = await app.memory.emptyTrash(principal);
        if (opts.json) writeJson(runtime.stdout, { erased });
        else writeLine(runtime.stdout, `Erased ${erased} ${erased === 1 ? 'memory' : 'memories'} from the trash.`);
        return;
      }
      const items = await app.memory.trash(principal);
      if (opts.json) {
        writeJson(runtime.stdout, {
          trash: items.map((t) => ({
            id: t.id,
            category: t.category,
            level: t.level,
            trashedAt: t.trashedAt,
            erasedAfter: t.erasedAfter,
            entry: t.entry ? entryJson(t.entry) : null,
          })),
        });
        return;
      }
      if (items.length === 0) writeLine(runtime.stdout, 'The trash is empty.');
      for (const t of items) {
        const text = t.entry ? t.entry.content : `(sealed at level ${t.level})`;
        writeLine(runtime.stdout, `${t.id} ${t.category}, erased after ${t.erasedAfter.slice(0, 10)}: ${text}`);
      }
    });
  });
}
