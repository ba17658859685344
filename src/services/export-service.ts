import { createHash } from 'node:crypto';
import { CATEGORIES, type Category, type SecurityLevel } from '../core/category.js';
import { isMemvaultError, MemvaultError } from '../core/errors.js';
import { type Clock, systemClock } from '../ports/clock.js';
import type { ExportCodec, ExportedEntry, ExportFormat, ExportManifest } from '../ports/export.js';
import { type Logger, silentLogger } from '../ports/logger.js';
import type { AuditLog } from '../ports/security.js';
import type { Vault } from '../ports/vault.js';
import type { Principal } from './types.js';

export interface ExportServiceDeps {
  readonly vault: Vault;
  readonly audit: AuditLog;
  readonly codec: ExportCodec;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

export interface ExportResult {
  readonly manifest: ExportManifest;
  /** The zip, produced while it is read. */
  readonly stream: NodeJS.ReadableStream;
}

export interface ImportReport {
  /** Whose export it was (it may be imported into another person's vault). */
  readonly from: string;
  readonly imported: number;
  /** Entries identical (date, category, content) to one already readable in the vault. */
  readonly skipped: number;
  /** Entries the vault refused (bad field), each with its exported id and why. */
  readonly failed: ReadonlyArray<{ readonly id: string; readonly code: string; readonly message: string }>;
  /** Links between imported memories restored ("Related Memories"). */
  readonly links: number;
}

export interface ExportService {
  /** The memories `principal` has unlocked, as a zip of plain Markdown or JSON (docs/backup.md). */
  export(principal: Principal, format: ExportFormat): Promise<ExportResult>;
  /** Reads an export back into `principal`'s vault; sealed categories are sealed again at their level. */
  import(principal: Principal, zip: Uint8Array): Promise<ImportReport>;
}

const sameMemory = (e: { date: string; category: Category; content: string }) =>
  createHash('sha256')
    .update(JSON.stringify([e.date, e.category, e.content]))
    .digest('base64url');

/**
 * Export and import of a person's own memories in plain text (issue 12). Unlike a backup, an export holds no
 * sealed level the session did not open, and it is plaintext: it is for taking one's data elsewhere.
 */
export function createExportService(deps: ExportServiceDeps): ExportService {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? silentLogger;
  const { vault, audit, codec } = deps;

  const record = async (principal: Principal, action: string, level?: SecurityLevel) => {
    const { ip, userAgent, deviceId } = principal.meta;
    await audit.append(principal.userId, {
      action,
      result: 'success',
      ...(level ? { level } : {}),
      ...(ip ? { ip } : {}),
      ...(userAgent ? { userAgent } : {}),
      ...(deviceId ? { device: deviceId } : {}),
      ...(principal.sessionId ? { session: principal.sessionId } : {}),
    });
  };

  return {
    async export(principal, format) {
      const levels = ([1, 2, 3, 4] as const).filter((l) => principal.opener.canOpen(l));
      const read = await vault.read(principal.userId, { order: 'asc' }, principal.opener);
      const counts = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>;
      for (const entry of read.entries) counts[entry.category]++;
      const manifest: ExportManifest = {
        format: 'memvault-export',
        version: 1,
        exportedAt: clock.now().toISOString(),
        userId: principal.userId,
        layout: format,
        levels,
        locked: read.locked,
        damaged: read.damaged.length,
        counts,
      };
      // Recorded before a byte leaves: the highest level read is what the record says was taken out.
      await record(principal, 'export', levels[levels.length - 1]);
      logger.info(
        { userId: principal.userId, format, entries: read.entries.length, locked: read.locked },
        'export written',
      );
      return { manifest, stream: codec.write(manifest, read.entries) };
    },

    async import(principal, zip) {
      const { manifest, entries } = await codec.read(zip);
      // What is already there (and readable) is not stored twice, so an import can be repeated after a failure.
      const present = new Set<string>();
      const existing = await vault.read(principal.userId, {}, principal.opener);
      for (const entry of existing.entries) present.add(sameMemory(entry));
      const newIds = new Map<string, string>();
      const failed: Array<{ id: string; code: string; message: string }> = [];
      let skipped = 0;
      for (const entry of entries) {
        if (present.has(sameMemory(entry))) {
          skipped++;
          continue;
        }
        try {
          const stored = await vault.append(principal.userId, newEntry(entry));
          newIds.set(entry.id, stored.id);
          present.add(sameMemory(entry));
        } catch (error) {
          if (!isMemvaultError(error, 'VALIDATION_ERROR')) throw error;
          failed.push({ id: entry.id, code: error.code, message: error.message });
        }
      }
      const links = await relink(principal, entries, newIds);
      await record(principal, 'import');
      logger.info(
        { userId: principal.userId, imported: newIds.size, skipped, failed: failed.length },
        'export imported',
      );
      return { from: manifest.userId, imported: newIds.size, skipped, failed, links };
    },
  };

  /** Links each imported pair the export linked, both ends under their new ids; links to others are dropped. */
  async function relink(principal: Principal, entries: readonly ExportedEntry[], ids: Map<string, string>) {
    let links = 0;
    const done = new Set<string>();
    for (const entry of entries) {
      const a = ids.get(entry.id);
      if (a === undefined) continue;
      for (const other of entry.related) {
        const b = ids.get(other);
        if (b === undefined || a === b) continue;
        const key = a < b ? `${a}|${b}` : `${b}|${a}`;
        if (done.has(key)) continue;
        done.add(key);
        try {
          await vault.link(principal.userId, a, b, principal.opener);
          links++;
        } catch (error) {
          // A link between levels this session cannot open is not re-made; the memories themselves are stored.
          if (!(error instanceof MemvaultError) || error.code !== 'SECURITY_ERROR') throw error;
        }
      }
    }
    return links;
  }
}

function newEntry(entry: ExportedEntry) {
  return {
    date: entry.date,
    eventDate: entry.eventDate,
    category: entry.category,
    tags: entry.tags,
    content: entry.content,
    analysis: entry.analysis,
    confidence: entry.confidence,
    emotionalContext: entry.emotionalContext,
    channel: entry.channel,
    externalId: entry.externalId,
  };
}
