import type { UserId } from '../core/entry.js';
import { securityError, validationError } from '../core/errors.js';
import type { InstanceAudit } from '../ports/account.js';
import type { BackupStore } from '../ports/backup.js';
import { type Logger, silentLogger } from '../ports/logger.js';
import type { SearchIndex } from '../ports/search.js';
import type { AuthService, RequestMeta } from '../ports/security.js';

export interface AccountServiceDeps {
  readonly auth: AuthService;
  /** Erases the person's stored data (file mode: their folder; PostgreSQL mode: their rows too). */
  readonly store: Pick<BackupStore, 'erase'>;
  readonly search: SearchIndex;
  readonly instanceAudit: InstanceAudit;
  /** Ends the person's sessions held in this process (other processes refuse them once the keyring is gone). */
  readonly endSessions?: (userId: UserId) => void;
  /** Drops in-memory state of the person that would otherwise be written back later (the classifier's model). */
  readonly forget?: (userId: UserId) => void;
  readonly logger?: Logger;
}

/**
 * How a deletion is confirmed: the person's password, always when they have one; the local operator (the CLI,
 * which holds the master key) may confirm for a person who never set a password.
 */
export type DeletionConfirmation = { readonly password: string } | { readonly operator: true };

export interface DeletionReport {
  readonly deleted: true;
  /** Backup files of the person removed from the backup directory. */
  readonly backups: number;
  /** The instance audit record's subject: the keyed hash the deletion is recorded under. */
  readonly subject: string;
}

export interface AccountService {
  /**
   * Erases every file of the person, their backups in the backup directory and their sessions, and records the
   * deletion in the instance audit log. @throws SECURITY_ERROR for a wrong password (with lockout), NOT_FOUND.
   */
  deleteAccount(userId: UserId, confirmation: DeletionConfirmation, meta: RequestMeta): Promise<DeletionReport>;
}

export function createAccountService(deps: AccountServiceDeps): AccountService {
  const logger = deps.logger ?? silentLogger;
  return {
    async deleteAccount(userId, confirmation, meta) {
      const hasPassword = await deps.auth.hasPassword(userId);
      if ('password' in confirmation) {
        if (!hasPassword) throw validationError(`${userId} has no password; the operator confirms instead (--yes).`);
        if (typeof confirmation.password !== 'string' || confirmation.password.length === 0) {
          throw validationError('Confirm the deletion with your password.', { field: 'password' });
        }
        // The sign-in check itself: Argon2id, lockout after repeated failures, and an audit record either way.
        await deps.auth.openerFor(userId, [1, 2], { password: confirmation.password }, meta);
      } else if (hasPassword) {
        throw securityError(
          'authentication_failed',
          `Deleting ${userId} takes their password (--password-stdin): they set one, so only they may decide.`,
        );
      }
      // Sessions first: from here on nothing this person holds may read or write (the keyring goes next).
      await deps.auth.revokeSessions(userId, meta);
      deps.endSessions?.(userId);
      deps.search.forget(userId, [1, 2, 3, 4]);
      deps.forget?.(userId);
      const { backups } = await deps.store.erase(userId, { backups: true });
      const record = await deps.instanceAudit.append('account.deleted', userId);
      // The log keeps the keyed hash only: the person asked to be forgotten.
      logger.info({ subject: record.subject, seq: record.seq, backups }, 'account deleted');
      return { deleted: true, backups, subject: record.subject };
    },
  };
}
