import type { AuditRecord, RequestMeta } from '../ports/security.js';
import { networkOf } from './lockout.js';

/** Above this a record raises an alert to the user (DESIGN §5). */
export const RISK_ALERT_THRESHOLD = 0.7;

/** The signals behind a score, for the audit trail and the alert text. */
export type RiskSignal = 'new_device' | 'no_device' | 'new_network' | 'unusual_hour' | 'recent_failures';

export interface RiskAssessment {
  /** In [0, 1]. */
  readonly score: number;
  readonly signals: readonly RiskSignal[];
}

const WEIGHTS = {
  newDevice: 0.3,
  noDevice: 0.1,
  newNetwork: 0.25,
  unusualHour: 0.2,
  perRecentFailure: 0.1,
  maxFailures: 0.4,
} as const;
const RECENT_MS = 60 * 60_000;
/** Fewer successes than this are too little history to call an hour unusual. */
const MIN_HISTORY_FOR_HOURS = 5;

// Building an Intl formatter costs ~0.3 ms; scoring reads hundreds of records, so keep one per zone.
const hourFormats = new Map<string, Intl.DateTimeFormat | null>();

function hourFormat(timezone: string): Intl.DateTimeFormat | null {
  let format = hourFormats.get(timezone);
  if (format === undefined) {
    try {
      format = new Intl.DateTimeFormat('en-GB', { timeZone: timezone, hour: 'numeric', hourCycle: 'h23' });
    } catch {
      format = null;
    }
    if (hourFormats.size < 1000) hourFormats.set(timezone, format);
  }
  return format;
}

/** Hour of day (0–23) of an instant in an IANA zone; UTC when the zone is unknown. */
export function localHour(at: Date, timezone: string): number {
  const format = hourFormat(timezone);
  return format ? Number.parseInt(format.format(at), 10) % 24 : at.getUTCHours();
}

/**
 * Scores an attempt against the user's own history (newest records first or in any order):
 * a device never seen in a success, a network (IPv4 /24, IPv6 /48) never seen in a success, an hour of day
 * (in the user's zone) outside the hours they have been active, and failures in the last hour.
 * A user without successful history scores only on failures: everything is new on day one.
 */
export function assessRisk(input: {
  readonly history: readonly AuditRecord[];
  readonly meta: RequestMeta;
  readonly now: Date;
  readonly timezone: string;
}): RiskAssessment {
  const { history, meta, now, timezone } = input;
  const successes = history.filter((r) => r.result === 'success' && r.action !== 'enroll');
  const signals: RiskSignal[] = [];
  let score = 0;
  if (successes.length > 0) {
    if (!meta.deviceId) {
      score += WEIGHTS.noDevice;
      signals.push('no_device');
    } else if (!successes.some((r) => r.device === meta.deviceId)) {
      score += WEIGHTS.newDevice;
      signals.push('new_device');
    }
    const network = networkOf(meta.ip);
    if (network !== 'unknown' && !successes.some((r) => networkOf(r.ip) === network)) {
      score += WEIGHTS.newNetwork;
      signals.push('new_network');
    }
    if (successes.length >= MIN_HISTORY_FOR_HOURS) {
      const active = new Set(successes.map((r) => localHour(new Date(r.at), timezone)));
      const hour = localHour(now, timezone);
      // An hour next to a usual one is not unusual: people sign in at 8:55 and at 9:05.
      if (![hour, (hour + 1) % 24, (hour + 23) % 24].some((h) => active.has(h))) {
        score += WEIGHTS.unusualHour;
        signals.push('unusual_hour');
      }
    }
  }
  const since = now.getTime() - RECENT_MS;
  const failures = history.filter((r) => r.result !== 'success' && Date.parse(r.at) >= since).length;
  if (failures > 0) {
    score += Math.min(WEIGHTS.maxFailures, failures * WEIGHTS.perRecentFailure);
    signals.push('recent_failures');
  }
  return { score: Math.round(Math.min(1, score) * 100) / 100, signals };
}
