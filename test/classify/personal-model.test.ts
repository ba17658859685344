import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLocalClassifier } from '../../src/classify/local-classifier.js';
import { PersonalModelStore } from '../../src/classify/personal-model.js';
import type { UserId } from '../../src/core/entry.js';
import { FileDocuments } from '../../src/security/file-documents.js';

const alice = '+14155550134' as UserId;
const bob = '+447700900123' as UserId;
const now = new Date('2026-11-26T18:00:00Z');
let dataDir: string;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'memvault-personal-'));
});
afterEach(() => rm(dataDir, { recursive: true, force: true }));
const modelFile = (userId: UserId) => join(dataDir, 'users', userId, `MODEL.${userId}.json`);

const correction = (
  text: string,
  from: 'CONFIDENTIAL' | 'GENERAL',
  to: 'CONFIDENTIAL' | 'GENERAL',
  userId = alice,
) => ({
  userId,
  entryId: '01JDEMO',
  text,
  from,
  to,
  at: now.toISOString(),
});

describe('PersonalModelStore', () => {
  it('makes similar messages follow a correction, for that user only', async () => {
    const personal = new PersonalModelStore({ documents: new FileDocuments(dataDir) });
    const classifier = createLocalClassifier({ personal });
    const before = await classifier.classify('notes from my therapy session: work on boundaries', {
      now,
      userId: alice,
    });
    expect(before.category).toBe('CONFIDENTIAL');

    // Alice keeps her therapy-homework notes as general notes.
    await personal.learn(correction('notes from my therapy session: practice saying no', 'CONFIDENTIAL', 'GENERAL'));
    await personal.learn(correction('notes from my therapy session: journal every morning', 'CONFIDENTIAL', 'GENERAL'));

    const after = await classifier.classify('notes from my therapy session: work on boundaries', {
      now,
      userId: alice,
    });
    expect(after.category).toBe('GENERAL');
    expect(after.reasoning).toContain('earlier corrections');

    const other = await classifier.classify('notes from my therapy session: work on boundaries', { now, userId: bob });
    expect(other.category).toBe('CONFIDENTIAL');
    const unrelated = await classifier.classify('I was diagnosed with asthma yesterday', { now, userId: alice });
    expect(unrelated.category).toBe('CONFIDENTIAL');
  });

  it('never lets a correction lower a message with a detected secret value', async () => {
    const personal = new PersonalModelStore({ documents: new FileDocuments(dataDir) });
    const classifier = createLocalClassifier({ personal });
    await personal.learn({ ...correction('my gym locker code is 4412', 'CONFIDENTIAL', 'GENERAL'), from: 'SECRET' });
    const r = await classifier.classify('my gym locker code is 9931', { now, userId: alice });
    expect(r.category).toBe('SECRET');
  });

  it('stores hashed features only, atomically, in the user folder', async () => {
    const personal = new PersonalModelStore({ documents: new FileDocuments(dataDir) });
    await personal.learn(correction('notes from my therapy session about Grandpa Walter', 'CONFIDENTIAL', 'GENERAL'));
    const folder = join(dataDir, 'users', alice);
    expect(await readdir(folder)).toEqual([`MODEL.${alice}.json`]);
    const raw = await readFile(join(folder, `MODEL.${alice}.json`), 'utf8');
    for (const word of ['therapy', 'session', 'grandpa', 'walter', 'notes'])
      expect(raw.toLowerCase()).not.toContain(word);
    expect(JSON.parse(raw).format).toBe('memvault-personal-v1');
  });

  it('survives a reload and serialises concurrent corrections', async () => {
    const first = new PersonalModelStore({ documents: new FileDocuments(dataDir) });
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        first.learn(correction(`budget note number ${i} for the trip`, 'CONFIDENTIAL', 'GENERAL')),
      ),
    );
    const second = new PersonalModelStore({ documents: new FileDocuments(dataDir) });
    const p = await second.predict(alice, 'budget note number 3 for the trip');
    expect(p?.category).toBe('GENERAL');
    expect(p?.similarity).toBeGreaterThan(0.5);
    const raw = JSON.parse(await readFile(modelFile(alice), 'utf8'));
    expect(raw.examples).toHaveLength(12);
    expect(raw.corrected.CONFIDENTIAL).toBe(12);
  });

  it('computes historical accuracy from predictions and corrections, with a prior', async () => {
    const personal = new PersonalModelStore({ documents: new FileDocuments(dataDir) });
    expect(personal.historicalAccuracy(alice, 'SECRET')).toBeCloseTo(0.9, 5);
    for (let i = 0; i < 10; i++) personal.recordPrediction(alice, 'CONFIDENTIAL');
    await personal.learn(correction('a', 'CONFIDENTIAL', 'GENERAL'));
    await personal.learn(correction('b', 'CONFIDENTIAL', 'GENERAL'));
    await personal.learn(correction('c', 'CONFIDENTIAL', 'GENERAL'));
    // (9 + 10 − 3) / (9 + 1 + 10)
    expect(personal.historicalAccuracy(alice, 'CONFIDENTIAL')).toBeCloseTo(16 / 20, 5);
    await personal.flush();
    const reloaded = new PersonalModelStore({ documents: new FileDocuments(dataDir) });
    await reloaded.load(alice);
    expect(reloaded.historicalAccuracy(alice, 'CONFIDENTIAL')).toBeCloseTo(16 / 20, 5);
  });

  it('rejects bad user ids and bad categories, and reports a damaged file', async () => {
    const personal = new PersonalModelStore({ documents: new FileDocuments(dataDir) });
    expect(() => personal.nameOf('../../etc' as UserId)).toThrow(expect.objectContaining({ code: 'VALIDATION_ERROR' }));
    await expect(
      personal.learn({ ...correction('x', 'GENERAL', 'GENERAL'), to: 'NOPE' as 'GENERAL' }),
    ).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
    await personal.learn(correction('x', 'GENERAL', 'CONFIDENTIAL', bob));
    await writeFile(modelFile(bob), '{not json');
    await expect(new PersonalModelStore({ documents: new FileDocuments(dataDir) }).load(bob)).rejects.toMatchObject({
      code: 'DATA_CORRUPTION',
    });
  });

  it('sees a correction learnt by another store over the same documents at its next load, and loses none', async () => {
    const a = new PersonalModelStore({ documents: new FileDocuments(dataDir) });
    const b = new PersonalModelStore({ documents: new FileDocuments(dataDir) });
    expect(await b.predict(alice, 'the garage door code is under the mat')).toBeUndefined();
    await a.learn(correction('the garage door code is under the mat', 'GENERAL', 'CONFIDENTIAL'));
    expect((await b.predict(alice, 'the garage door code is under the mat'))?.category).toBe('CONFIDENTIAL');
    // Both learn at once: each learns under the document's exclusive hold from the newest stored model.
    await Promise.all([
      ...Array.from({ length: 5 }, (_, i) => a.learn(correction(`note a${i}`, 'GENERAL', 'CONFIDENTIAL'))),
      ...Array.from({ length: 5 }, (_, i) => b.learn(correction(`note b${i}`, 'GENERAL', 'CONFIDENTIAL'))),
    ]);
    const raw = JSON.parse(await readFile(modelFile(alice), 'utf8'));
    expect(raw.examples).toHaveLength(11);
    expect(raw.corrected.GENERAL).toBe(11);
  });
});
