import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Memvault } from '../../src/app/container.js';
import type { Principal } from '../../src/services/types.js';
import { ANA, addEntries, openApp } from './fixture.js';

let root: string;
let D: string;
let app: Memvault;

/** Flips one character inside the sealed payload of entry `id`, so it no longer opens. */
function damage(category: string, id: string) {
  const path = join(D, 'users', ANA, `${category}.${ANA}.md`);
  const text = readFileSync(path, 'utf8');
  const at = text.indexOf('mv1.', text.indexOf(`## Memory Entry #${id}`)) + 20;
  writeFileSync(path, `${text.slice(0, at)}${text[at] === 'A' ? 'B' : 'A'}${text.slice(at + 1)}`);
}

async function principal(): Promise<Principal> {
  return { userId: ANA, opener: await app.operatorOpener(ANA), meta: { channel: 'cli' } };
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'memvault-heal-'));
  D = join(root, 'data');
  app = await openApp(D);
  await app.memory.signUp({ phone: ANA });
  await addEntries(app, ANA, 3, 'GENERAL');
});
afterEach(async () => {
  await app.close();
  await rm(root, { recursive: true, force: true });
});

describe('automatic recovery on read', () => {
  it('a list that meets a damaged entry gets it back from the newest backup holding it, says so, and audits it', async () => {
    const me = await principal();
    const before = (await app.memory.list(me, { order: 'asc' })).entries;
    const target = before[1]!;
    await app.backups.create(ANA);
    damage('GENERAL', target.id);

    const listed = await app.memory.list(me, { order: 'asc' });
    expect(listed.damaged).toEqual([]);
    expect(listed.recovered).toEqual([target.id]);
    expect(listed.entries.map((e) => e.content)).toEqual(before.map((e) => e.content));
    expect((await app.audit.list(ANA, { limit: 5 })).map((r) => r.action)).toContain('read.recover');
    // Healed on disk, not just in the answer.
    expect((await app.vault.check(ANA, me.opener)).damaged).toEqual([]);
  });

  it('a get of a damaged entry is answered with the recovered copy', async () => {
    const me = await principal();
    const target = (await app.memory.list(me, {})).entries[0]!;
    await app.backups.create(ANA);
    damage('GENERAL', target.id);
    expect((await app.memory.get(me, target.id)).content).toBe(target.content);
  });

  it('without an intact copy the read reports the damage as before and changes nothing', async () => {
    const me = await principal();
    await app.backups.create(ANA);
    const late = await app.vault.append(ANA, {
      date: '2026-03-01T00:00:00.000Z',
      category: 'GENERAL',
      content: 'after the backup',
      channel: 'cli',
    });
    damage('GENERAL', late.id);
    const file = readFileSync(join(D, 'users', ANA, `GENERAL.${ANA}.md`));
    const listed = await app.memory.list(me, {});
    expect(listed.damaged.map((d) => d.id)).toEqual([late.id]);
    expect(listed.recovered).toBeUndefined();
    await expect(app.memory.get(me, late.id)).rejects.toMatchObject({ code: 'DATA_CORRUPTION' });
    expect(readFileSync(join(D, 'users', ANA, `GENERAL.${ANA}.md`))).toEqual(file);
    // A backup made since holds only the damaged bytes: tried, nothing intact, the damage still reported.
    await app.backups.create(ANA);
    expect((await app.memory.list(me, {})).damaged.map((d) => d.id)).toEqual([late.id]);
  });
});
