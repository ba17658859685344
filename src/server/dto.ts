import type { AuditRecord, SessionView } from '../ports/security.js';
import type { UserProfile } from '../ports/vault.js';
import { memoryView } from '../services/views.js';

/** Wire shapes: explicit field lists, so a new internal field never leaks by accident. */

/** The HTTP shape of a memory is the shared view of src/services. */
export const memoryDto = memoryView;

export function sessionDto(session: SessionView) {
  const expires: Record<string, string> = {};
  for (const [level, at] of Object.entries(session.expires)) if (at) expires[level] = at;
  return {
    id: session.id,
    userId: session.userId,
    createdAt: session.createdAt,
    unlocked: [...session.unlocked],
    expires,
    totpEnrolled: session.totpEnrolled,
    passkeys: session.passkeys,
  };
}

export function profileDto(profile: UserProfile) {
  return {
    userId: profile.userId,
    name: profile.name,
    timezone: profile.timezone,
    createdAt: profile.createdAt,
    maxLevel: profile.maxLevel,
    email: profile.email,
    locale: profile.preferences.locale ?? null,
  };
}

export function auditDto(record: AuditRecord) {
  const { prev: _prev, mac: _mac, userId: _user, ...rest } = record;
  return rest;
}
