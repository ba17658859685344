import type { UserId } from '../core/entry.js';
import { isMemvaultError } from '../core/errors.js';
import type { InstanceAudit, RecoveryKitStatus, RecoveryKits } from '../ports/account.js';
import { type Logger, silentLogger } from '../ports/logger.js';
import type { SearchIndex } from '../ports/search.js';
import type { AuditLog, AuthService, RequestMeta } from '../ports/security.js';

/** What the channels alert hook is told when a recovery kit was used (never the code or the password). */
export interface RecoveryAlert {
  readonly userId: UserId;
  readonly kind: 'recovery.used';
  readonly at: string;
  readonly channel?: string;
}

export interface RecoveryServiceDeps {
  readonly kits: RecoveryKits;
  readonly auth: AuthService;
  readonly audit: AuditLog;
  readonly instanceAudit: InstanceAudit;
  readonly search: SearchIndex;
  /** Ends the person's sessions held in this process (other processes see the new credential epoch). */
  readonly endSessions?: (userId: UserId) => void;
  /** The channels' alert hook (Telegram, SMS, e-mail…), when the composition root has one. */
  readonly alert?: (alert: RecoveryAlert) => void | Promise<void>;
  readonly logger?: Logger;
  readonly now?: () => Date;
}

export interface RecoveryService {
  /** A new kit; the password is checked like a sign-in (lockout, audit). Returns the code, shown once. */
  createKit(userId: UserId, password: string, meta: RequestMeta): Promise<{ code: string; createdAt: string }>;
  status(userId: UserId): Promise<RecoveryKitStatus>;
  /** Replaces a forgotten password with the code's kit: audited, alerted, every session ended, TOTP to re-enrol. */
  recover(userId: UserId, code: string, newPassword: string, meta: RequestMeta): Promise<void>;
}

export function createRecoveryService(deps: RecoveryServiceDeps): RecoveryService {
  const logger = deps.logger ?? silentLogger;
  const now = deps.now ?? (() => new Date());
  const record = (userId: UserId, action: string, result: 'success' | 'failure', meta: RequestMeta, reason?: string) =>
    deps.audit.append(userId, {
      action,
      result,
      ...(reason ? { reason } : {}),
      ...(meta.ip ? { ip: meta.ip } : {}),
      ...(meta.userAgent ? { userAgent: meta.userAgent } : {}),
      ...(meta.deviceId ? { device: meta.deviceId } : {}),
    });

  return {
    async createKit(userId, password, meta) {
      // The sign-in check first: its lockout and audit apply to whoever tries passwords here.
      await deps.auth.openerFor(userId, [1, 2], { password }, meta);
      const made = await deps.kits.create(userId, password);
      await record(userId, 'recovery_kit.created', 'success', meta);
      return made;
    },
    status: (userId) => deps.kits.status(userId),
    async recover(userId, code, newPassword, meta) {
      // The new password must pass the policy before the kit is spent.
      deps.auth.checkPassword(newPassword, { userId });
      try {
        await deps.kits.recover(userId, code, newPassword);
      } catch (error) {
        if (isMemvaultError(error) && ['SECURITY_ERROR', 'CONFLICT', 'NOT_FOUND'].includes(error.code)) {
          await record(userId, 'recovery.used', 'failure', meta, error.reason ?? error.code.toLowerCase()).catch(
            () => undefined,
          );
        }
        throw error;
      }
      deps.endSessions?.(userId);
      deps.search.forget(userId);
      await record(userId, 'recovery.used', 'success', meta);
      await deps.instanceAudit.append('account.recovered', userId);
      logger.warn({ userId }, 'recovery kit used: password replaced, sessions ended, TOTP to re-enrol');
      try {
        await deps.alert?.({
          userId,
          kind: 'recovery.used',
          at: now().toISOString(),
          ...(meta.channel ? { channel: meta.channel } : {}),
        });
      } catch (error) {
        // An alert that cannot be delivered never undoes the recovery; the audit records hold it.
        logger.warn({ userId, err: error instanceof Error ? error.message : 'unknown' }, 'recovery alert failed');
      }
    },
  };
}
