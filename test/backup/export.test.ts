import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import type { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as yauzl from 'yauzl';
import * as yazl from 'yazl';
import type { Memvault } from '../../src/app/container.js';
import { CATEGORIES, type Category, levelOf, type SecurityLevel } from '../../src/core/category.js';
import { withChecksum } from '../../src/core/checksum.js';
import type { MemoryEntry, UserId } from '../../src/core/entry.js';
import type { ExportManifest } from '../../src/ports/export.js';
import { KeyringStore } from '../../src/security/keyring.js';
import { loadMasterKey } from '../../src/security/master-key.js';
import { createOpener } from '../../src/security/seal.js';
import type { Principal } from '../../src/services/types.js';
import { createZipExportCodec } from '../../src/vault/export-zip.js';
import { memvault } from '../helpers/cli.js';
import { ANA, BEN, KEY, openApp } from './fixture.js';

const PASSWORD = 'correct horse battery staple 42';
const SECRET_TEXT = 'My safe combination is 31-7-22';
let root: string;
let D: string;
let app: Memvault;

/** A principal whose opener holds exactly `levels` of the person's keys (levels 3–4 unwrap with the password). */
async function principalFor(userId: UserId, levels: readonly SecurityLevel[]): Promise<Principal> {
  const keyring = new KeyringStore({
    dataDir: D,
    masterKey: await loadMasterKey({ env: { MEMVAULT_MASTER_KEY: KEY }, dataDir: D }),
  });
  const keys = await keyring.unwrapMany(userId, levels, { password: PASSWORD });
  return { userId, opener: createOpener(userId, keys), meta: { channel: 'cli' } };
}

async function person(userId: UserId): Promise<void> {
  await app.memory.signUp({ phone: userId, password: PASSWORD, timezone: 'Europe/Lisbon' });
}

async function seed(userId: UserId): Promise<MemoryEntry[]> {
  const at = (d: number) => new Date(Date.UTC(2026, 10, d, 9, 30)).toISOString();
  const made = [
    await app.vault.append(userId, {
      date: at(1),
      eventDate: at(1),
      category: 'CHRONOLOGICAL',
      tags: ['hiking', 'Sara'],
      content: 'Went hiking with Sara\n\n## Memory Entry #not-a-heading\n---\n\nstill content — ünïcødé 🏔️',
      analysis: 'An event with a person.',
      confidence: 0.92,
      emotionalContext: 'joyful',
      channel: 'telegram',
      externalId: 'tg-991',
    }),
    await app.vault.append(userId, { date: at(2), category: 'GENERAL', content: 'Oat milk is better', channel: 'web' }),
    await app.vault.append(userId, {
      date: at(3),
      category: 'CONFIDENTIAL',
      content: 'Salary is 4200',
      channel: 'cli',
    }),
    await app.vault.append(userId, { date: at(4), category: 'SECRET', content: SECRET_TEXT, channel: 'cli' }),
    await app.vault.append(userId, { date: at(5), category: 'ULTRASECRET', content: 'The seed words', channel: 'cli' }),
  ];
  const all = await principalFor(userId, [1, 2, 3, 4]);
  await app.vault.link(userId, made[0]!.id, made[3]!.id, all.opener);
  return (await app.vault.read(userId, { order: 'asc' }, all.opener)).entries;
}

/** What must survive an export and import: everything but the id, the owner and the checksum. */
const kept = (e: MemoryEntry) => ({
  date: e.date,
  eventDate: e.eventDate,
  category: e.category,
  level: e.level,
  tags: e.tags,
  content: e.content,
  analysis: e.analysis,
  confidence: e.confidence,
  emotionalContext: e.emotionalContext,
  channel: e.channel,
  externalId: e.externalId,
  related: e.related.length,
});

async function unzip(bytes: Buffer): Promise<Map<string, string>> {
  const zip = await yauzl.fromBufferPromise(bytes, { lazyEntries: true });
  const out = new Map<string, string>();
  for await (const entry of zip.eachEntry()) {
    out.set(entry.fileName, (await buffer(await zip.openReadStreamPromise(entry))).toString('utf8'));
  }
  zip.close();
  return out;
}

async function zipOf(members: Record<string, string>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, text] of Object.entries(members)) zip.addBuffer(Buffer.from(text), name);
  zip.end();
  return buffer(zip.outputStream as Readable);
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'memvault-export-'));
  D = join(root, 'data');
  app = await openApp(D);
});
afterEach(async () => {
  await app.close();
  await rm(root, { recursive: true, force: true });
});

describe('export and import', () => {
  it.each(['markdown', 'json'] as const)(
    'a %s export of every level imports into another person whole: fields, levels and links',
    async (format) => {
      await person(ANA);
      await person(BEN);
      const original = await seed(ANA);
      const { manifest, stream } = await app.exports.export(await principalFor(ANA, [1, 2, 3, 4]), format);
      expect(manifest).toMatchObject({ userId: ANA, layout: format, levels: [1, 2, 3, 4], locked: 0, damaged: 0 });
      const zip = await buffer(stream as Readable);
      const members = await unzip(zip);
      expect([...members.keys()].sort()).toEqual(
        format === 'json'
          ? ['export.json', 'memories.json']
          : ['export.json', ...CATEGORIES.map((c) => `${c}.md`)].sort(),
      );
      if (format === 'markdown') {
        // The seed's entry format, in plain text: a person can read it in any editor.
        expect(members.get('SECRET.md')).toContain(`### Content\n${SECRET_TEXT}\n`);
        expect(members.get('SECRET.md')).toContain('**Security Level**: 3 (Secret)');
      }

      const ben = await principalFor(BEN, [1, 2, 3, 4]);
      const report = await app.exports.import(ben, zip);
      expect(report).toMatchObject({ from: ANA, imported: 5, skipped: 0, failed: [], links: 1 });
      const back = (await app.vault.read(BEN, { order: 'asc' }, ben.opener)).entries;
      expect(back.map(kept)).toEqual(original.map(kept));
      // The link joins the same two memories under their new ids.
      const hike = back.find((e) => e.category === 'CHRONOLOGICAL')!;
      const secret = back.find((e) => e.category === 'SECRET')!;
      expect(hike.related).toEqual([secret.id]);
      expect(secret.related).toEqual([hike.id]);
      // Sealed again at its level in Ben's vault: the secret is not plaintext on disk.
      const onDisk = await readFile(join(D, 'users', BEN, `SECRET.${BEN}.md`), 'utf8');
      expect(onDisk).not.toContain(SECRET_TEXT);

      // Importing the same export again stores nothing twice.
      expect(await app.exports.import(ben, zip)).toMatchObject({ imported: 0, skipped: 5 });
      const audit = await app.audit.list(BEN);
      expect(audit.filter((r) => r.action === 'import')).toHaveLength(2);
    },
  );

  it('holds only the levels the session unlocked, and says how many were left out', async () => {
    await person(ANA);
    await seed(ANA);
    const { manifest, stream } = await app.exports.export(await principalFor(ANA, [1]), 'json');
    expect(manifest).toMatchObject({ levels: [1], locked: 3, counts: { CHRONOLOGICAL: 1, GENERAL: 1, SECRET: 0 } });
    const zip = await buffer(stream as Readable);
    expect(zip.includes(Buffer.from('Salary'))).toBe(false);
    const members = await unzip(zip);
    const text = [...members.values()].join('\n');
    for (const hidden of ['Salary', SECRET_TEXT, 'seed words']) expect(text).not.toContain(hidden);
    expect(JSON.parse(members.get('memories.json')!)).toHaveLength(2);
    const record = (await app.audit.list(ANA)).find((r) => r.action === 'export');
    expect(record).toMatchObject({ result: 'success', level: 1 });
  });

  it('refuses what is not an intact export of a known version, before storing anything', async () => {
    await person(BEN);
    const ben = await principalFor(BEN, [1, 2]);
    const manifest: ExportManifest = {
      format: 'memvault-export',
      version: 1,
      exportedAt: '2026-11-30T00:00:00.000Z',
      userId: ANA,
      layout: 'json',
      levels: [1],
      locked: 0,
      damaged: 0,
      counts: { CHRONOLOGICAL: 0, GENERAL: 1, CONFIDENTIAL: 0, SECRET: 0, ULTRASECRET: 0 },
    };
    const good = {
      id: '01JDQ7Z3N5X8Y2W4V6T8R0P2M4',
      date: '2026-11-26T18:04:49.000Z',
      eventDate: null,
      category: 'GENERAL',
      tags: [],
      content: 'fine',
      analysis: '',
      confidence: 1,
      related: [],
      emotionalContext: '',
      channel: 'cli',
      externalId: null,
    };
    const cases: Array<[string, Buffer, string]> = [
      ['garbage', Buffer.from('PK\u0003\u0004 not really a zip'), 'not_an_export'],
      ['no manifest', await zipOf({ 'memories.json': '[]' }), 'not_an_export'],
      ['a foreign member', await zipOf({ 'export.json': JSON.stringify(manifest), 'run-me.sh': 'x' }), 'not_an_export'],
      ['a newer version', await zipOf({ 'export.json': JSON.stringify({ ...manifest, version: 2 }) }), 'newer_format'],
      ['a bad manifest', await zipOf({ 'export.json': JSON.stringify({ ...manifest, userId: '../x' }) }), 'bad_entry'],
      [
        'a bad entry',
        await zipOf({
          'export.json': JSON.stringify(manifest),
          'memories.json': JSON.stringify([{ ...good, category: 'NOPE' }]),
        }),
        'bad_entry',
      ],
      [
        'an edited Markdown entry',
        await zipOf({
          'export.json': JSON.stringify({ ...manifest, layout: 'markdown' }),
          'GENERAL.md': `## Memory Entry #${good.id}\n**Date**: ${good.date}\n**Category**: GENERAL\n**Security Level**: 1 (Standard)\n**Tags**:\n\n### Content\nedited\n\n### AI Analysis\n\n\n### Metadata\n- **Confidence**: 1\n- **Related Memories**: none\n- **Emotional Context**: \n- **Event Date**: none\n- **Channel**: cli\n- **External ID**: none\n- **Checksum**: 0000000000000000\n---\n\n`,
        }),
        'bad_entry',
      ],
    ];
    for (const [what, zip, problem] of cases) {
      await expect(app.exports.import(ben, zip), what).rejects.toMatchObject({
        code: 'VALIDATION_ERROR',
        details: { problem },
      });
    }
    expect((await app.vault.read(BEN, {}, ben.opener)).entries).toEqual([]);
    // An entry the vault refuses (empty content) is reported; the good one beside it is stored.
    const mixed = await zipOf({
      'export.json': JSON.stringify(manifest),
      'memories.json': JSON.stringify([good, { ...good, id: '01JDQ7Z3N5X8Y2W4V6T8R0P2M5', content: '   ' }]),
    });
    const report = await app.exports.import(ben, mixed);
    expect(report).toMatchObject({
      imported: 1,
      failed: [{ id: '01JDQ7Z3N5X8Y2W4V6T8R0P2M5', code: 'VALIDATION_ERROR' }],
    });
  });
});

describe('export codec round trip (property)', () => {
  const ULID = fc
    .array(fc.constantFrom(...'0123456789ABCDEFGHJKMNPQRSTVWXYZ'), { minLength: 25, maxLength: 25 })
    .map((chars) => `0${chars.join('')}`);
  const iso = fc
    .integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2099, 0, 1) })
    .map((ms) => new Date(ms).toISOString());
  const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 200 }).filter((s) => s.trim().length > 0);
  const entry = fc
    .record({
      id: ULID,
      date: iso,
      eventDate: fc.option(iso, { nil: null }),
      category: fc.constantFrom(...CATEGORIES),
      tags: fc.uniqueArray(fc.constantFrom('hiking', 'Sara', 'work', 'café'), { maxLength: 3 }),
      content: text,
      analysis: fc.string({ maxLength: 80 }),
      confidence: fc.double({ min: 0, max: 1, noNaN: true }),
      emotionalContext: fc.string({ maxLength: 30 }).filter((s) => !/[\n\r]/.test(s)),
      channel: fc.constantFrom('cli', 'web', 'telegram', 'import'),
      externalId: fc.option(
        fc.string({ minLength: 1, maxLength: 30 }).filter((s) => !/[\n\r]/.test(s)),
        { nil: null },
      ),
    })
    .map((e) =>
      withChecksum({
        ...e,
        userId: ANA,
        level: levelOf(e.category as Category),
        related: [],
        channel: e.channel as 'cli',
      }),
    );

  it.each(['markdown', 'json'] as const)('%s: read(write(entries)) gives back every field', async (layout) => {
    const codec = createZipExportCodec();
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(entry, { selector: (e) => e.id, maxLength: 12 }), async (entries) => {
        const manifest: ExportManifest = {
          format: 'memvault-export',
          version: 1,
          exportedAt: '2026-11-30T00:00:00.000Z',
          userId: ANA,
          layout,
          levels: [1, 2, 3, 4],
          locked: 0,
          damaged: 0,
          counts: { CHRONOLOGICAL: 0, GENERAL: 0, CONFIDENTIAL: 0, SECRET: 0, ULTRASECRET: 0 },
        };
        const back = await codec.read(await buffer(codec.write(manifest, entries) as Readable));
        const strip = ({ userId: _u, checksum: _c, level: _l, ...rest }: MemoryEntry) => rest;
        const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
        expect([...back.entries].sort(byId)).toEqual(entries.map(strip).sort(byId));
        expect(back.manifest).toEqual(manifest);
      }),
      { numRuns: 40 },
    );
  });
});

describe('memvault export / import (CLI) and GET /v1/export', () => {
  it('exports what the password unlocks to a new 0600 zip, never over an existing file, and imports it back', async () => {
    await person(ANA);
    await person(BEN);
    await seed(ANA);
    await app.close();
    const env = { MEMVAULT_MASTER_KEY: KEY };
    const run = (args: string[], stdin?: string) =>
      memvault([...args, '--data-dir', D], { env, ...(stdin ? { stdin } : {}) });
    const out = join(root, 'ana.zip');
    const made = await run(['export', '--user', ANA, '--out', out, '--password-stdin', '--json'], `${PASSWORD}\n`);
    expect(made.code, made.stderr).toBe(0);
    expect(made.json()).toMatchObject({ file: out, manifest: { levels: [1, 2], locked: 2 } });
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    const again = await run(['export', '--user', ANA, '--out', out]);
    expect(again.code).toBe(73);
    expect((await run(['export', '--user', ANA, '--format', 'pdf', '--out', out])).code).toBe(65);

    const imported = await run(['import', '--user', BEN, out, '--json']);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.json()).toMatchObject({ format: 'memvault', imported: 3, skipped: 0 });
    const listed = await run(['list', '--user', BEN, '--json', '--password-stdin'], `${PASSWORD}\n`);
    expect(
      listed
        .json<{ entries: Array<{ category: string }> }>()
        .entries.map((e) => e.category)
        .sort(),
    ).toEqual(['CHRONOLOGICAL', 'CONFIDENTIAL', 'GENERAL']);
    app = await openApp(D);
  });

  it('GET /v1/export streams the zip of what the session unlocked', async () => {
    const { startRealServer } = await import('../server/real.js');
    const server = await startRealServer();
    try {
      const signUp = await fetch(`${server.url}/v1/auth/sign-up`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ phone: ANA, password: PASSWORD, session: 'bearer' }),
      });
      expect(signUp.status, await signUp.clone().text()).toBe(201);
      const { token } = (await signUp.json()) as { token: string };
      const auth = { authorization: `Bearer ${token}` };
      for (const text of ['Went kayaking with Odette yesterday', 'My gym locker code is 5521']) {
        const r = await fetch(`${server.url}/v1/memories`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify({ text }),
        });
        expect(r.status).toBe(201);
      }
      const res = await fetch(`${server.url}/v1/export?format=json`, { headers: auth });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/zip');
      expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="memvault-export-14155550134-/);
      const members = await unzip(Buffer.from(await res.arrayBuffer()));
      const entries = JSON.parse(members.get('memories.json')!) as Array<{ content: string }>;
      // The locker code is sealed above level 2, which a password session has not unlocked: left out, and said so.
      expect(entries.map((e) => e.content)).toEqual(['Went kayaking with Odette yesterday']);
      expect(res.headers.get('x-memvault-levels')).toBe('1,2');
      expect(res.headers.get('x-memvault-locked')).toBe('1');
      expect((await fetch(`${server.url}/v1/export?format=pdf`, { headers: auth })).status).toBe(422);
      expect((await fetch(`${server.url}/v1/export`)).status).toBe(401);
    } finally {
      await server.close();
    }
  });
});
