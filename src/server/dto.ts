import type { MemoryEntry } from '../core/entry.js';
import type { AuditRecord, SessionView } from '../ports/security.js';
import type { UserProfile } from '../ports/vault.js';

/** Wire shapes: explicit field lists, so a new internal field never leaks by accident. */

export function memoryDto(entry: MemoryEntry) {
  return {
    id: entry.id,
    date: entry.date,
    eventDate: entry.eventDate,
    category: entry.category,
    level: entry.level,
    tags: [...entry.tags],
    content: entry.content,
    analysis: entry.analysis,
    confidence: entry.confidence,
    related: [...entry.related],
    emotionalContext: entry.emotionalContext,
    channel: entry.channel,
    externalId: entry.externalId,
  };
}

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
  };
}

export function auditDto(record: AuditRecord) {
  const { prev: _prev, mac: _mac, userId: _user, ...rest } = record;
  return rest;
}
