import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The development set in ../shared/eval/classify-dev is for measuring only: none of its messages, nor a near-copy,
 * may sit in the corpus we train on or in the sets we report on. A row is a near-copy when it shares a run of seven
 * words with a development message, a run of six when the row is short (14 words or fewer), or a run of four
 * holding three numbers that are not public test values (a card's 5555 5555 5555 4444, the example IBAN). Runs are
 * counted on lower-cased words, punctuation dropped. Skipped with a note where ../shared is not beside the repo.
 */
const ROOT = join(import.meta.dirname, '..', '..');
const DEV = join(ROOT, '..', 'shared', 'eval', 'classify-dev', 'messages.jsonl');
const PUBLIC_VALUES = new Set([
  '5555',
  '4444',
  '4111',
  '1111',
  '4012',
  '8888',
  '1881',
  '4242',
  'de89',
  '3704',
  '0044',
  '0532',
  '0130',
  '00',
]);

const words = (text: string) =>
  text
    .toLowerCase()
    .replace(/['’]/g, '')
    .split(/[^\p{L}\p{N}_]+/u)
    .filter(Boolean);
const runs = (w: string[], n: number) =>
  Array.from({ length: Math.max(0, w.length - n + 1) }, (_, i) => w.slice(i, i + n));
const texts = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => (JSON.parse(l) as { text: string }).text);

describe.skipIf(!existsSync(DEV))('the corpus holds nothing of the development set', () => {
  it('no row of corpus/people or corpus/independent is a near-copy of a development message', () => {
    const dev = texts(DEV).map(words);
    const sets = [7, 6, 4].map((n) => new Set(dev.flatMap((w) => runs(w, n).map((r) => r.join(' ')))));
    const [seven, six, four] = sets as [Set<string>, Set<string>, Set<string>];
    const valueRun = (run: string[]) =>
      run.filter((t) => t.length >= 2 && /\d/.test(t) && !PUBLIC_VALUES.has(t)).length >= 3;
    const near = (text: string) => {
      const w = words(text);
      return (
        runs(w, 7).some((r) => seven.has(r.join(' '))) ||
        (w.length <= 14 && runs(w, 6).some((r) => six.has(r.join(' ')))) ||
        runs(w, 4).some((r) => valueRun(r) && four.has(r.join(' ')))
      );
    };
    const found: string[] = [];
    for (const folder of ['people', 'independent']) {
      const dir = join(ROOT, 'corpus', folder);
      for (const file of readdirSync(dir).filter((f) => f.endsWith('.jsonl'))) {
        // Name the file and line only: the test never prints a message.
        texts(join(dir, file)).forEach((text, i) => {
          if (near(text)) found.push(`${folder}/${file}:${i + 1}`);
        });
      }
    }
    expect(found).toEqual([]);
  });
});
