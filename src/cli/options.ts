import { type Command, Option } from 'commander';
import { type SecurityLevel, isSecurityLevel } from '../core/category.js';
import { validationError } from '../core/errors.js';

/** Adds the options every command takes (DESIGN §9). */
export function common(command: Command): Command {
  return command
    .option('--data-dir <dir>', 'data directory (default: $MEMVAULT_DATA_DIR or ./data)')
    .option('--json', 'print machine-readable JSON (see docs/cli.md)');
}

export function unlockOptions(command: Command): Command {
  return command
    .option('--password-stdin', 'read the password from the first line of standard input (unlocks level 2)')
    .addOption(new Option('--totp <code>', 'a current TOTP code (with --password-stdin, unlocks level 3)'));
}

/** ISO 8601 date or date-time → ISO string. A bare date means midnight UTC. */
export function parseDate(value: string, flag: string): string {
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00.000Z` : value);
  if (Number.isNaN(d.getTime())) {
    throw validationError(
      `${flag} "${value.slice(0, 40)}" is not a date. Use ISO 8601, e.g. 2026-03-01 or 2026-03-01T09:30:00Z.`,
    );
  }
  return d.toISOString();
}

export function parseCount(value: string, flag: string, max = 10_000): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > max)
    throw validationError(`${flag} must be a whole number from 0 to ${max}.`);
  return n;
}

export function parseLevel(value: string): SecurityLevel {
  const n = Number(value);
  if (!isSecurityLevel(n)) throw validationError('--level must be 1, 2, 3 or 4.');
  return n;
}

/** Collects a repeatable option into an array. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
