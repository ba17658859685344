/**
 * Whether `text` holds `secret`. A secret made only of digits (a locker code, a TOTP code) counts only as a token
 * of its own: inside a longer run of digits or hex — an epoch in milliseconds, a SHA-256 in an audit record, a
 * hashed id — it is a chance match (a 64-character hex hash holds a given 4-digit run about once in 1,000).
 * The no-leak scan failed CI once on the locker code '5521' inside a timestamp in sessions.db-wal.
 */
export const holdsSecret = (text: string, secret: string): boolean =>
  /^\d+$/.test(secret) ? new RegExp(`(?<![0-9A-Za-z])${secret}(?![0-9A-Za-z])`).test(text) : text.includes(secret);
