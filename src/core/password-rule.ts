/**
 * The password length rule, in one place: the policy (src/security/passwords.ts) enforces it, and the HTTP edge
 * states it to the web app (a meta tag in the served page), so the hint, the field's `minlength` and the server
 * can never disagree.
 */

/** Shortest accepted password, in characters (code points) after NFKC normalisation. */
export const PASSWORD_MIN_LENGTH = 10;
/** Longest accepted password; bounds the work Argon2id does for one attempt. */
export const PASSWORD_MAX_LENGTH = 256;
