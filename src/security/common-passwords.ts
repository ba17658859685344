import { readFileSync } from 'node:fs';

/**
 * The ranked list of the most common passwords shipped in `assets/security/common-passwords.txt`
 * (provenance in `common-passwords.md` beside it). `src/security` and the built `dist/security` both sit two
 * folders below the package root, so one relative URL finds the file from either.
 */
const LIST_URL = new URL('../../assets/security/common-passwords.txt', import.meta.url);

let cached: ReadonlySet<string> | undefined;

/** The common-password set, loaded once on first use (about 49k entries, a few milliseconds). */
export function commonPasswords(): ReadonlySet<string> {
  if (cached === undefined) {
    const text = readFileSync(LIST_URL, 'utf8');
    const set = new Set<string>();
    for (const line of text.split('\n')) {
      const word = line.trim();
      if (word.length > 0) set.add(word);
    }
    cached = set;
  }
  return cached;
}
