import { timingSafeEqual } from 'node:crypto';
import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What the HTTP edge records; one per process (worker), labelled with the worker's index. */
export interface ServerMetrics {
  readonly registry: Registry;
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  capture(category: string, source: string): void;
  error(code: string): void;
  /** How long one write waited for the person's vault lock. */
  lockWait(seconds: number): void;
  /** The text exposition: this process's metrics, or every worker's when `clusterMetrics` is given. */
  render(): Promise<{ contentType: string; body: string }>;
}

export interface MetricsOptions {
  readonly workerIndex: number;
  /** Live sessions in the shared store (asked at each scrape). */
  readonly sessions?: () => Promise<number>;
  /** Asks the cluster's primary for every worker's metrics (set in a `serve --workers N` worker). */
  readonly clusterMetrics?: () => Promise<string>;
}

/** Latency buckets for requests, in seconds: fine below the 200 ms target, coarse above it. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5];

/**
 * Prometheus metrics of one server process (prom-client): request latency per route pattern (never the concrete
 * path: it can carry ids), captures by category and classifier source, errors by code, live sessions, and Node's
 * defaults (event-loop lag, heap and resident memory, CPU, GC). Every series carries `worker`, so one scrape of a
 * cluster (aggregated through the primary) keeps each worker's series apart.
 */
export function createServerMetrics(options: MetricsOptions): ServerMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ worker: String(options.workerIndex) });
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  const requests = new Histogram({
    name: 'memvault_http_request_duration_seconds',
    help: 'HTTP request latency by route pattern, method and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: BUCKETS,
    registers: [registry],
  });
  const captures = new Counter({
    name: 'memvault_captures_total',
    help: 'Memories stored, by category and by which classifier decided (local or llm)',
    labelNames: ['category', 'source'] as const,
    registers: [registry],
  });
  const errors = new Counter({
    name: 'memvault_errors_total',
    help: 'Failed requests by error code',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const lockWaits = new Histogram({
    name: 'memvault_vault_lock_wait_seconds',
    help: "Time each vault write waited for the person's lock (this process's queue and other processes' locks)",
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers: [registry],
  });
  const sessions = options.sessions;
  new Gauge({
    name: 'memvault_sessions',
    help: 'Sessions in the shared session store (live or awaiting purge), as this worker sees it',
    registers: [registry],
    // Every worker reads the same store: keep one value, not their sum.
    aggregator: 'max',
    async collect() {
      if (sessions) this.set(await sessions());
    },
  });
  if (options.clusterMetrics) {
    // The primary's aggregation asks every worker's registries: constructing one makes this worker answer.
    new AggregatorRegistry();
    AggregatorRegistry.setRegistries([registry]);
  }
  return {
    registry,
    observeRequest(method, route, status, seconds) {
      requests.observe({ method, route, status: String(status) }, seconds);
    },
    capture(category, source) {
      captures.inc({ category, source });
    },
    error(code) {
      errors.inc({ code });
    },
    lockWait(seconds) {
      lockWaits.observe(seconds);
    },
    async render() {
      const body = options.clusterMetrics ? await options.clusterMetrics() : await registry.metrics();
      return { contentType: registry.contentType, body };
    },
  };
}

/** True for the loopback addresses, IPv4-mapped ones included. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/i.test(address);
}

/**
 * Who may read /metrics: with a token configured, whoever presents it (constant-time comparison); without one,
 * only a client on the loopback interface (the socket's address, never a forwarded one).
 */
export function metricsAllowed(token: string | undefined, authorization: string | undefined, peer: string | undefined) {
  if (token === undefined) return isLoopback(peer);
  const match = /^Bearer (\S+)$/i.exec(authorization?.trim() ?? '');
  if (!match?.[1]) return false;
  const a = Buffer.from(match[1]);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}
