import type { Command } from 'commander';
import { MemvaultError, validationError } from '../../core/errors.js';
import { normalizeUser } from '../user-id.js';
import { readPassword, writeJson, writeLine } from '../io.js';
import { common } from '../options.js';
import type { CliRuntime } from '../runtime.js';

export function registerSecurity(program: Command, runtime: CliRuntime): void {
  const keys = program.command('keys').description('manage encryption keys');
  common(
    keys
      .command('rotate')
      .description('new key pairs for every level, and every entry re-sealed under them')
      .requiredOption('--user <phone>', 'whose keys')
      .requiredOption('--password-stdin', 'read the password from the first line of standard input'),
  ).action(async (opts: { user: string; dataDir?: string; json?: boolean }) => {
    const userId = await normalizeUser(opts.user);
    const password = await readPassword(runtime.stdin);
    const app = await runtime.open(opts);
    try {
      const resealed = await app.rotateKeys(userId, password);
      if (opts.json) writeJson(runtime.stdout, { rotated: true, resealed });
      else writeLine(runtime.stdout, `Rotated the keys of ${userId}; re-sealed ${resealed} memories.`);
    } finally {
      await app.close();
    }
  });

  common(
    keys
      .command('finish-rotation')
      .description(
        'finish an interrupted `keys rotate`: re-seal what is still sealed to the old keys, then discard them ' +
          '(commands and the server also finish it by themselves when they can)',
      )
      .requiredOption('--user <phone>', 'whose keys')
      .option(
        '--password-stdin',
        'read the password from the first line of standard input (needed if the person has one)',
      )
      .option(
        '--discard-unopened',
        'discard the old keys even if some sealed memories open with neither the old nor the new keys (they are lost)',
      ),
  ).action(
    async (opts: {
      user: string;
      dataDir?: string;
      json?: boolean;
      passwordStdin?: boolean;
      discardUnopened?: boolean;
    }) => {
      const userId = await normalizeUser(opts.user);
      const password = opts.passwordStdin ? await readPassword(runtime.stdin) : undefined;
      const app = await runtime.open(opts);
      try {
        const resealed = await app.finishRotation(userId, password, { discardUnopened: opts.discardUnopened === true });
        if (opts.json) writeJson(runtime.stdout, { finished: true, resealed });
        else writeLine(runtime.stdout, `Finished the key rotation of ${userId}; re-sealed ${resealed} memories.`);
      } finally {
        await app.close();
      }
    },
  );

  const audit = program.command('audit').description('the tamper-evident access log');
  common(
    audit
      .command('verify')
      .description('check the hash chain and MACs of the access log; names the first bad record')
      .requiredOption('--user <phone>', 'whose log'),
  ).action(async (opts: { user: string; dataDir?: string; json?: boolean }) => {
    const userId = await normalizeUser(opts.user);
    const app = await runtime.open(opts);
    try {
      const result = await app.audit.verify(userId);
      if (opts.json) writeJson(runtime.stdout, result);
      if (!result.ok) {
        throw new MemvaultError(
          'DATA_CORRUPTION',
          `Audit log of ${userId} fails at record ${result.badSeq}: ${result.reason}.`,
          {
            details: { badSeq: result.badSeq },
          },
        );
      }
      if (!opts.json) {
        const torn = result.tornTail
          ? ' It ends in the fragment of an append that crashed before it finished; the next record replaces it.'
          : '';
        writeLine(runtime.stdout, `Audit log of ${userId} is intact: ${result.records} records.${torn}`);
      }
    } finally {
      await app.close();
    }
  });

  common(
    audit
      .command('list')
      .description('show the newest access-log records')
      .requiredOption('--user <phone>', 'whose log')
      .option('--limit <n>', 'how many', '20'),
  ).action(async (opts: { user: string; limit: string; dataDir?: string; json?: boolean }) => {
    const userId = await normalizeUser(opts.user);
    const limit = Number(opts.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw validationError('--limit must be 1 to 10000.');
    const app = await runtime.open(opts);
    try {
      const records = await app.audit.list(userId, { limit });
      if (opts.json) writeJson(runtime.stdout, { records });
      else
        for (const r of records) {
          writeLine(
            runtime.stdout,
            `${r.seq}\t${r.at}\t${r.action}\t${r.result}${r.reason ? ` (${r.reason})` : ''}\trisk ${r.risk.toFixed(2)}${r.client ? `\t${r.client}` : ''}`,
          );
        }
    } finally {
      await app.close();
    }
  });
}
