import { describe, expect, it } from 'vitest';
import { type BatchTimer, classifyBatch, TokenBucket } from '../../src/classify/batch.js';
import { createLocalClassifier, MAX_TEXT_LENGTH } from '../../src/classify/local-classifier.js';
import { MemvaultError } from '../../src/core/errors.js';
import type { Classification, Classifier } from '../../src/ports/classifier.js';

const stub = (text: string): Classification => ({
  category: 'GENERAL',
  level: 1,
  confidence: 0.9,
  reasoning: text,
  tags: [],
  emotionalContext: 'neutral',
  source: 'local',
  needsReview: false,
});

/** A classifier whose calls finish in a scripted order, recording how many ran at once. */
function tracking(fail: (text: string, attempt: number) => Error | undefined = () => undefined) {
  let inFlight = 0;
  let maxInFlight = 0;
  const attempts = new Map<string, number>();
  const classifier: Classifier = {
    async classify(text) {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const n = (attempts.get(text) ?? 0) + 1;
      attempts.set(text, n);
      // Later items finish first, so order can only come from the batch keeping it.
      await new Promise((r) => setTimeout(r, 8 - (Number(text.replace(/\D/g, '')) % 8)));
      inFlight--;
      const error = fail(text, n);
      if (error) throw error;
      return stub(text);
    },
  };
  return { classifier, max: () => maxInFlight, attempts };
}

/** Virtual time: sleeping advances the clock instantly. */
function virtualTimer(): BatchTimer & { slept: number[] } {
  let t = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => t,
    sleep: async (ms) => {
      slept.push(ms);
      t += ms;
    },
  };
}

describe('classifyBatch', () => {
  it('keeps input order and bounds concurrency', async () => {
    const t = tracking();
    const texts = Array.from({ length: 25 }, (_, i) => `message ${i}`);
    const progress: number[] = [];
    const results = await classifyBatch(t.classifier, texts, {
      concurrency: 3,
      onProgress: (done, total) => {
        expect(total).toBe(25);
        progress.push(done);
      },
    });
    expect(results.map((r) => (r.ok ? r.result.reasoning : ''))).toEqual(texts);
    expect(t.max()).toBeLessThanOrEqual(3);
    expect(t.max()).toBeGreaterThan(1);
    expect(progress).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
  });

  it('reports failures per item and retries transient ones', async () => {
    const t = tracking((text, attempt) => {
      if (text === 'message 2') return new MemvaultError('VALIDATION_ERROR', 'bad input');
      if (text === 'message 4' && attempt === 1) return new MemvaultError('NETWORK_ERROR', 'flaky');
      if (text === 'message 6') return new MemvaultError('NETWORK_ERROR', 'down');
      return undefined;
    });
    const texts = Array.from({ length: 8 }, (_, i) => `message ${i}`);
    const results = await classifyBatch(t.classifier, texts, { retries: 1 });
    expect(results.map((r) => r.ok)).toEqual([true, true, false, true, true, true, false, true]);
    expect(t.attempts.get('message 2')).toBe(1); // validation errors are not retried
    expect(t.attempts.get('message 4')).toBe(2);
    expect(t.attempts.get('message 6')).toBe(2);
    const failed = results[6]!;
    expect(!failed.ok && failed.error.message).toBe('down');
  });

  it('spaces starts with the token bucket', async () => {
    const timer = virtualTimer();
    const t = tracking();
    await classifyBatch(t.classifier, ['a1', 'a2', 'a3', 'a4', 'a5'], { ratePerSecond: 10, timer, concurrency: 5 });
    // 5 starts at 10/s with a burst of 1: four waits adding up to 400 ms of virtual time.
    expect(timer.slept.reduce((a, b) => a + b, 0)).toBeCloseTo(400, 5);
  });

  it('handles an empty batch and a cancelled one', async () => {
    expect(await classifyBatch(tracking().classifier, [])).toEqual([]);
    const controller = new AbortController();
    controller.abort();
    const results = await classifyBatch(tracking().classifier, ['a', 'b'], { signal: controller.signal });
    expect(results.every((r) => !r.ok)).toBe(true);
  });

  it('classifies real messages with the local classifier', async () => {
    const results = await classifyBatch(createLocalClassifier(), [
      'My debit card PIN is 8812',
      { text: 'Took the kids to the aquarium this afternoon', ctx: { now: new Date('2026-11-26T18:00:00Z') } },
      // Longer than any message the classifier reads: a validation error, not a retry.
      'x'.repeat(MAX_TEXT_LENGTH + 1),
    ]);
    expect(results[0]).toMatchObject({ ok: true, result: { category: 'SECRET' } });
    expect(results[1]).toMatchObject({ ok: true, result: { category: 'CHRONOLOGICAL' } });
    expect(results[2]).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR' } });
  });
});

describe('TokenBucket', () => {
  it('allows a burst, then spaces takes at the rate', async () => {
    const timer = virtualTimer();
    const bucket = new TokenBucket(4, 2, timer);
    for (let i = 0; i < 4; i++) await bucket.take();
    expect(timer.slept).toEqual([250, 250]);
  });
  it('rejects a nonsensical rate', () => {
    expect(() => new TokenBucket(0, 1)).toThrow(expect.objectContaining({ code: 'VALIDATION_ERROR' }));
  });
});
