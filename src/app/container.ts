import { hkdfSync } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, rm } from 'node:fs/promises';
import type { Logger as PinoLogger } from 'pino';
import type { UserId } from '../core/entry.js';
import { isMemvaultError, MemvaultError, notFound, storageError } from '../core/errors.js';
import { FsBackupStore } from '../backup/backup-store.js';
import type { PersonalModelStore } from '../classify/personal-model.js';
import type { Classifier, CorrectionLearner } from '../ports/classifier.js';
import { type Clock, systemClock } from '../ports/clock.js';
import type { EntryOpener, EntrySealer } from '../ports/sealer.js';
import type { ImportLedger } from '../ports/vault.js';
import type { SearchIndex } from '../ports/search.js';
import type { JobRuns } from '../ports/jobs.js';
import type { SessionStorePort } from '../ports/session-store.js';
import type { AuditLog, AuthService } from '../ports/security.js';
import type { Vault } from '../ports/vault.js';
import { FileAuditLog } from '../security/audit-log.js';
import { AccessTokenStore } from '../security/access-tokens.js';
import { createAuthService } from '../security/auth-service.js';
import { createTokenService } from '../security/token-service.js';
import type { TokenService } from '../ports/tokens.js';
import { KeyringStore } from '../security/keyring.js';
import { userDir } from '../security/crypto-fs.js';
import { documentsOf } from '../security/file-documents.js';
import { loadMasterKey, masterKeySource, verifyMasterKey } from '../security/master-key.js';
import { createOpener, createSealer, eitherOpener } from '../security/seal.js';
import { type BackupService, createBackupService } from '../services/backup-service.js';
import { createExportService, type ExportService } from '../services/export-service.js';
import { type AccountService, createAccountService } from '../services/account-service.js';
import type { InstanceAudit } from '../ports/account.js';
import { InstanceAuditLog } from '../security/instance-audit.js';
import { AuthStore } from '../security/auth-store.js';
import { FsRecoveryKits } from '../security/recovery-kit.js';
import { createRecoveryService, type RecoveryAlert, type RecoveryService } from '../services/recovery-service.js';
import { createZipExportCodec } from '../vault/export-zip.js';
import { createFeatureExtractor } from '../insights/features.js';
import { FsSettingsStore } from '../insights/settings-store.js';
import { FsInsightsStore } from '../insights/store.js';
import type { DigestNotifier } from '../ports/insights.js';
import { hkdfSha256 } from '../security/kdf.js';
import { createInsightsService, type InsightsService } from '../services/insights-service.js';
import { createMemoryService } from '../services/memory-service.js';
import type { MemoryService } from '../services/types.js';
import { FsVault } from '../vault/fs-vault.js';
import { FsImportLedger } from '../vault/import-ledger.js';
import { type ChannelEndpoints, type Channels, createChannels } from './channels.js';
import type { Config } from './config.js';
import { createLogger } from './logger.js';

/** A fully wired memvault: what `serve`, `mcp` and every CLI command run on. */
export interface Memvault {
  readonly config: Config;
  readonly logger: PinoLogger;
  readonly memory: MemoryService;
  readonly auth: AuthService;
  readonly audit: AuditLog;
  readonly vault: Vault;
  readonly search: SearchIndex;
  readonly classifier: Classifier;
  /** External ids of imported chat-export messages (idempotent `memvault import`). */
  readonly imports: ImportLedger;
  /** The Daily Memory Manager: daily processing, insights and digests (DESIGN §7). */
  readonly insights: InsightsService;
  readonly backups: BackupService;
  /** Personal access tokens and OAuth grants for assistants and scripts (levels 1–2). */
  readonly tokens: TokenService;
  /** Plain-text export and its import (docs/backup.md). */
  readonly exports: ExportService;
  /** Account deletion (docs/backup.md). */
  readonly account: AccountService;
  /** The instance-level audit log: deletions and recoveries, without personal text. */
  readonly instanceAudit: InstanceAudit;
  /** Recovery kits: a code shown once that replaces a forgotten password (docs/backup.md). */
  readonly recovery: RecoveryService;
  /** Telegram, WhatsApp, SMS, e-mail and in-app notifications; onboarding (docs/channels.md). */
  readonly channels: Channels;
  /** Sessions, rate limits and lockouts, shared by every process over this data dir (`serve --workers`). */
  readonly sessionStore: SessionStorePort;
  /** Key of the web app's CSRF MAC, derived from the master key so every worker and restart agrees on it. */
  readonly csrfSecret: Uint8Array;
  /**
   * New key pairs for every level, every entry re-sealed under them, then the old keys discarded. Returns the
   * entries rewritten: 0 when another process finished this rotation first (it re-sealed them).
   * @throws CONFLICT while an earlier rotation is unfinished (`finishRotation` first).
   */
  rotateKeys(userId: UserId, password: string): Promise<number>;
  /**
   * Finishes an interrupted rotation: re-seals every entry (each opens with the old or the new keys) and only
   * then discards the old keys. `password` may be omitted for a person who has none. With `discardUnopened`, the
   * old keys are discarded even though some sealed entries open with neither generation (damaged anyway).
   * @throws NOT_FOUND when no rotation is unfinished; DATA_CORRUPTION (old keys kept) when some entry did not open.
   */
  finishRotation(userId: UserId, password?: string, options?: { discardUnopened?: boolean }): Promise<number>;
  /**
   * Finishes an unfinished rotation of this person if it can be done now: with `password`, or without one for a
   * person who has none. Otherwise (no password, or some entry opens with neither generation) logs, without
   * secrets, how to finish it and returns 'unfinished'. Run when a command or the server opens a person.
   */
  resumeRotation(userId: UserId, password?: string): Promise<'none' | 'finished' | 'unfinished'>;
  /** `resumeRotation` for every person (at server start). */
  resumeRotations(): Promise<void>;
  /**
   * What the local operator (the CLI without --password-stdin) may open: level 1, and level 2 as well for a
   * person who has no password — there is no secret factor to ask for, and their level-2 keys are wrapped by the
   * master key alone. Setting a password (`memvault user password`) takes level 2 out of the operator's reach.
   */
  operatorOpener(userId: UserId): Promise<EntryOpener>;
  /** True when the person's vault exists. */
  hasUser(userId: UserId): Promise<boolean>;
  /** Loads the language models now rather than on the first message (a long-running server calls it). */
  warmUp(): void;
  /** Subscribes to the vault's lock waits (seconds per write; the server's metrics); returns the unsubscribe. */
  onLockWait(listener: (seconds: number) => void): () => void;
  /** PostgreSQL mode: claims of scheduled work, so each person-day runs on one server of many. */
  readonly jobRuns?: JobRuns;
  close(): Promise<void>;
}

export interface MemvaultOptions {
  readonly logger?: PinoLogger;
  readonly clock?: Clock;
  /** Told when a recovery kit was used (the channels' alerts subscribe here). */
  readonly onRecoveryAlert?: (alert: RecoveryAlert) => void | Promise<void>;
  /** Provider API roots other than the real ones (tests: loopback stand-ins). */
  readonly channelEndpoints?: ChannelEndpoints;
  /** Told about every scheduled digest (the channels deliver them); `insights.onDigestReady` adds more. */
  readonly digestNotifier?: DigestNotifier;
}

/**
 * The LLM that writes digests: the same OpenAI-compatible endpoint as classification, with the secret detectors
 * masking every text before it leaves. Loads the OpenAI client only when an endpoint is configured.
 */
async function digestLlm(llm: NonNullable<Config['llm']>) {
  const { createLlmDigestWriter } = await import('../insights/llm-digest-writer.js');
  const { detectSecrets, maskFindings } = await import('../classify/detectors.js');
  return {
    writer: createLlmDigestWriter({ baseURL: llm.baseURL, apiKey: llm.apiKey, model: llm.model }),
    maskSecrets: (text: string) => maskFindings(text, detectSecrets(text)),
    // Writing a digest takes longer than classifying one message: it has its own budget.
    budgetMs: llm.digestTimeoutMs ?? 10_000,
  };
}

/** Creates the data directory (0700) or fails with a message naming it. */
export async function prepareDataDir(dataDir: string): Promise<void> {
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    await access(dataDir, constants.W_OK | constants.R_OK);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? 'error';
    throw storageError(
      `Cannot use the data directory ${dataDir} (${code}). Choose a writable folder with --data-dir or MEMVAULT_DATA_DIR.`,
      cause,
    );
  }
}

/**
 * For a data dir without a key check file yet: whether the master key verifies any of a few existing keyrings'
 * MACs (null when there are none to try). One damaged keyring does not decide; all of them failing does.
 */
async function keyOpensSomeKeyring(vault: Vault, keyring: KeyringStore): Promise<boolean | null> {
  let tried = 0;
  for (const userId of await vault.listUsers()) {
    if (tried >= 3) break;
    try {
      await keyring.hasPassword(userId);
      return true;
    } catch (error) {
      if (isMemvaultError(error, 'NOT_FOUND')) continue; // a sign-up that never got its keyring
      if (!isMemvaultError(error, 'DATA_CORRUPTION')) throw error;
      tried++;
    }
  }
  return tried > 0 ? false : null;
}

/** Builds the local classifier, and the LLM path in front of it when one is configured. */
export async function createClassifier(
  config: Config,
  personal?: PersonalModelStore,
): Promise<{ classifier: Classifier; warmUp(): void }> {
  const { createLocalClassifier } = await import('../classify/local-classifier.js');
  const local = createLocalClassifier(personal ? { personal } : {});
  const warmUp = () => local.warmUp();
  if (!config.llm) return { classifier: local, warmUp };
  // The OpenAI client loads only when an endpoint is configured.
  const { createLlmClassifier } = await import('../classify/llm-classifier.js');
  // The same personal model serves both paths: a message close to a correction is answered with it.
  return { classifier: createLlmClassifier({ ...config.llm, local, ...(personal ? { personal } : {}) }), warmUp };
}

/**
 * The one composition root: reads the configuration and picks adapters. Fails before anything starts when the
 * data directory or the master key is unusable, so there is never a half-started server.
 */
export async function createMemvault(config: Config, options: MemvaultOptions = {}): Promise<Memvault> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  await prepareDataDir(config.dataDir);
  const keyEnv = { MEMVAULT_MASTER_KEY: config.masterKeyEnv, MEMVAULT_MASTER_KEY_FILE: config.masterKeyFile };
  const masterKey = await loadMasterKey({ env: keyEnv, dataDir: config.dataDir });
  const backupStore = new FsBackupStore({
    dataDir: config.dataDir,
    masterKey,
    backupDir: config.backupDir,
    extraRecipients: config.backupRecipients,
  });
  // Like the vault's torn-tail repair: a restore killed mid-swap is finished or undone before anything reads.
  const recovered = await backupStore.recover();
  if (recovered.finished.length + recovered.undone.length > 0)
    logger.warn({ ...recovered }, 'interrupted restore put right');
  // MEMVAULT_DATABASE_URL: the database opens first, since keyrings and sign-in records live there too.
  const database = config.database ? await openPgDatabase(config.database, { clock, logger }) : null;
  const documents = database?.documents;
  const keyring = new KeyringStore({ dataDir: config.dataDir, masterKey, documents });
  const sealer = createSealer(keyring, { level1Plain: config.level1Plain });
  // Lock waits per write, for whoever subscribes (the server's /metrics).
  const lockWaitListeners = new Set<(seconds: number) => void>();
  const onLockWait = (seconds: number) => {
    for (const listener of lockWaitListeners) listener(seconds);
  };
  // MEMVAULT_DATABASE_URL: memories, audit log and insights in the database opened above (src/pg).
  const pgMode = database ? database.adapters({ sealer, clock, masterKey, config, onLockWait }) : null;
  const vault: Vault =
    pgMode?.vault ??
    new FsVault({
      dataDir: config.dataDir,
      sealer,
      clock,
      maxContentBytes: config.maxContentBytes,
      maxCacheBytes: config.cacheBytes,
      onLockWait,
    });
  // Before anything reads or writes with it: a wrong key must not start, nor sign anyone up under itself.
  await verifyMasterKey({
    dataDir: config.dataDir,
    masterKey,
    source: masterKeySource(keyEnv),
    opensExistingData: () => keyOpensSomeKeyring(vault, keyring),
  });
  const audit: AuditLog = pgMode?.audit ?? new FileAuditLog({ dataDir: config.dataDir, masterKey, clock });
  // The search index and the classifier load on first use: `memvault list` needs neither, `search` no classifier.
  const search = lazySearchIndex(async () => {
    const { createSearchIndex } = await import('../search/search-index.js');
    // The OpenAI client loads only when an embeddings endpoint is configured.
    const embeddings = config.embeddings
      ? (await import('../search/openai-embeddings.js')).createOpenAiEmbeddings(config.embeddings)
      : (await import('../search/word-vectors.js')).createWordVectorEmbeddings();
    return createSearchIndex({ vault, dataDir: config.dataDir, sealer, embeddings, clock, logger });
  });
  const url = new URL(config.publicUrl);
  let channels: Channels | undefined;
  const auth = createAuthService({
    dataDir: config.dataDir,
    // PostgreSQL mode: sessions, rate limits, lockouts and sign-in factors shared by every server.
    ...(database ? { sessionStore: database.sessions, documents: database.documents } : {}),
    masterKey,
    keyring,
    audit,
    sealer,
    clock,
    logger,
    profiles: (userId) => vault.getProfile(userId),
    webauthn: { rpId: url.hostname, rpName: 'memvault', origins: [url.origin] },
    onLock: (userId, levels) => search.forget(userId, levels),
    onAlert: (record) => {
      logger.warn({ userId: record.userId, seq: record.seq, risk: record.risk }, 'security alert');
      // The action's name and outcome only: the record holds nothing secret, and neither does the alert.
      const what = `an unusual ${record.action.replace(/_/g, ' ')} (${record.result})`;
      void channels?.alerts(record.userId, what).catch((error: unknown) => {
        logger.warn({ userId: record.userId, code: (error as MemvaultError).code ?? 'unknown' }, 'alert not delivered');
      });
    },
  });
  const tokens = createTokenService({
    store: new AccessTokenStore({ dataDir: config.dataDir, masterKey, clock, documents }),
    keyring,
    sessionKey: (token, level) => auth.sessionKey(token, level),
    audit,
    clock,
  });
  let personalStore: PersonalModelStore | null = null;
  const personal = once(async () => {
    const { PersonalModelStore } = await import('../classify/personal-model.js');
    personalStore = new PersonalModelStore({ documents: documentsOf({ dataDir: config.dataDir, documents }) });
    return personalStore;
  });
  const learner: CorrectionLearner = { learn: async (correction) => (await personal()).learn(correction) };
  const loadClassifier = once(async () => createClassifier(config, await personal()));
  const classifier: Classifier = {
    classify: async (text, ctx) => (await loadClassifier()).classifier.classify(text, ctx),
  };
  const warmUp = () => {
    void loadClassifier().then(
      (c) => c.warmUp(),
      (error: unknown) => logger.warn({ err: error instanceof Error ? error.message : 'unknown' }, 'warm-up failed'),
    );
  };
  const memory = createMemoryService({
    vault,
    classifier,
    search,
    auth,
    learner,
    audit,
    clock,
    logger,
    maxContentBytes: config.maxContentBytes,
    // Bound late: the backup service is built below; a read only calls this long after start.
    heal: (principal, damaged) => backups.heal(principal.userId, damaged, principal.opener),
    ...(pgMode ? { atomically: <T>(fn: () => Promise<T>) => pgMode.db.atomically('record the change', fn) } : {}),
  });
  const insights = createInsightsService({
    vault,
    search,
    store: pgMode?.insights ?? new FsInsightsStore({ dataDir: config.dataDir, sealer }),
    extractor: createFeatureExtractor(),
    levelOneOpener: (userId) => auth.channelOpener(userId),
    clock,
    logger,
    settings: new FsSettingsStore({
      documents: documentsOf({ dataDir: config.dataDir, documents }),
      macKey: hkdfSha256(masterKey, new Uint8Array(0), 'memvault settings mac v1', 32),
    }),
    ...(config.llm ? { llm: await digestLlm(config.llm) } : {}),
    ...(options.digestNotifier ? { notifier: options.digestNotifier } : {}),
  });

  /**
   * Re-seals every entry with both generations' keys, then retires the old ones. The old keys stay on disk
   * (`.previous`) until every sealed entry opened: a crash anywhere before leaves a rotation this can finish.
   */
  async function finish(
    userId: UserId,
    secrets: { password?: string },
    discardUnopened: boolean,
    action: string,
  ): Promise<number> {
    let keys: Awaited<ReturnType<typeof keyring.unwrapRotation>>;
    try {
      keys = await keyring.unwrapRotation(userId, secrets);
    } catch (error) {
      // Another process (a server or a command that opened this person meanwhile) finished this very rotation
      // after it was seen unfinished here: its re-seal, index rebuild and sign-out stand, and nothing is left.
      if (isMemvaultError(error, 'NOT_FOUND') && !(await keyring.rotationPending(userId))) {
        logger.info({ userId }, 'key rotation finished by another process');
        return 0;
      }
      throw error;
    }
    const opener = eitherOpener(createOpener(userId, keys.current), createOpener(userId, keys.previous));
    for (const key of [...keys.current.values(), ...keys.previous.values()]) key.fill(0);
    // Each step is logged at debug level: a rotation that stalls shows where.
    logger.debug({ userId, previousGeneration: keys.previousGeneration }, 'key rotation: re-sealing every entry');
    try {
      let resealed: number;
      try {
        resealed = await vault.reseal(userId, opener);
      } catch (error) {
        if (!isMemvaultError(error, 'DATA_CORRUPTION') || error.details?.unopened === undefined) throw error;
        if (!discardUnopened) {
          throw new MemvaultError(
            'DATA_CORRUPTION',
            `${error.message} The old keys are kept and the rotation stays unfinished. Restore those memories from a ` +
              `backup and run memvault keys finish-rotation --user ${userId} --password-stdin again, or add ` +
              '--discard-unopened to give them up.',
            { details: error.details, cause: error },
          );
        }
        resealed = Number(error.details.resealed ?? 0);
        logger.warn({ userId, unopened: error.details.unopened }, 'old keys discarded with unopened memories');
      }
      logger.debug({ userId, resealed }, 'key rotation: re-sealed; discarding the old keys');
      await keyring.discardPrevious(userId, keys.previousGeneration);
      logger.debug({ userId }, 'key rotation: rebuilding the search index');
      // The persisted index was sealed to the old level-1 key: rebuild it under the new one.
      await search.rebuild(userId, await auth.channelOpener(userId));
      logger.debug({ userId }, 'key rotation: ending every session');
      // Sessions hold the old private keys: end them in every process (the CLI may rotate while the server
      // runs), so nobody reads with keys that no longer exist.
      await auth.revokeSessions(userId);
      await audit.append(userId, { action, result: 'success' });
      logger.info({ userId, resealed }, 'keys rotated');
      return resealed;
    } finally {
      opener.dispose();
    }
  }

  async function resume(userId: UserId, password?: string): Promise<'none' | 'finished' | 'unfinished'> {
    if (!(await keyring.rotationPending(userId))) return 'none';
    const howTo = `memvault keys finish-rotation --user ${userId} --password-stdin`;
    if (password === undefined && (await keyring.hasPassword(userId))) {
      logger.warn(
        { userId },
        `a key rotation is unfinished: entries sealed to the old keys do not open until it is finished (${howTo})`,
      );
      return 'unfinished';
    }
    try {
      await finish(userId, password === undefined ? {} : { password }, false, 'keys.finish_rotation');
      return 'finished';
    } catch (error) {
      // Some entry opens with neither generation: the old keys stay, and the command that opened the person
      // still runs; `finish-rotation` explains the choice.
      if (!isMemvaultError(error, 'DATA_CORRUPTION') || error.details?.unopened === undefined) throw error;
      logger.warn(
        { userId, unopened: error.details.unopened },
        `a key rotation cannot finish: some sealed memories open with neither the old nor the new keys (${howTo})`,
      );
      return 'unfinished';
    }
  }

  const operatorOpener = async (userId: UserId): Promise<EntryOpener> => {
    if (await keyring.hasPassword(userId)) return auth.channelOpener(userId);
    const keys = await keyring.unwrapMany(userId, [1, 2], {});
    try {
      await audit.append(userId, { action: 'unlock_once', result: 'success', level: 2, reason: 'no_password' });
      return createOpener(userId, keys);
    } finally {
      for (const key of keys.values()) key.fill(0);
    }
  };
  channels = createChannels({
    config,
    memory,
    insights,
    audit,
    listUsers: () => vault.listUsers(),
    // Level 2 in a chat only where the person allowed it, and only when no password guards it (the operator's reach).
    opener: async (userId, levels) => (levels.includes(2) ? operatorOpener(userId) : auth.channelOpener(userId)),
    clock,
    logger,
    ...(options.channelEndpoints ? { endpoints: options.channelEndpoints } : {}),
    documents,
    messageClaims: database?.jobs,
  });
  const backups = createBackupService({
    store: backupStore,
    vault,
    audit,
    search,
    logger,
    operatorOpener,
    endSessions: (userId) => auth.endSessions(userId),
    checkKeyring: async (userId) => {
      await keyring.hasPassword(userId);
    },
  });

  const exports = createExportService({ vault, audit, codec: createZipExportCodec(), clock, logger });
  const instanceAudit = new InstanceAuditLog({ dataDir: config.dataDir, masterKey, clock });
  const account = createAccountService({
    auth,
    // PostgreSQL mode: the person's rows go in one transaction, then this host's folder of per-host files.
    store: database
      ? {
          erase: async (userId) => {
            if (!(await database.erase(userId))) throw notFound(`No person ${userId} in this vault.`);
            await rm(userDir(config.dataDir, userId), { recursive: true, force: true });
            // `memvault backup` reads a data dir's files: in this mode it has made no backups of the person.
            return { backups: 0 };
          },
        }
      : backupStore,
    search,
    instanceAudit,
    endSessions: (userId) => auth.endSessions(userId),
    forget: (userId) => (personalStore as PersonalModelStore | null)?.forget(userId),
    logger,
  });
  const recovery = createRecoveryService({
    kits: new FsRecoveryKits({
      dataDir: config.dataDir,
      documents,
      masterKey,
      keyring,
      authStore: new AuthStore({ dataDir: config.dataDir, masterKey, documents }),
      clock,
    }),
    auth,
    audit,
    instanceAudit,
    search,
    endSessions: (userId) => auth.endSessions(userId),
    // A recovery kit used is told to the person's channels (and to whoever the caller wired in).
    alert: async (alert: RecoveryAlert) => {
      await options.onRecoveryAlert?.(alert);
      await channels?.alerts(alert.userId, 'your password was replaced with your recovery kit');
    },
    logger,
    now: () => clock.now(),
  });

  const wiredChannels = channels;
  return {
    config,
    logger,
    backups,
    exports,
    account,
    instanceAudit,
    recovery,
    channels: wiredChannels,
    sessionStore: auth.sessionStore,
    csrfSecret: new Uint8Array(hkdfSync('sha256', masterKey, 'memvault', 'csrf-token-mac/v1', 32)),
    memory,
    insights,
    auth,
    tokens,
    audit,
    vault,
    search,
    classifier,
    imports: new FsImportLedger({ dataDir: config.dataDir }),
    warmUp,
    ...(database ? { jobRuns: database.jobs } : {}),
    onLockWait(listener) {
      lockWaitListeners.add(listener);
      return () => lockWaitListeners.delete(listener);
    },
    operatorOpener,
    hasUser: (userId: UserId) => vault.hasUser(userId),
    async rotateKeys(userId: UserId, password: string): Promise<number> {
      const old = await keyring.rotate(userId, { password });
      for (const key of old.values()) key.fill(0);
      logger.debug({ userId }, 'key rotation: new keys stored');
      // From here on the rotation is unfinished on disk: the same path finishes it now or after a crash.
      return finish(userId, { password }, false, 'keys.rotate');
    },
    async finishRotation(userId, password, options = {}): Promise<number> {
      if (!(await keyring.rotationPending(userId))) {
        throw notFound(`No key rotation of ${userId} is unfinished.`, { userId });
      }
      const secrets = password === undefined ? {} : { password };
      return finish(userId, secrets, options.discardUnopened === true, 'keys.finish_rotation');
    },
    resumeRotation: resume,
    async resumeRotations(): Promise<void> {
      for (const userId of await vault.listUsers()) {
        if (!(await keyring.exists(userId))) continue;
        try {
          await resume(userId);
        } catch (error) {
          // One person's damaged vault must not keep the server from serving everyone else.
          logger.error({ userId, code: (error as MemvaultError).code }, 'could not finish an interrupted key rotation');
        }
      }
    },
    async close(): Promise<void> {
      await wiredChannels.close();
      await auth.close();
      await personalStore?.flush();
      await search.close();
      await vault.close();
      await pgMode?.db.close();
    },
  };
}

/**
 * The PostgreSQL database and its adapters, loaded (with the pg client) only when MEMVAULT_DATABASE_URL is set.
 * Keyrings, sign-in records, sessions and job claims come first (the sealer needs the keyrings); the vault, audit
 * log and insights once the sealer exists (`adapters`).
 */
async function openPgDatabase(
  database: { readonly url: string; readonly schema: string },
  deps: { clock: Clock; logger: PinoLogger },
) {
  const { PgDatabase } = await import('../pg/database.js');
  const { PgVault } = await import('../pg/pg-vault.js');
  const { PgAuditLog } = await import('../pg/pg-audit-log.js');
  const { PgInsightsStore } = await import('../pg/pg-insights-store.js');
  const { PgDocuments } = await import('../pg/pg-documents.js');
  const { PgSessionStore } = await import('../pg/pg-session-store.js');
  const { PgJobRuns } = await import('../pg/pg-job-runs.js');
  const { erasePerson } = await import('../pg/pg-erase.js');
  const db = await PgDatabase.open({
    url: database.url,
    schema: database.schema,
    applicationName: `memvault:${process.pid}`,
    onIdleError: (error) => deps.logger.warn({ code: (error as { code?: string }).code }, 'database connection lost'),
  });
  return {
    db,
    documents: new PgDocuments({ db }),
    sessions: new PgSessionStore({ db, clock: deps.clock }),
    jobs: new PgJobRuns({ db }),
    erase: (userId: UserId) => erasePerson(db, userId),
    adapters: (more: {
      sealer: EntrySealer;
      clock: Clock;
      masterKey: Uint8Array;
      config: Config;
      onLockWait: (seconds: number) => void;
    }) => ({
      db,
      vault: new PgVault({
        db,
        sealer: more.sealer,
        clock: more.clock,
        maxContentBytes: more.config.maxContentBytes,
        onLockWait: more.onLockWait,
      }),
      audit: new PgAuditLog({ db, masterKey: more.masterKey, clock: more.clock }),
      insights: new PgInsightsStore({ db, sealer: more.sealer }),
    }),
  };
}

/** Runs `load` on the first call only; every call gets its promise. */
function once<T>(load: () => Promise<T>): () => Promise<T> {
  let promise: Promise<T> | undefined;
  return () => {
    promise ??= load();
    return promise;
  };
}

/**
 * A SearchIndex that loads its module (SQLite, word vectors, date parsing) on first use. `forget` on an index
 * that never loaded has nothing to drop; `close` closes it only if it loaded.
 */
function lazySearchIndex(load: () => Promise<SearchIndex>): SearchIndex {
  let loaded: SearchIndex | null = null;
  const get = once(async () => {
    loaded = await load();
    return loaded;
  });
  let started = false;
  const use = () => {
    started = true;
    return get();
  };
  return {
    search: async (userId, query, opener) => (await use()).search(userId, query, opener),
    upsert: async (userId, entry) => (await use()).upsert(userId, entry),
    remove: async (userId, id) => (await use()).remove(userId, id),
    rebuild: async (userId, opener) => (await use()).rebuild(userId, opener),
    forget: (userId, levels) => {
      if (loaded) loaded.forget(userId, levels);
      // Still loading: forget as soon as it is there, before any later search can use those levels.
      else if (started) void get().then((index) => index.forget(userId, levels));
    },
    close: async () => {
      if (started) await (await get()).close();
    },
  };
}
