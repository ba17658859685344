import { validationError } from './errors.js';

/** Memory categories, least to most protective (DESIGN §4). */
export const CATEGORIES = ['CHRONOLOGICAL', 'GENERAL', 'CONFIDENTIAL', 'SECRET', 'ULTRASECRET'] as const;
export type Category = (typeof CATEGORIES)[number];

export type SecurityLevel = 1 | 2 | 3 | 4;
export const LEVELS: readonly SecurityLevel[] = [1, 2, 3, 4];

/** The files of a user's folder: the profile plus one per category (DESIGN §3). */
export const FILE_KINDS = ['USER', ...CATEGORIES] as const;
export type FileKind = (typeof FILE_KINDS)[number];

const LEVEL_OF: Readonly<Record<Category, SecurityLevel>> = {
  CHRONOLOGICAL: 1,
  GENERAL: 1,
  CONFIDENTIAL: 2,
  SECRET: 3,
  ULTRASECRET: 4,
};

export const LEVEL_NAMES: Readonly<Record<SecurityLevel, string>> = {
  1: 'Standard',
  2: 'Confidential',
  3: 'Secret',
  4: 'Ultra-secret',
};

export function levelOf(category: Category): SecurityLevel {
  return LEVEL_OF[category];
}

export function categoriesAtLevel(level: SecurityLevel): Category[] {
  return CATEGORIES.filter((c) => LEVEL_OF[c] === level);
}

export function isCategory(value: unknown): value is Category {
  return typeof value === 'string' && (CATEGORIES as readonly string[]).includes(value);
}

export function isSecurityLevel(value: unknown): value is SecurityLevel {
  return value === 1 || value === 2 || value === 3 || value === 4;
}

/** Parses a category name case-insensitively; anything else is a VALIDATION_ERROR naming the choices. */
export function parseCategory(value: string): Category {
  const upper = value.trim().toUpperCase();
  if (isCategory(upper)) return upper;
  throw validationError(`Unknown category "${value.slice(0, 40)}". Use one of: ${CATEGORIES.join(', ')}.`, {
    field: 'category',
  });
}

/** Protection rank: a higher rank never reads with fewer factors. */
export function protectionRank(category: Category): number {
  return CATEGORIES.indexOf(category);
}

/** The more protective of two categories (the rule for messages that fit several). */
export function moreProtective(a: Category, b: Category): Category {
  return protectionRank(a) >= protectionRank(b) ? a : b;
}

/** A human label, e.g. "Chronological". */
export function categoryLabel(category: Category): string {
  return category.charAt(0) + category.slice(1).toLowerCase();
}
