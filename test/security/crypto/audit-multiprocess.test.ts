import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserId } from '../../../src/core/entry.js';
import { FileAuditLog } from '../../../src/security/audit-log.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../../..');
const USER = '+14155550134' as UserId;
const MASTER_HEX = '07'.repeat(32);

let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'memvault-audit-mp-'));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('audit log shared by processes', () => {
  it('two processes appending at once leave one unbroken chain', async () => {
    const script = join(dataDir, 'append.mts');
    await writeFile(
      script,
      `import { FileAuditLog } from ${JSON.stringify(join(ROOT, 'src/security/audit-log.ts'))};
const [dataDir, count] = process.argv.slice(2);
import { existsSync, writeFileSync } from 'node:fs';
const log = new FileAuditLog({ dataDir, masterKey: Buffer.from('${MASTER_HEX}', 'hex') });
// Start together: announce readiness, then wait for the parent's go.
writeFileSync(dataDir + '/ready.' + process.pid, '');
while (!existsSync(dataDir + '/go')) await new Promise((r) => setTimeout(r, 2));
for (let i = 0; i < Number(count); i++) await log.append('${USER}', { action: 'signin', result: 'success' });
`,
    );
    const child = () => run(process.execPath, ['--import', 'tsx', script, dataDir, '60'], { cwd: ROOT });
    const children = Promise.all([child(), child()]);
    while ((await readdir(dataDir)).filter((name) => name.startsWith('ready.')).length < 2) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await writeFile(join(dataDir, 'go'), '');
    await children;
    const log = new FileAuditLog({ dataDir, masterKey: Buffer.from(MASTER_HEX, 'hex') });
    expect(await log.verify(USER)).toEqual({ ok: true, records: 120 });
  });
});
