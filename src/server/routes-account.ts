import { Readable } from 'node:stream';
import { validationError } from '../core/errors.js';
import { EXPORT_FORMATS, type ExportFormat } from '../ports/export.js';
import type { App, RouteKit } from './context.js';
import { requireSession } from './session.js';

/**
 * The person's own data: "Download my data" (GET /v1/export, a zip streamed as it is written). Exists only when
 * the composition root passes the export service.
 */
export function registerAccountRoutes(app: App, kit: RouteKit): void {
  const exports = kit.deps.exports;
  if (!exports) return;
  const session = requireSession(kit);

  app.get('/v1/export', session, async (c) => {
    const format = c.req.query('format') ?? 'markdown';
    if (!(EXPORT_FORMATS as readonly string[]).includes(format)) {
      throw validationError(`format must be one of ${EXPORT_FORMATS.join(', ')}.`, { field: 'format' });
    }
    const principal = c.get('principal');
    const { manifest, stream } = await exports.export(principal, format as ExportFormat);
    const name = `memvault-export-${principal.userId.slice(1)}-${manifest.exportedAt.slice(0, 10)}.zip`;
    c.header('Content-Type', 'application/zip');
    c.header('Content-Disposition', `attachment; filename="${name}"`);
    c.header('X-Memvault-Levels', manifest.levels.join(','));
    c.header('X-Memvault-Locked', String(manifest.locked));
    return c.body(Readable.toWeb(stream as Readable) as ReadableStream<Uint8Array>, 200);
  });
}
