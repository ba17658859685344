import type { Category, SecurityLevel } from '../core/category.js';
import type { Channel, MemoryEntry, UserId } from '../core/entry.js';

/** `markdown`: one Markdown file per category in the entry format; `json`: one `memories.json`. */
export const EXPORT_FORMATS = ['markdown', 'json'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** What `export.json` in every export says (docs/backup.md, "Export and import"). */
export interface ExportManifest {
  readonly format: 'memvault-export';
  readonly version: 1;
  readonly exportedAt: string;
  readonly userId: UserId;
  readonly layout: ExportFormat;
  /** The levels the export holds: those the exporting session had unlocked. */
  readonly levels: readonly SecurityLevel[];
  /** Entries left out because their level was locked, and because they were damaged. */
  readonly locked: number;
  readonly damaged: number;
  readonly counts: Readonly<Record<Category, number>>;
}

/** One memory as an export carries it back in: everything but the owner and the checksum (the vault recomputes). */
export interface ExportedEntry {
  readonly id: string;
  readonly date: string;
  readonly eventDate: string | null;
  readonly category: Category;
  readonly tags: readonly string[];
  readonly content: string;
  readonly analysis: string;
  readonly confidence: number;
  readonly related: readonly string[];
  readonly emotionalContext: string;
  readonly channel: Channel;
  readonly externalId: string | null;
}

/** Writes and reads the plain-text export archive (a zip). */
export interface ExportCodec {
  /** A zip of `entries` (oldest first), streamed as it is produced. */
  write(manifest: ExportManifest, entries: readonly MemoryEntry[]): NodeJS.ReadableStream;
  /**
   * Reads an export back. @throws VALIDATION_ERROR (details.problem: not_an_export, newer_format, bad_entry,
   * too_large) for anything but an intact export of a known version.
   */
  read(zip: Uint8Array): Promise<{ readonly manifest: ExportManifest; readonly entries: ExportedEntry[] }>;
}
