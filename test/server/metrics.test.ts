import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createHttpApp } from '../../src/server/http-app.js';
import { createServerMetrics, isLoopback, metricsAllowed } from '../../src/server/metrics.js';
import { fakeApp } from './fakes.js';

const TOKEN = 'metrics-token-0123456789abcdef';

function appWithMetrics(metricsToken?: string) {
  const fx = fakeApp();
  const app = createHttpApp({
    memory: fx.memory,
    auth: fx.auth,
    audit: fx.audit,
    clock: fx.clock,
    logger: pino({ level: 'silent' }),
    config: {
      cookieSecure: false,
      maxBodyBytes: 64 * 1024,
      webauthnOrigin: 'http://localhost',
      web: false,
      ...(metricsToken ? { metricsToken } : {}),
    },
    metrics: createServerMetrics({ workerIndex: 3, sessions: async () => 7 }),
  });
  return app;
}

describe('GET /metrics', () => {
  it('serves latency per route pattern, captures, errors, sessions and event-loop lag, labelled by worker', async () => {
    const app = appWithMetrics(TOKEN);
    const up = await app.request('/v1/auth/sign-up', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ phone: '+14155550134', password: 'correct horse battery' }),
    });
    const { token } = (await up.json()) as { token: string };
    const saved = await app.request('/v1/memories', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ text: 'Lunch with Sara at the harbour.' }),
    });
    expect(saved.status).toBe(201);
    expect(
      (await app.request('/v1/memories/01JDQ7Z3N5X8Y2W4V6T8R0P2M4', { headers: { authorization: 'Bearer x' } })).status,
    ).toBe(401);
    const res = await app.request('/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toMatch(
      /memvault_http_request_duration_seconds_count\{worker="3",method="POST",route="\/v1\/memories",status="201"\} 1/,
    );
    expect(text).toMatch(
      /memvault_http_request_duration_seconds_bucket\{[^}]*route="\/v1\/memories\/:id"[^}]*status="401"/,
    );
    expect(text).toMatch(/memvault_captures_total\{category="[A-Z]+",source="local",worker="3"\} 1/);
    expect(text).toMatch(/memvault_errors_total\{code="SECURITY_ERROR",worker="3"\} 1/);
    expect(text).toMatch(/memvault_sessions\{worker="3"\} 7/);
    expect(text).toMatch(/nodejs_eventloop_lag_p99_seconds\{worker="3"\}/);
    expect(text).toMatch(/process_resident_memory_bytes\{worker="3"\}/);
    // Concrete ids never become labels.
    expect(text).not.toContain('01JDQ7Z3N5X8Y2W4V6T8R0P2M4');
  });

  it('refuses without the token, or with a wrong one of any length', async () => {
    const app = appWithMetrics(TOKEN);
    expect((await app.request('/metrics')).status).toBe(403);
    expect((await app.request('/metrics', { headers: { authorization: `Bearer ${TOKEN}x` } })).status).toBe(403);
    expect((await app.request('/metrics', { headers: { authorization: 'Bearer short' } })).status).toBe(403);
  });

  it('without a token answers loopback clients only', async () => {
    const app = appWithMetrics();
    const res = await app.request('/metrics');
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('MEMVAULT_METRICS_TOKEN');
    expect(metricsAllowed(undefined, undefined, '127.0.0.1')).toBe(true);
    expect(metricsAllowed(undefined, undefined, '::ffff:127.0.0.9')).toBe(true);
    expect(metricsAllowed(undefined, undefined, '::1')).toBe(true);
    expect(metricsAllowed(undefined, `Bearer ${TOKEN}`, '203.0.113.9')).toBe(false);
    expect(metricsAllowed(TOKEN, undefined, '127.0.0.1')).toBe(false);
    expect(isLoopback('128.0.0.1')).toBe(false);
    expect(isLoopback(undefined)).toBe(false);
  });
});
