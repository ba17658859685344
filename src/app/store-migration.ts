import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CATEGORIES, type Category } from '../core/category.js';
import type { UserId } from '../core/entry.js';
import { MemvaultError, validationError } from '../core/errors.js';
import { isUserId } from '../core/e164.js';
import { writeFileAtomic } from '../infra/atomic-file.js';
import type { PgDatabase } from '../pg/database.js';
import { PgDocuments } from '../pg/pg-documents.js';
import { PgVault } from '../pg/pg-vault.js';
import type { DocumentOwner, DocumentStore } from '../ports/documents.js';
import { FileDocuments } from '../security/file-documents.js';
import { splitUnits } from '../vault/vault-file.js';

/** What `memvault migrate` did, per person and in total; the checksums are SHA-256 over every file compared. */
export interface StoreMigrationReport {
  readonly direction: 'to-postgres' | 'to-files';
  readonly people: number;
  /** People copied by this run. */
  readonly copied: number;
  /** People found already copied and identical (a run resumed after a crash, or run twice). */
  readonly alreadyThere: number;
  readonly entries: number;
  readonly auditRecords: number;
  /** Keyrings, sign-in factors, recovery kits and the token store copied by this run (identical ones are skipped). */
  readonly documents: number;
  /** SHA-256 over every person's files, in order, as the source holds them; equal on both sides. */
  readonly checksum: string;
}

const FILES = (userId: UserId) => [`USER.${userId}.md`, ...CATEGORIES.map((c) => `${c}.${userId}.md`)];
/**
 * A person's documents (src/ports/documents.ts): sign-in state and settings, channel links and preferences,
 * onboarding, in-app notifications and the personal classifier model; and the instance's.
 */
const DOCUMENTS = (userId: UserId) => [
  `KEYRING.${userId}.json`,
  `KEYRING.${userId}.json.previous`,
  `KEYRING.${userId}.json.generation`,
  `AUTH.${userId}.json`,
  `RECOVERY.${userId}.json`,
  `SETTINGS.${userId}.json`,
  'CHANNELS.json',
  'ONBOARDING.json',
  'NOTIFICATIONS.json',
  `MODEL.${userId}.json`,
];
const INSTANCE_DOCUMENTS = ['tokens.json'];

/**
 * Copies a file-mode data dir into PostgreSQL (`to-postgres`) or back (`to-files`). Each person is copied in one
 * transaction (into the database) or file by file with atomic renames (into files), and checked afterwards by
 * entry count and a checksum of every byte; a person already at the destination with identical bytes is skipped,
 * so a run killed midway is finished by running it again. A person at the destination whose bytes differ is
 * CONFLICT: nothing is ever overwritten. Keyrings, sign-in factors, recovery kits and the token store are copied
 * too, each byte for byte (they are sealed and MAC'd under the master key, which both sides share), also for a
 * person whose memories are already there (a database filled before they moved into it). So are channel links,
 * onboarding, notifications and personal models. Search indexes stay in the data dir: they are caches.
 */
export async function migrateStore(
  direction: 'to-postgres' | 'to-files',
  deps: { dataDir: string; db: PgDatabase },
): Promise<StoreMigrationReport> {
  const vault = new PgVault({ db: deps.db });
  const fileDocs = new FileDocuments(deps.dataDir);
  const rowDocs = new PgDocuments({ db: deps.db });
  const [from, to] = direction === 'to-postgres' ? [fileDocs, rowDocs] : [rowDocs, fileDocs];
  let documents = 0;
  const usersDir = join(deps.dataDir, 'users');
  const people =
    direction === 'to-postgres'
      ? (await readdirOrEmpty(usersDir)).filter((n): n is UserId => isUserId(n)).sort()
      : await vault.listUsers();
  let copied = 0;
  let alreadyThere = 0;
  let entries = 0;
  let auditRecords = 0;
  const total = createHash('sha256');
  for (const userId of people) {
    const folder = join(usersDir, userId);
    const fromFiles = async () => {
      const files = new Map<string, string>();
      for (const name of FILES(userId)) {
        const text = await readOptional(join(folder, name));
        if (text !== null) files.set(name, text);
      }
      return files;
    };
    const fromDb = async () => ((await vault.hasUser(userId)) ? vault.exportFiles(userId) : null);
    const source = direction === 'to-postgres' ? await fromFiles() : await fromDb();
    if (source === null || !source.has(`USER.${userId}.md`)) continue; // an unfinished sign-up: no profile yet
    const target = direction === 'to-postgres' ? await fromDb() : await fromFiles();
    const digest = digestOf(userId, source);
    total.update(digest);
    const units = unitsOf(userId, source);
    entries += new Set(units.map((u) => u.id)).size; // memories; units.length counts their revisions too
    const audit = await auditOf(direction, userId, folder, deps.db);
    auditRecords += audit.lines.length;
    if (target !== null && target.size > 0) {
      if (target.has(`USER.${userId}.md`) && digestOf(userId, target) === digest) {
        alreadyThere++;
        documents += await copyDocuments(from, to, userId, DOCUMENTS(userId));
        continue;
      }
      if (direction === 'to-postgres' || target.has(`USER.${userId}.md`)) {
        throw new MemvaultError(
          'CONFLICT',
          `${userId} already exists at the destination with other memories; nothing of theirs was overwritten. ` +
            'Remove them there (or migrate into an empty database or data dir) and run the migration again.',
          { details: { userId } },
        );
      }
    }
    if (direction === 'to-postgres') {
      await deps.db.atomically('copy a person into the database', async () => {
        await vault.importFiles(userId, source.get(`USER.${userId}.md`)!, units);
        await deps.db.tx('copy the audit log', async (client) => {
          for (const [i, line] of audit.lines.entries()) {
            await client.query('INSERT INTO mv_audit (user_id, seq, line) VALUES ($1, $2, $3)', [userId, i + 1, line]);
          }
          if (audit.head) {
            await client.query('INSERT INTO mv_audit_head (user_id, seq, hash, mac) VALUES ($1, $2, $3, $4)', [
              userId,
              audit.head.seq,
              audit.head.hash,
              audit.head.mac,
            ]);
          }
          const insights = await readOptional(join(folder, `INSIGHTS.${userId}.sealed`));
          if (insights !== null) {
            await client.query('INSERT INTO mv_insights (user_id, payload) VALUES ($1, $2)', [userId, insights]);
          }
        });
      });
      const check = await vault.exportFiles(userId);
      if (digestOf(userId, check) !== digest) throw mismatch(userId);
    } else {
      await mkdir(folder, { recursive: true, mode: 0o700 });
      // The profile last: its presence is what makes the person exist in a file vault.
      for (const name of [...FILES(userId).slice(1), FILES(userId)[0]!]) {
        await writeFileAtomic(join(folder, name), source.get(name)!, { mode: 0o600 });
      }
      if (audit.lines.length > 0) {
        await writeFileAtomic(join(folder, `AUDIT.${userId}.log`), audit.lines.map((l) => `${l}\n`).join(''), {
          mode: 0o600,
        });
      }
      if (audit.head) {
        await writeFileAtomic(join(folder, `AUDIT.${userId}.head`), `${JSON.stringify(audit.head)}\n`, { mode: 0o600 });
      }
      const insights = await deps.db.query<{ payload: string }>(
        'read the insights',
        'SELECT payload FROM mv_insights WHERE user_id = $1',
        [userId],
      );
      if (insights[0]) {
        await writeFileAtomic(join(folder, `INSIGHTS.${userId}.sealed`), insights[0].payload, { mode: 0o600 });
      }
      if (digestOf(userId, await fromFiles()) !== digest) throw mismatch(userId);
    }
    // After the memories: a run killed in between finds the person there and copies these then.
    documents += await copyDocuments(from, to, userId, DOCUMENTS(userId));
    copied++;
  }
  documents += await copyDocuments(from, to, null, INSTANCE_DOCUMENTS);
  return {
    direction,
    people: people.length,
    copied,
    alreadyThere,
    entries,
    auditRecords,
    documents,
    checksum: total.digest('hex'),
  };
}

/**
 * Copies the documents the destination lacks, checking each afterwards byte for byte. One it holds with the same
 * text is left alone; one it holds with other text is CONFLICT (never overwritten). Returns how many were copied.
 */
async function copyDocuments(
  from: DocumentStore,
  to: DocumentStore,
  owner: DocumentOwner,
  names: readonly string[],
): Promise<number> {
  let copied = 0;
  for (const name of names) {
    const source = await from.read(owner, name);
    if (source === undefined) continue;
    const there = await to.read(owner, name);
    if (there?.text === source.text) continue;
    if (there !== undefined || !(await to.write(owner, name, source.text, { exclusive: true }))) {
      throw new MemvaultError(
        'CONFLICT',
        `${to.describe(owner, name)} already exists at the destination with other content; nothing was overwritten. ` +
          'Remove it there (or migrate into an empty database or data dir) and run the migration again.',
        { details: { name } },
      );
    }
    if ((await to.read(owner, name))?.text !== source.text) {
      throw new MemvaultError(
        'DATA_CORRUPTION',
        `The copy of ${name} does not match its source byte for byte. Nothing was removed from the source; run the ` +
          'migration again, and report it if it repeats.',
        { details: { name } },
      );
    }
    copied++;
  }
  return copied;
}

function digestOf(userId: UserId, files: ReadonlyMap<string, string>): string {
  const hash = createHash('sha256');
  for (const name of FILES(userId)) hash.update(`${name}\0${files.get(name) ?? ''}\0`);
  return hash.digest('hex');
}

function unitsOf(
  userId: UserId,
  files: ReadonlyMap<string, string>,
): { category: Category; unit: string; id: string }[] {
  // Every block, history included (revisions, versions, trash): the database keeps them as rows in file order.
  const units: { category: Category; unit: string; id: string }[] = [];
  for (const category of CATEGORIES) {
    const text = files.get(`${category}.${userId}.md`);
    if (text === undefined) continue;
    for (const unit of splitUnits(text).units) {
      if (unit.kind !== 'block') {
        throw new MemvaultError(
          'DATA_CORRUPTION',
          `${category}.${userId}.md holds a damaged entry (${unit.reason}). Run memvault check and restore it ` +
            'from a backup before migrating: the database stores only whole entries.',
          { details: { userId, category } },
        );
      }
      units.push({ category, unit: unit.text, id: unit.id });
    }
  }
  return units;
}

async function auditOf(
  direction: 'to-postgres' | 'to-files',
  userId: UserId,
  folder: string,
  db: PgDatabase,
): Promise<{ lines: string[]; head: { seq: number; hash: string; mac: string } | null }> {
  if (direction === 'to-postgres') {
    const log = await readOptional(join(folder, `AUDIT.${userId}.log`));
    const head = await readOptional(join(folder, `AUDIT.${userId}.head`));
    // Only complete lines: a torn final fragment was never acknowledged.
    const lines = (log ?? '').split('\n').slice(0, -1);
    return { lines, head: head === null ? null : (JSON.parse(head) as { seq: number; hash: string; mac: string }) };
  }
  const lines = await db.query<{ line: string }>(
    'read the audit log',
    'SELECT line FROM mv_audit WHERE user_id = $1 ORDER BY seq',
    [userId],
  );
  const head = await db.query<{ seq: string; hash: string; mac: string }>(
    'read the audit log',
    'SELECT seq, hash, mac FROM mv_audit_head WHERE user_id = $1',
    [userId],
  );
  const h = head[0];
  return {
    lines: lines.map((r) => r.line),
    head: h ? { seq: Number(h.seq), hash: h.hash, mac: h.mac } : null,
  };
}

function mismatch(userId: UserId): MemvaultError {
  return new MemvaultError(
    'DATA_CORRUPTION',
    `The copy of ${userId} does not match its source byte for byte. Nothing was removed from the source; run the ` +
      'migration again, and report it if it repeats.',
    { details: { userId } },
  );
}

async function readOptional(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw validationError(`Cannot read ${dir}.`, { dir });
  }
}
