import { randomBytes } from 'node:crypto';
import { CATEGORIES, type Category, isCategory } from '../core/category.js';
import type { UserId } from '../core/entry.js';
import { MemvaultError, corruption, storageError, validationError } from '../core/errors.js';
import { isUserId } from '../core/e164.js';
import type { Correction } from '../ports/classifier.js';
import type { DocumentStore } from '../ports/documents.js';
import { dot, featurize, type SparseVector } from './features.js';

const FORMAT = 'memvault-personal-v1';
const BITS = 18;
/** Oldest corrections are dropped past this many; recent ones say most about the person. */
const MAX_EXAMPLES = 1000;
/** Similarity below which a past correction says nothing about a new message. */
const MIN_SIMILARITY = 0.3;
/** Beta prior for historical accuracy: 9 right in 10 until the person's own corrections say otherwise. */
const PRIOR_RIGHT = 9;
const PRIOR_WRONG = 1;

interface StoredExample {
  /** Hashed, salted feature buckets and their weights: no readable words. */
  readonly f: number[];
  readonly v: number[];
  readonly to: Category;
  readonly from: Category;
  readonly at: string;
}

interface ModelFile {
  readonly format: typeof FORMAT;
  readonly salt: number;
  examples: StoredExample[];
  predicted: Record<Category, number>;
  corrected: Record<Category, number>;
}

/** What the personal model says about a message. */
export interface PersonalPrediction {
  /** Probability per category from similar corrected messages. */
  readonly distribution: Readonly<Record<Category, number>>;
  /** Similarity of the closest corrected message (0–1); how much the caller should trust this. */
  readonly similarity: number;
  /** The category the closest corrections point to. */
  readonly category: Category;
}

const zeroCounts = (): Record<Category, number> =>
  Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>;

/**
 * Per-user models learned from corrections ("that was not secret"). Each user's model is one file in their
 * folder, `users/<E164>/MODEL.<E164>.json` (a row of `mv_documents` in PostgreSQL mode, through the document store),
 * holding salted hashed features only, written whole (atomically) under the document's exclusive hold, checked
 * against its stored version on every load (so a correction learnt on another server counts), and serialised per
 * user. A classifier asks `predict` for a message
 * and blends the answer with its own model; `historicalAccuracy` feeds the confidence score.
 */
export class PersonalModelStore {
  private readonly documents: DocumentStore;
  /** Each loaded model with the stored version it was read at (undefined: none stored yet). */
  private readonly cache = new Map<UserId, { model: ModelFile; version: string | undefined }>();
  private readonly queues = new Map<UserId, Promise<unknown>>();
  private readonly pendingPredictions = new Map<UserId, Record<Category, number>>();

  /** `documents`: where models live — the data dir's files (`FileDocuments`) or PostgreSQL's `mv_documents`. */
  constructor(options: { readonly documents: DocumentStore }) {
    this.documents = options.documents;
  }

  /** Name of a user's model document (a file in their folder in file mode). */
  nameOf(userId: UserId): string {
    if (!isUserId(userId)) throw validationError('Not a valid user id.', { field: 'userId' });
    return `MODEL.${userId}.json`;
  }

  /**
   * Loads the user's model into memory, or brings it up to date when another process or server saved a newer
   * one (one version check); later `predictSync` calls use it.
   */
  async load(userId: UserId): Promise<void> {
    const name = this.nameOf(userId);
    const cached = this.cache.get(userId);
    const version = await this.documents.version(userId, name);
    if (cached && cached.version === version) return;
    const stored = version === undefined ? undefined : await this.documents.read(userId, name);
    const model: ModelFile = stored
      ? parseModel(stored.text, userId)
      : (cached?.model ?? {
          format: FORMAT,
          salt: randomBytes(4).readUInt32LE(0),
          examples: [],
          predicted: zeroCounts(),
          corrected: zeroCounts(),
        });
    // A `forget` or a newer load while this one waited wins.
    if (this.cache.get(userId) === cached) this.cache.set(userId, { model, version: stored?.version });
  }

  /** Learns one correction: similar messages of this user now follow `to`. */
  learn(correction: Correction): Promise<void> {
    const { userId } = correction;
    if (!isCategory(correction.from) || !isCategory(correction.to)) {
      return Promise.reject(validationError('A correction needs a known "from" and "to" category.', { field: 'to' }));
    }
    return this.serialise(userId, () =>
      this.documents.exclusive(userId, this.nameOf(userId), async () => {
        await this.load(userId);
        const model = this.cache.get(userId)!.model;
        const x = this.features(model, correction.text);
        model.examples.push({
          f: [...x.indices],
          v: [...x.values].map(round4),
          to: correction.to,
          from: correction.from,
          at: correction.at,
        });
        if (model.examples.length > MAX_EXAMPLES) model.examples.splice(0, model.examples.length - MAX_EXAMPLES);
        model.corrected[correction.from] += 1;
        this.mergePending(userId, model);
        await this.write(userId, model);
      }),
    );
  }

  /** Counts a prediction (for historical accuracy); persisted with the next correction or `flush`. */
  recordPrediction(userId: UserId, category: Category): void {
    let counts = this.pendingPredictions.get(userId);
    if (!counts) {
      counts = zeroCounts();
      this.pendingPredictions.set(userId, counts);
    }
    counts[category] += 1;
  }

  /** Drops what is held of a person (their account was deleted): nothing of theirs is written after this. */
  forget(userId: UserId): void {
    this.cache.delete(userId);
    this.pendingPredictions.delete(userId);
  }

  /** Writes pending prediction counts of every loaded user. */
  async flush(): Promise<void> {
    const users = [...this.pendingPredictions.keys()];
    await Promise.all(
      users.map((userId) =>
        this.serialise(userId, () =>
          this.documents.exclusive(userId, this.nameOf(userId), async () => {
            await this.load(userId);
            const model = this.cache.get(userId)!.model;
            this.mergePending(userId, model);
            await this.write(userId, model);
          }),
        ),
      ),
    );
  }

  /**
   * Share of this user's `category` predictions that were not corrected away, smoothed by a prior of 0.9
   * so a handful of events cannot swing it to 0 or 1.
   */
  historicalAccuracy(userId: UserId, category: Category): number {
    const model = this.cache.get(userId)?.model;
    const predicted = (model?.predicted[category] ?? 0) + (this.pendingPredictions.get(userId)?.[category] ?? 0);
    const corrected = model?.corrected[category] ?? 0;
    const right = Math.max(0, predicted - corrected);
    return (PRIOR_RIGHT + right) / (PRIOR_RIGHT + PRIOR_WRONG + Math.max(predicted, corrected));
  }

  /** The personal model's view of `text` (loads the user's file first). */
  async predict(userId: UserId, text: string): Promise<PersonalPrediction | undefined> {
    await this.load(userId);
    return this.predictSync(userId, text);
  }

  /** Like `predict`, from memory only: undefined when the user's model is not loaded or says nothing. */
  predictSync(userId: UserId, text: string): PersonalPrediction | undefined {
    const model = this.cache.get(userId)?.model;
    if (!model || model.examples.length === 0) return undefined;
    const x = this.features(model, text);
    const votes = zeroCounts();
    let best = 0;
    let total = 0;
    for (const ex of model.examples) {
      const sim = dot(x, { indices: Uint32Array.from(ex.f), values: Float32Array.from(ex.v) });
      if (sim < MIN_SIMILARITY) continue;
      // Squared similarity: the nearest corrections dominate.
      votes[ex.to] += sim * sim;
      total += sim * sim;
      best = Math.max(best, sim);
    }
    if (total === 0) return undefined;
    const distribution = zeroCounts();
    let category: Category = 'GENERAL';
    for (const c of CATEGORIES) {
      distribution[c] = votes[c] / total;
      if (distribution[c] > distribution[category]) category = c;
    }
    return { distribution, similarity: Math.min(1, best), category };
  }

  private features(model: ModelFile, text: string): SparseVector {
    return featurize(text, { bits: BITS, seed: model.salt, charGrams: false });
  }

  private mergePending(userId: UserId, model: ModelFile): void {
    const pending = this.pendingPredictions.get(userId);
    if (!pending) return;
    for (const c of CATEGORIES) model.predicted[c] += pending[c];
    this.pendingPredictions.delete(userId);
  }

  private serialise<T>(userId: UserId, task: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(userId) ?? Promise.resolve();
    const next = previous.then(task, task);
    const settled = next.catch(() => undefined);
    this.queues.set(userId, settled);
    void settled.then(() => {
      if (this.queues.get(userId) === settled) this.queues.delete(userId);
    });
    return next;
  }

  private async write(userId: UserId, model: ModelFile): Promise<void> {
    const name = this.nameOf(userId);
    try {
      await this.documents.write(userId, name, JSON.stringify(model));
      const version = await this.documents.version(userId, name);
      if (this.cache.get(userId)?.model === model) this.cache.set(userId, { model, version });
    } catch (cause) {
      if (cause instanceof MemvaultError) throw cause;
      throw storageError('Could not save the personal classifier model.', cause, { userId });
    }
  }
}

const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

function parseModel(raw: string, userId: UserId): ModelFile {
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch (cause) {
    throw corruption('The personal classifier model is not valid JSON.', { userId }, cause);
  }
  const m = data as Partial<ModelFile>;
  if (m.format !== FORMAT || typeof m.salt !== 'number' || !Array.isArray(m.examples)) {
    throw corruption('The personal classifier model has an unknown format.', { userId });
  }
  const counts = (x: unknown) => {
    const out = zeroCounts();
    if (x && typeof x === 'object') {
      for (const c of CATEGORIES) {
        const v = (x as Record<string, unknown>)[c];
        if (typeof v === 'number' && Number.isFinite(v) && v >= 0) out[c] = v;
      }
    }
    return out;
  };
  const examples = m.examples.filter(
    (e): e is StoredExample =>
      !!e &&
      Array.isArray(e.f) &&
      Array.isArray(e.v) &&
      e.f.length === e.v.length &&
      isCategory(e.to) &&
      isCategory(e.from),
  );
  return { format: FORMAT, salt: m.salt, examples, predicted: counts(m.predicted), corrected: counts(m.corrected) };
}
