import { z } from 'zod';
import type { SecurityLevel } from '../core/category.js';
import type {
  Digest,
  DigestAuthor,
  DigestFacts,
  DigestFallbackReason,
  DigestWriter,
  LlmLevel,
  MemoryFeatures,
} from '../ports/insights.js';
import { DIGEST_FALLBACK_REASONS } from '../ports/insights.js';
import { windowPatterns } from './insights-analysis.js';

const Excerpt = z.string().min(1).max(300);

/**
 * The facts an LLM may receive, checked before anything leaves: bounded strings, and no item above the level
 * the person allowed. A fact that fails it is a bug here, and the template writes the digest instead.
 */
export function digestFactsSchema(maxLevel: LlmLevel) {
  const Level = z.number().int().min(1).max(Math.max(1, maxLevel), `above the level the LLM may read (${maxLevel})`);
  return z.strictObject({
    kind: z.enum(['daily', 'weekly']),
    from: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
    to: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
    timezone: z.string().min(1).max(64),
    memories: z.number().int().min(0),
    highlights: z.array(z.strictObject({ excerpt: Excerpt, level: Level })).max(5),
    people: z.array(z.string().min(1).max(80)).max(10),
    places: z.array(z.string().min(1).max(80)).max(10),
    mood: z.strictObject({ dominant: z.string().max(40), tone: z.enum(['good', 'mixed', 'hard']) }),
    upcoming: z.array(z.strictObject({ when: z.string().max(80), excerpt: Excerpt, level: Level })).max(10),
    onThisDay: z
      .array(z.strictObject({ yearsAgo: z.number().int().min(1).max(5), excerpt: Excerpt, level: Level }))
      .max(5),
    insights: z.array(z.string().min(1).max(300)).max(6),
    notShown: z.number().int().min(0),
  });
}

export interface FactsInput {
  readonly digest: Omit<Digest, 'text' | 'author'>;
  /** The period's memories the digest read, with their levels and features. */
  readonly memories: ReadonlyArray<{
    readonly id: string;
    readonly level: SecurityLevel;
    readonly features: MemoryFeatures;
  }>;
  /** Level of every item shown (highlights, upcoming, on this day), by memory id. */
  readonly levelOf: (id: string) => SecurityLevel;
  readonly allowed: LlmLevel;
  readonly mask: (text: string) => string;
}

/**
 * What the LLM is given: the digest's facts restricted to memories at levels ≤ `allowed`, people, places and
 * mood recomputed from those alone (a name from a level-2 memory must not reach a level-1 LLM), every string
 * masked for detected secrets. Null when nothing of the period is at an allowed level.
 */
export function digestFacts(input: FactsInput): DigestFacts | null {
  const { digest: d, allowed, mask } = input;
  const ok = (id: string) => input.levelOf(id) <= allowed;
  const memories = input.memories.filter((m) => m.level <= allowed);
  const highlights = d.highlights.filter((h) => ok(h.id));
  const upcoming = d.upcoming.filter((u) => ok(u.id));
  const onThisDay = d.onThisDay.filter((o) => ok(o.id));
  if (memories.length === 0 && upcoming.length === 0 && onThisDay.length === 0) return null;
  const features = memories.map((m) => m.features);
  const patterns = windowPatterns(features, 7);
  const valence = features.length ? features.reduce((s, f) => s + f.valence, 0) / features.length : 0;
  const cut = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);
  return {
    kind: d.kind,
    from: d.from,
    to: d.to,
    timezone: d.timezone,
    memories: memories.length,
    highlights: highlights.map((h) => ({ excerpt: cut(mask(h.excerpt), 300), level: input.levelOf(h.id) })),
    people: patterns.people.slice(0, 10).map((p) => cut(mask(p.name), 80)),
    places: patterns.places.slice(0, 10).map((p) => cut(mask(p.name), 80)),
    mood: {
      dominant: patterns.moods.find((m) => m.name !== 'neutral')?.name ?? 'neutral',
      tone: valence >= 0.3 ? 'good' : valence <= -0.3 ? 'hard' : 'mixed',
    },
    upcoming: upcoming.map((u) => ({ when: u.when, excerpt: cut(mask(u.excerpt), 300), level: input.levelOf(u.id) })),
    onThisDay: onThisDay.map((o) => ({
      yearsAgo: o.yearsAgo,
      excerpt: cut(mask(o.excerpt), 300),
      level: input.levelOf(o.id),
    })),
    // The stored insights are derived from level-1 memories only.
    insights: allowed >= 1 ? d.insights.map((i) => cut(mask(i.text), 300)) : [],
    notShown: d.sealed + (input.memories.length - memories.length),
  };
}

export interface WriteWithLlm {
  readonly writer: DigestWriter;
  readonly facts: DigestFacts | null;
  readonly allowed: LlmLevel;
  readonly budgetMs: number;
}

/**
 * Asks the LLM for the digest's text within `budgetMs`; on any failure returns the reason instead, and the
 * caller keeps the template's text. Never throws.
 */
export async function writeWithLlm(
  o: WriteWithLlm,
): Promise<{ readonly text: string; readonly author: DigestAuthor } | { readonly author: DigestAuthor }> {
  const template = (fallbackReason: DigestFallbackReason) => ({ author: { by: 'template' as const, fallbackReason } });
  if (o.allowed === 0) return template('not_allowed');
  if (o.facts === null) return template('nothing_allowed');
  const checked = digestFactsSchema(o.allowed).safeParse(o.facts);
  if (!checked.success) return template('invalid_facts');
  const budget = new AbortController();
  const timer = setTimeout(() => budget.abort(new Error('digest time budget')), o.budgetMs);
  try {
    const text = await Promise.race([
      o.writer.write(checked.data, budget.signal),
      new Promise<never>((_, reject) => {
        // A writer that ignores the signal still cannot hold the digest past its budget.
        budget.signal.addEventListener(
          'abort',
          () => reject(Object.assign(new Error('timeout'), { kind: 'timeout' })),
          {
            once: true,
          },
        );
      }),
    ]);
    return { text, author: { by: 'llm' } };
  } catch (error) {
    const reason = (error as { kind?: unknown } | null)?.kind;
    return template(
      typeof reason === 'string' && (DIGEST_FALLBACK_REASONS as readonly string[]).includes(reason)
        ? (reason as DigestFallbackReason)
        : budget.signal.aborted
          ? 'timeout'
          : 'network',
    );
  } finally {
    clearTimeout(timer);
  }
}
