import type { Command } from 'commander';
import { validationError } from '../../core/errors.js';
import { parseExpiry, parseTokenLevels } from '../../core/token-rules.js';
import type { GrantInfo } from '../../ports/tokens.js';
import { readPassword, writeJson, writeLine } from '../io.js';
import { common } from '../options.js';
import type { CliRuntime } from '../runtime.js';
import { normalizeUser } from '../user-id.js';

function parseLevelList(value: string): number[] {
  const parts = value.split(',').map((part) => part.trim());
  if (parts.some((part) => !/^\d$/.test(part))) throw validationError('--levels is a list like 1 or 1,2.');
  return parts.map(Number);
}

function describe(grant: GrantInfo): string {
  const kind = grant.kind === 'oauth' ? 'app' : 'token';
  const expires = grant.expiresAt ? `expires ${grant.expiresAt.slice(0, 10)}` : 'never expires';
  const used = grant.lastUsedAt ? `last used ${grant.lastUsedAt.slice(0, 16).replace('T', ' ')}` : 'never used';
  return `${grant.id}  ${kind}  "${grant.name}"  levels ${grant.levels.join(',')}  ${expires}  ${used}`;
}

/** `memvault token create|list|revoke`: personal access tokens for assistants and scripts. */
export function registerToken(program: Command, runtime: CliRuntime): void {
  const token = program
    .command('token')
    .description('personal access tokens for assistants and scripts (MCP, the REST API); levels 1–2 only');

  common(
    token
      .command('create')
      .description(
        'create a token and print it once (stored hashed). Level 2 needs --password-stdin when the person has a password',
      )
      .requiredOption('--user <phone>', 'whose memories the token reads')
      .requiredOption('--name <name>', 'a name you will recognise, e.g. "Claude Desktop" (audit records name it)')
      .option('--levels <list>', 'levels it reads: 1 or 1,2 (never 3 or 4)', '1')
      .option('--expires <duration>', 'lifetime like 12h, 90d or 8w, or "never" (default never)')
      .option('--password-stdin', 'read the password from the first line of standard input (for level 2)'),
  ).action(
    async (opts: {
      user: string;
      name: string;
      levels: string;
      expires?: string;
      passwordStdin?: boolean;
      dataDir?: string;
      json?: boolean;
    }) => {
      const userId = await normalizeUser(opts.user);
      const levels = parseTokenLevels(parseLevelList(opts.levels));
      const expiresAt = parseExpiry(opts.expires, new Date());
      const password = opts.passwordStdin ? await readPassword(runtime.stdin) : undefined;
      const app = await runtime.open(opts);
      const meta = { channel: 'cli', userAgent: `memvault-cli/${runtime.version}` };
      try {
        let created: { token: string; grant: GrantInfo };
        if (levels.includes(2) && password !== undefined) {
          // A real sign-in (lockout, time windows, audit) opens level 2; the token wraps that session's key.
          const session = await app.auth.signIn(userId, password, meta);
          try {
            created = await app.tokens.createPersonal(
              userId,
              { name: opts.name, levels, expiresAt },
              { sessionToken: session.token },
              meta,
            );
          } finally {
            await app.auth.signOut(session.token);
          }
        } else {
          created = await app.tokens.createPersonal(userId, { name: opts.name, levels, expiresAt }, {}, meta);
        }
        if (opts.json) writeJson(runtime.stdout, { token: created.token, info: created.grant });
        else {
          writeLine(runtime.stdout, `Created ${describe(created.grant)}`);
          writeLine(runtime.stdout, 'The token (shown only now; store it in your assistant’s settings):');
          writeLine(runtime.stdout, created.token);
        }
      } finally {
        await app.close();
      }
    },
  );

  common(
    token
      .command('list')
      .description('list the person’s tokens and connected OAuth apps (never the secrets)')
      .requiredOption('--user <phone>', 'whose tokens'),
  ).action(async (opts: { user: string; dataDir?: string; json?: boolean }) => {
    const userId = await normalizeUser(opts.user);
    const app = await runtime.open(opts);
    try {
      const grants = await app.tokens.list(userId);
      if (opts.json) writeJson(runtime.stdout, { tokens: grants });
      else if (grants.length === 0) writeLine(runtime.stdout, 'No tokens.');
      else for (const grant of grants) writeLine(runtime.stdout, describe(grant));
    } finally {
      await app.close();
    }
  });

  common(
    token
      .command('revoke')
      .description('revoke a token or disconnect an app now (in the running server too)')
      .requiredOption('--user <phone>', 'whose token')
      .argument('<id>', 'the token id from `token list` (tok_…)'),
  ).action(async (id: string, opts: { user: string; dataDir?: string; json?: boolean }) => {
    const userId = await normalizeUser(opts.user);
    const app = await runtime.open(opts);
    try {
      const grant = await app.tokens.revoke(userId, id, {
        channel: 'cli',
        userAgent: `memvault-cli/${runtime.version}`,
      });
      if (opts.json) writeJson(runtime.stdout, { revoked: grant.id });
      else writeLine(runtime.stdout, `Revoked ${grant.id} ("${grant.name}").`);
    } finally {
      await app.close();
    }
  });
}
