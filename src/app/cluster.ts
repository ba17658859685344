import cluster, { type Worker } from 'node:cluster';
import { once } from 'node:events';
import type { Logger } from 'pino';

/** What a worker tells the primary once it listens. */
export interface ListeningMessage {
  readonly type: 'memvault:listening';
  readonly url: string;
  readonly index: number;
}

/** A worker that exited before it listened; `code` is its exit code (78 for a configuration error). */
class WorkerStartError extends Error {
  constructor(
    readonly index: number,
    readonly code: number | null,
    readonly signal: string | null,
  ) {
    super(`worker ${index} exited before it listened (code ${code}, signal ${signal})`);
  }
}

/** The primary's order to a worker: finish in-flight requests, close the vault, exit 0. */
export const SHUTDOWN_MESSAGE = 'memvault:shutdown';
/**
 * A draining worker's last words and the primary's answer. node:cluster hands a connection to a worker over IPC
 * and keeps it until the worker acknowledges it; a worker that exits with such a hand-off still unread leaves the
 * connection open and unanswered in the primary forever (seen in CI during a rolling restart). So a worker that has
 * closed its server says so and exits only when the primary answers: the pipe keeps order, so every hand-off sent
 * before the answer has reached the worker, been refused (its server is closed) and gone to another worker.
 */
export const DRAINED_MESSAGE = 'memvault:drained';
export const EXIT_MESSAGE = 'memvault:exit';

const METRICS_REQUEST = 'memvault:metrics-request';
const METRICS_RESPONSE = 'memvault:metrics-response';
interface MetricsMessage {
  readonly type: typeof METRICS_REQUEST | typeof METRICS_RESPONSE;
  readonly id: number;
  readonly text?: string;
  readonly error?: string;
}
const isMetricsMessage = (message: unknown, type: MetricsMessage['type']): message is MetricsMessage =>
  typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type;

let metricsRequests = 0;
/** In a worker: every worker's metrics, aggregated by the primary (prom-client's AggregatorRegistry). */
export function requestClusterMetrics(timeoutMs = 10_000): Promise<string> {
  const id = ++metricsRequests;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      process.off('message', onMessage);
      reject(new Error('the cluster primary did not send the metrics in time'));
    }, timeoutMs);
    const onMessage = (message: unknown) => {
      if (!isMetricsMessage(message, METRICS_RESPONSE) || message.id !== id) return;
      clearTimeout(timer);
      process.off('message', onMessage);
      if (message.text !== undefined) resolve(message.text);
      else reject(new Error(message.error ?? 'metrics failed'));
    };
    process.on('message', onMessage);
    process.send?.({ type: METRICS_REQUEST, id } satisfies MetricsMessage);
  });
}

const isListening = (message: unknown): message is ListeningMessage =>
  typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'memvault:listening';

export interface PrimaryOptions {
  readonly workers: number;
  readonly logger: Logger;
  /** How long a worker may take to drain before it is killed (ms). */
  readonly drainMs?: number;
  /** Called once with the URL the first worker listens on. */
  readonly onListening?: (url: string) => void;
}

/**
 * The cluster's primary (`memvault serve --workers N`): it serves nothing itself. It starts worker 0 first (which
 * finishes interrupted key rotations and runs the schedules) and the others once it listens; they share the port
 * (node:cluster hands connections out round-robin) and the data dir (the vault's cross-process locks and the
 * shared session store make any worker able to serve any request).
 *
 * - A worker that dies (crash, kill -9) is replaced; requests it had in flight fail, acknowledged writes are
 *   durable, sessions live in the store.
 * - SIGHUP: rolling restart, one worker at a time — the replacement listens before the old one drains.
 * - SIGTERM / SIGINT: every worker drains (finishes in-flight requests), then the primary exits.
 */
export async function runPrimary(options: PrimaryOptions): Promise<void> {
  const { logger, workers } = options;
  const drainMs = options.drainMs ?? 10_000;
  const slots: Array<Worker | undefined> = new Array(workers).fill(undefined);
  const retiring = new WeakSet<Worker>();
  let stopping = false;
  let restarting = false;

  function fork(index: number): Promise<{ worker: Worker; url: string }> {
    const worker = cluster.fork({ MEMVAULT_WORKER_INDEX: String(index) });
    return new Promise((resolve, reject) => {
      const onMessage = (message: unknown) => {
        if (!isListening(message)) return;
        worker.off('exit', onExit);
        worker.off('message', onMessage);
        resolve({ worker, url: message.url });
      };
      const onExit = (code: number | null, signal: string | null) => {
        worker.off('message', onMessage);
        reject(new WorkerStartError(index, code, signal));
      };
      worker.on('message', onMessage);
      worker.once('exit', onExit);
    });
  }

  /** Asks a worker to drain and waits for it to exit; kills it when it takes longer than `drainMs`. */
  async function retire(worker: Worker): Promise<void> {
    retiring.add(worker);
    if (worker.isDead()) return;
    const exited = once(worker, 'exit');
    worker.send(SHUTDOWN_MESSAGE);
    const timer = setTimeout(() => {
      logger.warn({ pid: worker.process.pid }, 'worker did not drain in time: killing it');
      worker.process.kill('SIGKILL');
    }, drainMs);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  }

  // A worker asked for /metrics: gather every worker's registry and answer it.
  const { AggregatorRegistry } = await import('prom-client');
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: unknown) => {
    if (message === DRAINED_MESSAGE) {
      if (worker.isConnected()) worker.send(EXIT_MESSAGE);
      return;
    }
    if (!isMetricsMessage(message, METRICS_REQUEST)) return;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ type: METRICS_RESPONSE, id: message.id, text } satisfies MetricsMessage),
      (error: unknown) =>
        worker.send({
          type: METRICS_RESPONSE,
          id: message.id,
          error: (error as Error).message,
        } satisfies MetricsMessage),
    );
  });

  cluster.on('exit', (worker, code, signal) => {
    if (stopping || retiring.has(worker)) return;
    const index = slots.indexOf(worker);
    if (index < 0) return;
    logger.error({ index, pid: worker.process.pid, code, signal }, 'worker died: starting a replacement');
    slots[index] = undefined;
    const again = () =>
      fork(index).then(
        ({ worker: fresh }) => {
          if (stopping) void retire(fresh);
          else slots[index] = fresh;
        },
        (error: unknown) => {
          logger.error({ index, err: (error as Error).message }, 'replacement worker failed to start; retrying');
          if (!stopping) setTimeout(again, 1000).unref();
        },
      );
    setTimeout(again, 200).unref();
  });

  // Signals count from the first moment: a SIGTERM while workers still start drains what has started.
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const onHup = () => void rollingRestart();
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.off('SIGHUP', onHup);
    logger.info({ signal }, 'shutting down: every worker finishes its in-flight requests');
    const live = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    void Promise.allSettled(live.map(retire)).then(() => finish());
  };
  process.on('SIGHUP', onHup);
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));

  let first: { worker: Worker; url: string };
  try {
    first = await fork(0);
  } catch (error) {
    if (stopping) return done;
    // The first worker could not start (a wrong master key, a busy port): it said why on stderr. Exit as it did.
    stopping = true;
    if (error instanceof WorkerStartError) process.exit(error.code ?? 1);
    throw error;
  }
  slots[0] = first.worker;
  options.onListening?.(first.url);
  const rest = await Promise.allSettled(Array.from({ length: workers - 1 }, (_, i) => fork(i + 1)));
  rest.forEach((result, i) => {
    if (result.status === 'fulfilled') {
      slots[i + 1] = result.value.worker;
      if (stopping) void retire(result.value.worker);
    } else if (!stopping)
      logger.error({ index: i + 1, err: (result.reason as Error).message }, 'worker failed to start');
  });
  if (!stopping) logger.info({ workers: slots.filter(Boolean).length }, 'workers listening');

  async function rollingRestart(): Promise<void> {
    if (restarting || stopping) return;
    restarting = true;
    logger.info({ workers }, 'SIGHUP: restarting workers one by one');
    try {
      for (let index = 0; index < workers && !stopping; index++) {
        const old = slots[index];
        if (old) retiring.add(old);
        const fresh = await fork(index);
        slots[index] = fresh.worker;
        if (old) await retire(old);
      }
      logger.info({ workers }, 'rolling restart done');
    } catch (error) {
      logger.error({ err: (error as Error).message }, 'rolling restart stopped: a new worker failed to start');
    } finally {
      restarting = false;
    }
  }

  await done;
}

/** In a worker: reports that it listens, and drains when the primary says so (or on SIGTERM/SIGINT). */
export function workerLifecycle(
  index: number,
  url: string,
  stop: () => Promise<void>,
  logger: Logger,
  drainMs = 10_000,
): Promise<void> {
  process.send?.({ type: 'memvault:listening', url, index } satisfies ListeningMessage);
  return new Promise<void>((resolve) => {
    let stopping = false;
    const shutdown = (why: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ index, why }, 'worker draining');
      const force = setTimeout(() => process.exit(1), drainMs);
      force.unref();
      const drained = () => {
        // Without a primary there is no hand-off in flight; with one, wait for its answer (see DRAINED_MESSAGE).
        if (!process.connected || !process.send) return resolve();
        const fallback = setTimeout(resolve, 2000);
        fallback.unref();
        exitAllowed = () => {
          clearTimeout(fallback);
          resolve();
        };
        process.send(DRAINED_MESSAGE);
      };
      stop().then(drained, drained);
    };
    let exitAllowed: () => void = () => undefined;
    process.on('message', (message) => {
      if (message === SHUTDOWN_MESSAGE) shutdown('primary');
      else if (message === EXIT_MESSAGE) exitAllowed();
    });
    // The primary gone (killed) leaves no one to route connections: drain and exit.
    process.once('disconnect', () => shutdown('primary_gone'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    // Ctrl+C reaches the whole process group; the primary coordinates, so a worker ignores it.
    process.on('SIGINT', () => undefined);
  });
}

export const isClusterWorker = (): boolean => cluster.isWorker;
