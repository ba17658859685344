/**
 * One of the two processes of the two-process stress test (two-process-stress.test.ts): runs appends, deletes,
 * corrections, key rotations, sign-ins and searches against a shared data dir until its time is up, and writes
 * every outcome the test must check to a journal (one line per event, appended synchronously, so a line exists
 * exactly when the call it records returned). `stage …` and `op …` lines, written before each stage and call
 * starts, tell where a worker that stalls is stuck.
 *
 * Usage: node --import tsx two-process-worker.ts <dataDir> <userId> <password> <worker> <durationMs> <journal>
 *   [rotate-first]
 */
import { appendFileSync } from 'node:fs';
import { loadConfig } from '../../src/app/config.js';
import { createMemvault } from '../../src/app/container.js';
import type { Category } from '../../src/core/category.js';
import type { UserId } from '../../src/core/entry.js';
import { MemvaultError } from '../../src/core/errors.js';
import type { Principal } from '../../src/services/types.js';

const [dataDir, user, password, worker, durationText, journal, first] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
  string,
  string | undefined,
];
const userId = user as UserId;
const began = Date.now();
const deadline = began + Number(durationText);
const meta = { channel: 'cli', userAgent: `stress-${worker}` };
const write = (line: string) => appendFileSync(journal, `${line}\n`);

// Every stage and every call is journalled before it starts, so a process that stalls can be told where: the
// test's watchdog prints the journal's tail.
write(`stage start pid ${process.pid} at ${Date.now() - began} ms`);
// Debug level, to the log file the test gives as stdout: the steps of a rotation are logged there.
const mv = await createMemvault(
  loadConfig({ MEMVAULT_DATA_DIR: dataDir, MEMVAULT_LOG_LEVEL: 'debug', MEMVAULT_LEVEL1: 'sealed' }),
);

// As every command that opens a person with their password does: a rotation a killed process left unfinished
// is finished first.
write(`stage resume at ${Date.now() - began} ms`);
await mv.resumeRotation(userId, password);

let principal!: Principal;
async function refresh(): Promise<void> {
  principal = { userId, opener: await mv.auth.openerFor(userId, [1, 2], { password }, meta), meta };
}
write(`stage open at ${Date.now() - began} ms`);
await refresh();
write(`stage run at ${Date.now() - began} ms`);

// Entries this worker may delete or correct: levels 1–2, which its opener holds.
const mine: string[] = [];
const movable: Category[] = ['CHRONOLOGICAL', 'GENERAL', 'CONFIDENTIAL'];
const anywhere: Category[] = [...movable, 'SECRET', 'ULTRASECRET'];
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;
const counts: Record<string, number> = {};
const count = (key: string) => {
  counts[key] = (counts[key] ?? 0) + 1;
};

/**
 * Errors a concurrent rotation explains: an opener holding the keys of a generation that has just been retired
 * (DATA_CORRUPTION until it is refreshed), or a rotation refused while the other process's is unfinished.
 */
function expected(error: unknown): boolean {
  if (!(error instanceof MemvaultError)) return false;
  // A rotation in the other process ends every session (credential epoch), also one being signed in right then.
  const endedWhileSigningIn = error.code === 'SECURITY_ERROR' && error.details?.credentialsChanged === true;
  return error.code === 'DATA_CORRUPTION' || error.code === 'CONFLICT' || endedWhileSigningIn;
}

/**
 * The mix, in a fixed cycle (so every kind of call happens within the first few dozen, however slow the machine)
 * entered at a random point: about half appends, a key rotation every 25 calls.
 */
const CYCLE = [
  'append',
  'search',
  'append',
  'delete',
  'append',
  'list',
  'append',
  'correct',
  'append',
  'signin',
  'append',
  'search',
  'append',
  'delete',
  'append',
  'correct',
  'append',
  'list',
  'search',
  'append',
] as const;
const offset = Math.floor(Math.random() * CYCLE.length);
/** A key rotation every this many calls (MEMVAULT_STRESS_ROTATE_EVERY, for hunting races by hand).*/
const ROTATE_EVERY = Number(process.env.MEMVAULT_STRESS_ROTATE_EVERY ?? 25);
let n = 0;
while (Date.now() < deadline) {
  n++;
  const op =
    (n === 1 && first === 'rotate-first') || (n + offset) % ROTATE_EVERY === 0
      ? 'rotate'
      : CYCLE[(n + offset) % CYCLE.length]!;
  write(`op ${n} ${op} at ${Date.now() - began} ms`);
  try {
    switch (op) {
      case 'append': {
        const category = pick(anywhere);
        const { entry } = await mv.memory.remember(principal, `stress ${worker} note ${n} about kayaking and tea`, {
          channel: 'cli',
          category,
        });
        write(`ack ${entry.id}`);
        if (category !== 'SECRET' && category !== 'ULTRASECRET') mine.push(entry.id);
        break;
      }
      case 'delete': {
        const id = mine.splice(Math.floor(Math.random() * mine.length), 1)[0];
        if (id === undefined) break;
        // The outcome of a delete that throws is unknown to the caller: the check accepts either for it.
        write(`deleting ${id}`);
        await mv.memory.delete(principal, id);
        write(`deleted ${id}`);
        break;
      }
      case 'correct': {
        const id = pick(mine);
        if (id === undefined) break;
        await mv.memory.correct(principal, id, pick(movable));
        break;
      }
      case 'rotate':
        write('rotating');
        {
          const rotateStarted = Date.now();
          await mv.rotateKeys(userId, password);
          write(`rotated ${Date.now() - rotateStarted}`);
        }
        await refresh();
        break;
      case 'signin': {
        const session = await mv.auth.signIn(userId, password, meta);
        await mv.auth.signOut(session.token);
        break;
      }
      case 'search':
        await mv.memory.search(principal, { text: 'kayaking tea', limit: 10 });
        break;
      case 'list':
        await mv.memory.list(principal, { limit: 20 });
        break;
    }
    count(`${op}:ok`);
  } catch (error) {
    const code = error instanceof MemvaultError ? error.code : 'UNEXPECTED';
    count(`${op}:${code}`);
    if (!expected(error)) write(`error ${op} ${code} ${error instanceof Error ? error.message : String(error)}`);
    if (error instanceof MemvaultError && error.code === 'DATA_CORRUPTION') await refresh().catch(() => undefined);
  }
}
write(`counts ${JSON.stringify(counts)}`);
write(`stage close at ${Date.now() - began} ms`);
await mv.close();
write(`stage closed at ${Date.now() - began} ms`);
