import { readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BackupKeys, type BackupManifest, countEntries, packBackup, unpackBackup } from '../../src/backup/archive.js';
import { FsBackupStore } from '../../src/backup/backup-store.js';
import type { Memvault } from '../../src/app/container.js';
import { isMemvaultError } from '../../src/core/errors.js';
import { snapshot, tempDir } from '../helpers/cli.js';
import { ANA, BEN, KEY, OTHER_KEY, addEntries, openApp } from './fixture.js';

let dir: { path: string; cleanup(): void };
let D: string;
let app: Memvault;

beforeEach(async () => {
  dir = tempDir();
  D = join(dir.path, 'data');
  app = await openApp(D);
  await app.memory.signUp({ phone: ANA, name: 'Ana' });
  await app.memory.signUp({ phone: BEN, name: 'Ben' });
});
afterEach(async () => {
  await app.close();
  dir.cleanup();
});

const keys = () => new BackupKeys(Buffer.from(KEY, 'hex'));

async function refusal(p: Promise<unknown>): Promise<{ code: string; problem: unknown; message: string }> {
  try {
    await p;
  } catch (error) {
    if (!isMemvaultError(error)) throw error;
    return { code: error.code, problem: error.details?.problem, message: error.message };
  }
  throw new Error('expected a refusal');
}

/** Offset of the first payload byte: after the header's `--- <mac>` line. */
function payloadStart(bytes: Buffer): number {
  const macLine = bytes.indexOf('\n---');
  return bytes.indexOf('\n', macLine + 1) + 1;
}

function flipped(path: string, at: number, out: string): string {
  const bytes = readFileSync(path);
  bytes[at] = (bytes[at] ?? 0) ^ 0x01;
  writeFileSync(out, bytes);
  return out;
}

describe('backup create', () => {
  it('writes a manifest with revision, every file with size and SHA-256, counts and keyring fingerprints', async () => {
    await addEntries(app, ANA, 3, 'GENERAL');
    await app.vault.append(ANA, {
      date: '2026-02-01T00:00:00.000Z',
      category: 'SECRET',
      content: 'My gym locker code is 5521',
      channel: 'cli',
    });
    const made = await app.backups.create(ANA);
    expect(made.userId).toBe(ANA);
    expect(made.counts).toEqual({ CHRONOLOGICAL: 0, GENERAL: 3, CONFIDENTIAL: 0, SECRET: 1, ULTRASECRET: 0 });
    expect(Object.keys(made.keyring.fingerprints)).toEqual(['1', '2', '3', '4']);

    const { manifest, files } = await unpackBackup(keys(), readFileSync(made.file));
    const names = files.map((f) => f.name);
    expect(names).toContain(`KEYRING.${ANA}.json`);
    expect(names).toContain(`AUDIT.${ANA}.log`);
    // Never the master key, the search index, locks or temp files.
    expect(names.every((n) => n.endsWith(`${ANA}.md`) || /^(KEYRING|AUDIT|AUTH|MODEL)\./.test(n))).toBe(true);
    for (const f of manifest.files) {
      expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(f.size).toBe(files.find((x) => x.name === f.name)?.bytes.length);
    }
    // Entries stay sealed: no plaintext of the level-3 memory anywhere inside.
    for (const f of files) expect(f.bytes.includes('locker code')).toBe(false);
    // Nor the master key, in any spelling.
    const master = Buffer.from(KEY, 'hex');
    for (const f of files) {
      expect(f.bytes.includes(master)).toBe(false);
      expect(f.bytes.includes(KEY)).toBe(false);
      expect(f.bytes.includes(master.toString('base64'))).toBe(false);
    }
    expect(made.revision).toBe(manifest.revision);
  });

  it('an append racing a backup is wholly in it or wholly out of it, never torn', async () => {
    const backups: Promise<{ file: string }>[] = [];
    const appends = addEntries(app, ANA, 40, 'CHRONOLOGICAL');
    for (let i = 0; i < 6; i++) {
      backups.push(app.backups.create(ANA));
      await new Promise((r) => setTimeout(r, 5));
    }
    await appends;
    for (const b of await Promise.all(backups)) {
      const { files } = await unpackBackup(keys(), readFileSync(b.file));
      const text = files.find((f) => f.name === `CHRONOLOGICAL.${ANA}.md`)?.bytes.toString('utf8') ?? '';
      expect(text.endsWith('\n---\n\n')).toBe(true);
      // unpackBackup checked the manifest counts against these bytes; each entry is complete.
      expect(text.split('\n---\n\n').length - 2).toBe(countEntries(text));
    }
  });

  it('a full disk is a clear STORAGE_ERROR, writes nothing, and earlier backups stay intact', async () => {
    const first = await app.backups.create(ANA);
    const full = new FsBackupStore({
      dataDir: D,
      masterKey: Buffer.from(KEY, 'hex'),
      writeArchive: async () => {
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      },
    });
    const r = await refusal(full.create(ANA));
    expect(r.code).toBe('STORAGE_ERROR');
    expect(r.message).toMatch(/full/);
    expect(r.message).toMatch(/earlier backups are intact/);
    expect((await app.backups.list(ANA)).map((b) => b.file)).toEqual([first.file]);
    expect((await app.backups.verify(first.file)).revision).toBe(first.revision);
  });

  it('a file cut in place after the snapshot (a torn tail repaired by the next append) is packed again under the locks', async () => {
    await addEntries(app, ANA, 3, 'GENERAL');
    const path = join(D, 'users', ANA, `GENERAL.${ANA}.md`);
    // A crashed writer's torn tail: the next append cuts it (in place) and appends after the cut.
    writeFileSync(path, `${readFileSync(path, 'utf8')}## Memory Entry #01TORN\n**Date**: 2026-0`);
    let appended = false;
    const store = new FsBackupStore({
      dataDir: D,
      masterKey: Buffer.from(KEY, 'hex'),
      afterSnapshot: async () => {
        if (appended) return;
        appended = true;
        await addEntries(app, ANA, 1, 'GENERAL');
      },
    });
    const made = await store.create(ANA);
    const { files } = await unpackBackup(keys(), readFileSync(made.file));
    const text = files.find((f) => f.name === `GENERAL.${ANA}.md`)?.bytes.toString('utf8') ?? '';
    // The second snapshot, taken with the locks held to the end: the repaired file with the new entry, whole.
    expect(text).toBe(readFileSync(path, 'utf8'));
    expect(text).not.toContain('01TORN');
    expect(made.counts.GENERAL).toBe(4);
    expect((await store.verify(made.file)).revision).toBe(made.revision);
    expect(readdirSync(join(D, 'backups', ANA)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('list is newest first and per person', async () => {
    const a1 = await app.backups.create(ANA);
    await new Promise((r) => setTimeout(r, 5));
    const a2 = await app.backups.create(ANA);
    const b1 = await app.backups.create(BEN);
    expect((await app.backups.list(ANA)).map((b) => b.file)).toEqual([a2.file, a1.file]);
    expect((await app.backups.list()).map((b) => b.file).sort()).toEqual([a1.file, a2.file, b1.file].sort());
  });
});

describe('verify and restore refuse bad backups and leave the vault untouched', () => {
  let good: string;
  beforeEach(async () => {
    await addEntries(app, ANA, 200, 'GENERAL');
    good = (await app.backups.create(ANA)).file;
    await addEntries(app, ANA, 1, 'CHRONOLOGICAL');
  });

  const cases: Array<[string, (file: string) => string, string[]]> = [
    ['a byte flipped in the age header', (f) => flipped(f, 40, `${f}.h`), ['foreign_key', 'tampered', 'not_a_backup']],
    [
      'a byte flipped in the first chunk (the manifest)',
      (f) => flipped(f, payloadStart(readFileSync(f)) + 40, `${f}.m`),
      ['tampered'],
    ],
    [
      'a byte flipped in the last chunk (the payload)',
      (f) => flipped(f, readFileSync(f).length - 20, `${f}.p`),
      ['tampered'],
    ],
    [
      'a truncated archive',
      (f) => {
        const out = `${f}.t`;
        writeFileSync(out, readFileSync(f));
        truncateSync(out, Math.floor(readFileSync(f).length * 0.6));
        return out;
      },
      ['tampered'],
    ],
    [
      'a file that is no backup',
      (f) => {
        writeFileSync(`${f}.x`, 'hello');
        return `${f}.x`;
      },
      ['not_a_backup'],
    ],
  ];

  for (const [name, make, problems] of cases) {
    it(`${name}`, async () => {
      const bad = make(good);
      const before = snapshot(join(D, 'users'));
      const v = await refusal(app.backups.verify(bad));
      expect(problems).toContain(v.problem);
      const r = await refusal(app.backups.restore(bad, { userId: ANA }));
      expect(problems).toContain(r.problem);
      expect(snapshot(join(D, 'users'))).toEqual(before);
    });
  }

  it("another person's backup is refused for B", async () => {
    const before = snapshot(join(D, 'users'));
    const r = await refusal(app.backups.restore(good, { userId: BEN }));
    expect(r).toMatchObject({ code: 'VALIDATION_ERROR', problem: 'wrong_person' });
    expect(snapshot(join(D, 'users'))).toEqual(before);
  });

  it('a backup of another instance (another master key) is refused as foreign', async () => {
    const other = tempDir();
    const theirs = await openApp(join(other.path, 'data'), OTHER_KEY);
    try {
      await theirs.memory.signUp({ phone: ANA });
      const foreign = (await theirs.backups.create(ANA)).file;
      const before = snapshot(join(D, 'users'));
      expect(await refusal(app.backups.restore(foreign))).toMatchObject({ problem: 'foreign_key' });
      expect(snapshot(join(D, 'users'))).toEqual(before);
    } finally {
      await theirs.close();
      other.cleanup();
    }
  });

  it('a backup of a newer format version is refused, naming both versions', async () => {
    const { manifest, files } = await unpackBackup(keys(), readFileSync(good));
    const newer = { ...manifest, version: 2 } as unknown as BackupManifest;
    const path = join(dir.path, 'newer.mvbackup');
    writeFileSync(path, await packBackup(keys(), newer, files));
    const r = await refusal(app.backups.restore(path));
    expect(r).toMatchObject({ code: 'VALIDATION_ERROR', problem: 'newer_format' });
    expect(r.message).toMatch(/version 2.*up to version 1/);
  });

  it('a file that does not match its MAC-ed manifest is refused after it was staged; the staging folder goes', async () => {
    const { manifest, files } = await unpackBackup(keys(), readFileSync(good));
    // Every file intact but the last one packed: the restore has staged the others when it finds out.
    const last = files.at(-1);
    if (!last) throw new Error('no files');
    const edited = [...files.slice(0, -1), { name: last.name, bytes: Buffer.concat([last.bytes, Buffer.from('x')]) }];
    const path = join(dir.path, 'edited.mvbackup');
    writeFileSync(path, await packBackup(keys(), manifest, edited));
    const before = snapshot(join(D, 'users'));
    const r = await refusal(app.backups.restore(path, { userId: ANA }));
    expect(r).toMatchObject({ code: 'DATA_CORRUPTION', problem: 'tampered' });
    expect(r.message).toContain(last.name);
    expect(snapshot(join(D, 'users'))).toEqual(before);
    expect(readdirSync(join(D, 'users')).sort()).toEqual([ANA, BEN].sort());
    // A listed file left out of the archive is `truncated`.
    const missing = join(dir.path, 'missing.mvbackup');
    writeFileSync(missing, await packBackup(keys(), manifest, files.slice(0, -1)));
    expect(await refusal(app.backups.verify(missing))).toMatchObject({ problem: 'truncated' });
  });

  it('a manifest not MAC-ed by this instance is refused even when the age layer is valid', async () => {
    const { manifest, files } = await unpackBackup(keys(), readFileSync(good));
    const forger = new BackupKeys(Buffer.from(OTHER_KEY, 'hex'));
    // Encrypted to our recipient (it is public) but MAC-ed with another key.
    const ours = keys();
    const path = join(dir.path, 'forged.mvbackup');
    const archive = await packBackup(
      {
        encrypt: (p: AsyncIterable<Uint8Array>) => ours.encrypt(p),
        mac: (b: Buffer) => forger.mac(b),
      } as unknown as BackupKeys,
      manifest,
      files,
    );
    writeFileSync(path, archive);
    expect(await refusal(app.backups.verify(path))).toMatchObject({ problem: 'tampered' });
  });
});

describe('restore', () => {
  it('puts back the backed-up entries and keyring, keeps the audit history and records the restore', async () => {
    await addEntries(app, ANA, 2, 'GENERAL');
    const made = await app.backups.create(ANA);
    await addEntries(app, ANA, 3, 'GENERAL');
    const auditBefore = await app.audit.list(ANA, { limit: 1000 });
    writeFileSync(join(D, 'users', ANA, `GENERAL.${ANA}.md.torn`), 'torn bytes', { mode: 0o600 });
    const restored = await app.backups.restore(made.file, { userId: ANA });
    expect(restored.revision).toBe(made.revision);
    const audit = await app.audit.list(ANA, { limit: 1000 });
    const opener = await app.operatorOpener(ANA);
    expect((await app.vault.read(ANA, {}, opener)).entries).toHaveLength(2);
    // History is never rolled back: every record from before the restore (the backup's own creation
    // included, which the backup cannot hold) is still there, unchanged.
    const macs = new Set(audit.map((r) => r.mac));
    expect(auditBefore.some((r) => r.action === 'backup.create')).toBe(true);
    for (const r of auditBefore) expect(macs.has(r.mac)).toBe(true);
    expect(audit.length).toBe(auditBefore.length + 1);
    expect(audit.some((r) => r.action === 'backup.restore')).toBe(true);
    expect(await app.audit.verify(ANA)).toMatchObject({ ok: true });
    // Torn-append evidence of the current folder is kept.
    expect(readFileSync(join(D, 'users', ANA, `GENERAL.${ANA}.md.torn`), 'utf8')).toBe('torn bytes');
    // No staging or previous folders are left.
    expect(readdirSync(join(D, 'users')).sort()).toEqual([ANA, BEN].sort());
  });

  it('a disk that fills up while staging is a clear STORAGE_ERROR; the folder is untouched and no staging is left', async () => {
    await addEntries(app, ANA, 2);
    const made = await app.backups.create(ANA);
    await addEntries(app, ANA, 1);
    const before = snapshot(join(D, 'users'));
    let written = 0;
    const full = new FsBackupStore({
      dataDir: D,
      masterKey: Buffer.from(KEY, 'hex'),
      writeStaged: async (path, data) => {
        if (++written === 3) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
        const parts: Uint8Array[] = [];
        for await (const chunk of data) parts.push(chunk);
        writeFileSync(path, Buffer.concat(parts));
      },
    });
    const r = await refusal(full.restore(made.file));
    expect(r.code).toBe('STORAGE_ERROR');
    expect(r.message).toMatch(/nothing was changed.*disk is full/);
    expect(snapshot(join(D, 'users'))).toEqual(before);
    expect(readdirSync(join(D, 'users')).sort()).toEqual([ANA, BEN].sort());
  });

  it('restores a person into an instance that no longer has their folder', async () => {
    await addEntries(app, ANA, 2);
    const made = await app.backups.create(ANA);
    const fresh = tempDir();
    const other = await openApp(join(fresh.path, 'data'));
    try {
      await other.backups.restore(made.file);
      const opener = await other.operatorOpener(ANA);
      expect((await other.vault.read(ANA, {}, opener)).entries).toHaveLength(2);
    } finally {
      await other.close();
      fresh.cleanup();
    }
  });
});

describe('recover puts right a restore interrupted at any step', () => {
  const store = () => new FsBackupStore({ dataDir: D, masterKey: Buffer.from(KEY, 'hex') });
  const users = () => join(D, 'users');
  const journal = (tag: string) =>
    writeFileSync(
      join(users(), `.restore.${ANA}.json`),
      JSON.stringify({ userId: ANA, staging: `.restoring.${ANA}.${tag}`, previous: `.previous.${ANA}.${tag}` }),
    );
  // A pid that is certainly dead: the journal's writer died.
  const TAG = '999999999.aaaaaaaaaaaa';
  const profile = () => readFileSync(join(users(), ANA, `USER.${ANA}.md`), 'utf8');

  async function stage(marker: string) {
    const { cpSync } = await import('node:fs');
    const staging = join(users(), `.restoring.${ANA}.${TAG}`);
    cpSync(join(users(), ANA), staging, { recursive: true });
    writeFileSync(join(staging, `USER.${ANA}.md`), marker);
    return staging;
  }

  it('journal written, nothing moved: the old folder stays, staging goes', async () => {
    const old = profile();
    await stage('NEW');
    journal(TAG);
    expect((await store().recover()).undone).toEqual([ANA]);
    expect(profile()).toBe(old);
    expect(readdirSync(users()).sort()).toEqual([ANA, BEN].sort());
  });

  it('old folder moved aside, new one not yet in: the new one is put in', async () => {
    const { renameSync } = await import('node:fs');
    await stage('NEW');
    journal(TAG);
    renameSync(join(users(), ANA), join(users(), `.previous.${ANA}.${TAG}`));
    expect((await store().recover()).finished).toEqual([ANA]);
    expect(profile()).toBe('NEW');
    expect(readdirSync(users()).sort()).toEqual([ANA, BEN].sort());
  });

  it('both moved, old not yet deleted: the new one stays, the old one goes', async () => {
    const { renameSync } = await import('node:fs');
    const staging = await stage('NEW');
    journal(TAG);
    renameSync(join(users(), ANA), join(users(), `.previous.${ANA}.${TAG}`));
    renameSync(staging, join(users(), ANA));
    expect((await store().recover()).finished).toEqual([ANA]);
    expect(profile()).toBe('NEW');
    expect(readdirSync(users()).sort()).toEqual([ANA, BEN].sort());
  });

  it('a staging folder without a journal (died while staging) is removed', async () => {
    const old = profile();
    await stage('NEW');
    expect((await store().recover()).removedStaging).toBe(1);
    expect(profile()).toBe(old);
  });

  it('killed while writing the journal: a staging folder and the journal’s temp file, both removed', async () => {
    const old = profile();
    await stage('NEW');
    writeFileSync(join(users(), `..restore.${ANA}.json.999999999.2eeec2aea93a.tmp`), '{"userId":');
    await store().recover();
    expect(profile()).toBe(old);
    expect(readdirSync(users()).sort()).toEqual([ANA, BEN].sort());
  });
});

describe('doctor --repair', () => {
  /** Flips one character inside the sealed payload of entry `id`, so it no longer opens. */
  function damage(category: string, id: string) {
    const path = join(D, 'users', ANA, `${category}.${ANA}.md`);
    const text = readFileSync(path, 'utf8');
    const at = text.indexOf('mv1.', text.indexOf(`## Memory Entry #${id}`)) + 20;
    writeFileSync(path, `${text.slice(0, at)}${text[at] === 'A' ? 'B' : 'A'}${text.slice(at + 1)}`);
  }

  it('replaces a damaged entry by its intact copy from the newest backup holding one, and audits it', async () => {
    await addEntries(app, ANA, 3, 'GENERAL');
    const opener = await app.operatorOpener(ANA);
    const before = (await app.vault.read(ANA, {}, opener)).entries;
    const target = before[1];
    if (!target) throw new Error('no entry');
    await app.backups.create(ANA);
    const newer = await app.vault.append(ANA, {
      date: '2026-03-01T00:00:00.000Z',
      category: 'GENERAL',
      content: 'written after the backup',
      channel: 'cli',
    });
    damage('GENERAL', target.id);
    expect((await app.vault.check(ANA, opener)).damaged.map((d) => d.id)).toEqual([target.id]);

    const [report] = await app.backups.doctor({ userId: ANA, repair: true });
    expect(report?.findings.filter((f) => !f.ok)).toEqual([]);
    expect(report?.ok).toBe(true);
    expect(report?.findings.find((f) => f.check === 'recovery')).toMatchObject({ ok: true });
    expect((await app.vault.check(ANA, opener)).damaged).toEqual([]);
    expect((await app.vault.get(ANA, target.id, opener)).content).toBe(target.content);
    // The entry written after the backup is untouched.
    expect((await app.vault.get(ANA, newer.id, opener)).content).toBe('written after the backup');
    expect((await app.audit.list(ANA, { limit: 5 })).map((r) => r.action)).toContain('doctor.recover');
  });

  it('says so when no backup holds an intact copy, and changes nothing', async () => {
    await addEntries(app, ANA, 1, 'GENERAL');
    await app.backups.create(ANA);
    const late = await app.vault.append(ANA, {
      date: '2026-03-01T00:00:00.000Z',
      category: 'GENERAL',
      content: 'after the backup',
      channel: 'cli',
    });
    damage('GENERAL', late.id);
    const file = readFileSync(join(D, 'users', ANA, `GENERAL.${ANA}.md`));
    const [report] = await app.backups.doctor({ userId: ANA, repair: true });
    expect(report?.ok).toBe(false);
    expect(report?.findings.find((f) => f.check === 'recovery')?.message).toMatch(
      /1 of 1 damaged entries have no intact copy/,
    );
    expect(readFileSync(join(D, 'users', ANA, `GENERAL.${ANA}.md`))).toEqual(file);
  });
});
