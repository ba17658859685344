/**
 * What an error message may say outside the server: to an HTTP or MCP client, or on the CLI. Messages name
 * files so an operator can act, but absolute paths disclose the server's layout (and, under users/, whose
 * folder it is) and a lock owner's pid helps an attacker time a takeover; edges pass messages through here
 * and log the original at debug. The original never holds secrets (see STYLE.md), only paths and pids.
 */

/** "(held by process 4242 on host-a)", "(held by pid 4242 on host-a)". */
const LOCK_OWNER = /\s*\(held by (?:process|pid) \d+[^)]*\)/gi;
/** A pid named any other way. */
const PID = /\b(?:pid|process) \d+\b/gi;
/**
 * An absolute path: a slash at the start or after a space, quote or bracket, then path characters.
 * "Europe/Lisbon" and "application/json" do not start a path (a word character precedes the slash), nor does a
 * URL ("http://host/v1": a colon precedes, and "//" is not a path).
 */
const ABSOLUTE_PATH = /(?<=^|[\s"'`(=[])\/(?!\/)[^\s"'`()<>,;]*/g;

export const PATH_PLACEHOLDER = '<path>';

export function publicMessage(message: string): string {
  return message
    .replace(LOCK_OWNER, '')
    .replace(PID, 'another process')
    .replace(ABSOLUTE_PATH, (path) => {
      // A sentence's full stop after a path is not part of it.
      const trailing = /[.:]+$/.exec(path)?.[0] ?? '';
      return `${PATH_PLACEHOLDER}${trailing}`;
    });
}

/** `details` with every string passed through `publicMessage` (a `file` detail becomes "<path>"). */
export function publicDetails(details: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(details))
    out[key] = typeof value === 'string' ? publicMessage(value) : value;
  return out;
}
