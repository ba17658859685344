// `memvault` from the TypeScript sources (run with `node --import tsx`), so tests that spawn real server
// processes — cluster workers re-run this file too — need no build.
import { main } from '../../src/app/main.js';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 70;
  },
);
