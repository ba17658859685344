import type { Command } from 'commander';
import { normalizeUser } from '../user-id.js';
import type { Classification } from '../../ports/classifier.js';
import { lines, writeJson, writeLine } from '../io.js';
import { common } from '../options.js';
import type { CliRuntime } from '../runtime.js';

function classificationJson(c: Classification): Record<string, unknown> {
  return {
    category: c.category,
    level: c.level,
    confidence: Number(c.confidence.toFixed(4)),
    reasoning: c.reasoning,
    tags: c.tags,
    emotionalContext: c.emotionalContext,
    eventDate: c.eventDate ?? null,
    source: c.source,
    ...(c.fallbackReason ? { fallbackReason: c.fallbackReason } : {}),
    needsReview: c.needsReview,
  };
}

export function registerClassify(program: Command, runtime: CliRuntime): void {
  common(
    program
      .command('classify')
      .description('classify messages without storing them; with no TEXT, one message per line on standard input')
      .option('--user <phone>', "use this person's corrections and time zone")
      .option('--timezone <tz>', 'resolve event dates in this IANA zone (default: the user’s, else UTC)')
      .argument('[text...]', 'the message'),
  ).action(async (words: string[], opts: { user?: string; timezone?: string; dataDir?: string; json?: boolean }) => {
    const userId = opts.user ? await normalizeUser(opts.user) : undefined;
    const classifier = await runtime.classifier({ ...opts, ...(userId ? { userId } : {}) });
    const ctx = () => ({
      now: new Date(),
      ...(opts.timezone ? { timezone: opts.timezone } : {}),
      ...(userId ? { userId } : {}),
    });
    const emit = (c: Classification) => {
      if (opts.json) writeJson(runtime.stdout, classificationJson(c));
      else {
        const when = c.eventDate ? ` · happened ${c.eventDate}` : '';
        const review = c.needsReview ? ' · needs review' : '';
        writeLine(
          runtime.stdout,
          `${c.category} (level ${c.level}, ${c.confidence.toFixed(2)})${when}${review} — ${c.reasoning}`,
        );
      }
    };
    try {
      if (words.length > 0) {
        emit(await classifier.classify(words.join(' '), ctx()));
        return;
      }
      // One result per input line, in order; an empty line still gets a line of output so positions match.
      for await (const line of lines(runtime.stdin)) {
        if (line.trim().length === 0) {
          if (opts.json) writeJson(runtime.stdout, { error: { code: 'VALIDATION_ERROR', message: 'empty line' } });
          else writeLine(runtime.stdout, '(empty line)');
          continue;
        }
        emit(await classifier.classify(line, ctx()));
      }
    } finally {
      await classifier.close();
    }
  });
}
