import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LINK_INDEX_DOCUMENT, SharedLinkIndex } from '../../src/channels/link-index.js';
import { NotificationStore } from '../../src/channels/notifications.js';
import { OnboardingStore } from '../../src/channels/onboarding.js';
import { ChannelRegistry } from '../../src/channels/registry.js';
import { PersonalModelStore } from '../../src/classify/personal-model.js';
import type { UserId } from '../../src/core/entry.js';
import { PgDatabase } from '../../src/pg/database.js';
import { PgDocuments } from '../../src/pg/pg-documents.js';
import type { DocumentStore } from '../../src/ports/documents.js';
import { FileDocuments } from '../../src/security/file-documents.js';
import { freshDatabase, planPgSuite, TEST_DATABASE_URL } from './pg-test-db.js';

const plan = await planPgSuite();
if (plan.action === 'fail') throw new Error(plan.message);
if (plan.action === 'skip') console.warn(plan.line);

const ALICE = '+14155550134' as UserId;
const AT = new Date('2026-11-30T12:00:00Z');
const correction = (text: string, to: 'GENERAL' | 'CONFIDENTIAL') => ({
  userId: ALICE,
  entryId: '01JDEMO',
  text,
  from: (to === 'GENERAL' ? 'CONFIDENTIAL' : 'GENERAL') as 'GENERAL' | 'CONFIDENTIAL',
  to,
  at: AT.toISOString(),
});

/**
 * The channel documents (links, preferences, onboarding, notifications) and the personal model over two
 * document stores that share their state: two PostgreSQL pools on one schema (two servers), and, for the same
 * assertions in file mode, two FileDocuments over one data dir (the server and the CLI on one host).
 */
function suite(name: string, open: () => Promise<{ a: DocumentStore; b: DocumentStore; close(): Promise<void> }>) {
  describe(name, () => {
    let stores: Awaited<ReturnType<typeof open>>;
    beforeEach(async () => {
      stores = await open();
    });
    afterEach(() => stores.close());

    it('a chat linked through server A is seen, stopped and unlinked through server B', async () => {
      const [a, b] = [new ChannelRegistry(stores.a), new ChannelRegistry(stores.b)];
      await a.link(ALICE, 'telegram', '123456789', true, AT);
      expect((await b.get(ALICE)).links).toMatchObject([{ kind: 'telegram', address: '123456789', verified: true }]);
      await b.setStopped(ALICE, 'telegram', true);
      expect((await a.get(ALICE)).links[0]?.stopped).toBe(true);
      expect(await b.unlink(ALICE, 'telegram')).toMatchObject({ address: '123456789' });
      expect((await a.get(ALICE)).links).toEqual([]);
    });

    it('changes made at once through both servers are all kept (no lost update)', async () => {
      const [a, b] = [new ChannelRegistry(stores.a), new ChannelRegistry(stores.b)];
      const [na, nb] = [new NotificationStore(stores.a), new NotificationStore(stores.b)];
      await Promise.all([
        a.link(ALICE, 'telegram', '42', true, AT),
        b.link(ALICE, 'sms', '+14155550134', true, AT),
        a.updateSettings(ALICE, { locale: 'de' }),
        b.updateSettings(ALICE, { level2: ['telegram'] }),
        ...Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? na : nb).add(ALICE, { purpose: 'notice', subject: `n${i}`, text: 'hello' }, AT),
        ),
      ]);
      const doc = await b.get(ALICE);
      expect(doc.links.map((l) => l.kind).sort()).toEqual(['sms', 'telegram']);
      expect(doc.settings).toMatchObject({ locale: 'de', level2: ['telegram'] });
      const listed = await na.list(ALICE, 100);
      expect(listed.items.map((i) => i.subject).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `n${i}`).sort());
      expect(listed.unread).toBe(20);
      await nb.markRead(ALICE);
      expect((await na.list(ALICE)).unread).toBe(0);
    });

    it('a welcome is claimed once per channel across servers, and onboarding steps are shared', async () => {
      const [a, b] = [new OnboardingStore(stores.a), new OnboardingStore(stores.b)];
      const claims = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).claimWelcome(ALICE, 'sms')));
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect(await a.mark(ALICE, 'link_channel', AT)).toBe(true);
      expect(await b.mark(ALICE, 'link_channel', AT)).toBe(false);
      expect((await b.view(ALICE)).completed).toBe(1);
    });

    it('a damaged document is DATA_CORRUPTION, not an empty one that forgets a link', async () => {
      await stores.a.write(ALICE, 'CHANNELS.json', '{"links": [{"kind": "pager"}]}\n');
      await expect(new ChannelRegistry(stores.b).get(ALICE)).rejects.toMatchObject({ code: 'DATA_CORRUPTION' });
      await stores.a.write(ALICE, 'ONBOARDING.json', '{not json');
      await expect(new OnboardingStore(stores.b).view(ALICE)).rejects.toMatchObject({ code: 'DATA_CORRUPTION' });
    });

    it('the shared link index: a token is used up once across servers, expires, and is replaced by a new one', async () => {
      const [a, b] = [new SharedLinkIndex(stores.a), new SharedLinkIndex(stores.b)];
      const now = AT.getTime();
      const first = await a.issueLinkToken(ALICE, 'telegram', now);
      const second = await b.issueLinkToken(ALICE, 'telegram', now);
      // The earlier token of the same person and kind stops working.
      expect(await a.takeLinkToken(first.token, 'telegram', now)).toBeNull();
      const takers = await Promise.all(
        Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).takeLinkToken(second.token, 'telegram', now)),
      );
      expect(takers.filter((t) => t === ALICE)).toHaveLength(1);
      const late = await a.issueLinkToken(ALICE, 'telegram', now);
      expect(await b.takeLinkToken(late.token, 'telegram', late.expires)).toBeNull();
      expect(await b.takeLinkToken('not-a-token-anyone-issued-000000', 'telegram', now)).toBeNull();
      await a.setPendingLink('telegram', '99', ALICE, now + 1000);
      expect(await b.takePendingLink('telegram', '99', now)).toBe(ALICE);
      expect(await a.takePendingLink('telegram', '99', now)).toBeNull();
      await Promise.all([a.setLink('telegram', '1', ALICE), b.setLink('telegram', '2', ALICE)]);
      expect([await b.personOf('telegram', '1'), await a.personOf('telegram', '2')]).toEqual([ALICE, ALICE]);
      await b.removeLink('telegram', '1');
      expect(await a.personOf('telegram', '1')).toBeNull();
      await stores.a.write(null, LINK_INDEX_DOCUMENT, '{"links": {"telegram 3": "not a number"}}');
      await expect(b.personOf('telegram', '3')).rejects.toMatchObject({ code: 'DATA_CORRUPTION' });
    });

    it('a correction learnt on one server steers the personal model on the other; none is lost', async () => {
      const a = new PersonalModelStore({ documents: stores.a });
      const b = new PersonalModelStore({ documents: stores.b });
      const text = 'dinner plans with the book club on friday';
      expect(await b.predict(ALICE, text)).toBeUndefined();
      await a.learn(correction(text, 'CONFIDENTIAL'));
      expect((await b.predict(ALICE, text))?.category).toBe('CONFIDENTIAL');
      await Promise.all(
        Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).learn(correction(`note ${i} ${text}`, 'GENERAL'))),
      );
      const stored = JSON.parse((await stores.b.read(ALICE, `MODEL.${ALICE}.json`))!.text);
      expect(stored.examples).toHaveLength(9);
      expect(stored.corrected).toMatchObject({ GENERAL: 1, CONFIDENTIAL: 8 });
    });
  });
}

describe.skipIf(plan.action === 'skip')('channel documents and personal models on PostgreSQL', () => {
  suite('two servers, one database', async () => {
    const fx = await freshDatabase();
    const other = await PgDatabase.open({ url: TEST_DATABASE_URL, schema: fx.schema });
    return {
      a: new PgDocuments({ db: fx.db }),
      b: new PgDocuments({ db: other }),
      close: async () => {
        await other.close();
        await fx.drop();
      },
    };
  });
});

suite('channel documents and personal models on files (two processes, one data dir)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'memvault-channel-docs-'));
  return {
    a: new FileDocuments(dir),
    b: new FileDocuments(dir),
    close: async () => rmSync(dir, { recursive: true, force: true }),
  };
});
