import { describe, expect, it } from 'vitest';
import { publicDetails, publicMessage } from './public-message.js';

describe('publicMessage', () => {
  it('hides absolute paths and lock owners, keeping the sentence', () => {
    expect(
      publicMessage(
        'Timed out after 30000 ms waiting for the lock on /srv/data/users/+14155550134 (held by process 4242 on host-a). If no memvault process is running, delete /srv/data/users/+14155550134/.lock.',
      ),
    ).toBe(
      'Timed out after 30000 ms waiting for the lock on <path>. If no memvault process is running, delete <path>.',
    );
    expect(publicMessage('Cannot use the data directory /tmp/x/data (ENOTDIR).')).toBe(
      'Cannot use the data directory <path> (ENOTDIR).',
    );
    expect(publicMessage('Timed out waiting for lock /a/b.lock (held by pid 17 on h)')).toBe(
      'Timed out waiting for lock <path>',
    );
    expect(publicMessage('owner was pid 912')).toBe('owner was another process');
  });

  it('leaves what is not a path alone', () => {
    for (const text of [
      'Unknown time zone "Mars/Base". Use an IANA name such as Europe/Lisbon.',
      'Send the body as JSON: Content-Type: application/json.',
      'The message is 70 KB; the limit is 64 KB.',
      'Line 3: text: Invalid input',
      'Open http://localhost:8787/v1/health to check.',
      'Calls to //cdn.example/x are not made.',
    ]) {
      expect(publicMessage(text)).toBe(text);
    }
  });

  it('cleans string details', () => {
    expect(publicDetails({ file: '/srv/data/master.key', line: 3 })).toEqual({ file: '<path>', line: 3 });
  });
});
