import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TextModel, trainTextModel } from '../../src/classify/text-model.js';

const examples = [
  { text: 'took the kids to the zoo yesterday', label: 'CHRONOLOGICAL' as const },
  { text: 'I prefer aisle seats on long flights', label: 'GENERAL' as const },
  { text: 'the biopsy came back and I am scared', label: 'CONFIDENTIAL' as const },
  { text: 'gate code is _access_code_', label: 'SECRET' as const },
  { text: 'the seed words are on a steel plate in the loft', label: 'ULTRASECRET' as const },
];

describe('TextModel.average', () => {
  it('averages weights and biases: the mean of one model twice is that model', () => {
    const m = trainTextModel(examples, { bits: 10, epochs: 5, seed: 3 });
    const avg = TextModel.average([m, m]);
    const text = 'went to the zoo with the kids';
    const a = m.predict(text);
    const b = avg.predict(text);
    for (const c of Object.keys(a) as (keyof typeof a)[]) expect(b[c]).toBeCloseTo(a[c], 6);
  });

  it('lands between two differently seeded runs', () => {
    const m1 = trainTextModel(examples, { bits: 10, epochs: 5, seed: 1 });
    const m2 = trainTextModel(examples, { bits: 10, epochs: 5, seed: 2 });
    const avg = TextModel.average([m1, m2]);
    expect(avg.meta.bias[0]).toBeCloseTo(((m1.meta.bias[0] ?? 0) + (m2.meta.bias[0] ?? 0)) / 2, 9);
    expect(avg.meta.hyper.seeds).toBe(2);
  });

  it('refuses an empty list with a typed error', () => {
    expect(() => TextModel.average([])).toThrow(/No models to average/);
  });
});

describe('TextModel.save and load', () => {
  it('a loaded model predicts like the float one (int8 rounding only) and saves back byte for byte', () => {
    const dir = mkdtempSync(join(tmpdir(), 'memvault-model-'));
    try {
      const m = trainTextModel(examples, { bits: 10, epochs: 5, seed: 4 });
      m.save(dir);
      const loaded = TextModel.load(dir);
      for (const text of ['went to the zoo with the kids', 'the gate code changed', 'biopsy results friday']) {
        const a = m.predict(text);
        const b = loaded.predict(text);
        for (const c of Object.keys(a) as (keyof typeof a)[]) expect(Math.abs(b[c] - a[c])).toBeLessThan(0.02);
      }
      const again = mkdtempSync(join(tmpdir(), 'memvault-model-'));
      try {
        loaded.save(again);
        expect(readFileSync(join(again, 'model.bin'))).toEqual(readFileSync(join(dir, 'model.bin')));
      } finally {
        rmSync(again, { recursive: true, force: true });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a weights file of the wrong size with a typed error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'memvault-model-'));
    try {
      trainTextModel(examples, { bits: 10, epochs: 1, seed: 1 }).save(dir);
      writeFileSync(join(dir, 'model.bin'), Buffer.alloc(100));
      expect(() => TextModel.load(dir)).toThrow(/damaged/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
