import { expect, it } from 'vitest';
import { runnerIdLostReason } from '../../src/cli/serve.js';

it('a runner that lost its id says how: taken over while it was not heard from, its old holder resumed before its first write, or another runner started with it', () => {
  expect(runnerIdLostReason('acct-fx', { pid: 42, host: 'host-b', how: 'taken-over' })).toBe(
    'runner id acct-fx was taken over by process 42 on host-b while this runner was not heard from (stopped, frozen, or cut off from etcd for 3 heartbeats), so this runner stops: two runners never run under one id',
  );
  // Just started: "not heard from" sent the operator looking for a stall of this runner, which had none.
  const resumed = runnerIdLostReason('acct-fx', { pid: 42, host: 'host-b', how: 'resumed' });
  expect(resumed).toBe(
    "runner id acct-fx is process 42's on host-b again: it had stopped publishing, so this runner's start took the id over, but it published again before this runner's first heartbeat (it was frozen, and resumed), so this runner stops: two runners never run under one id",
  );
  expect(resumed).not.toContain('not heard from');
  // Two started under one id at the same moment: the one whose first write came second had never been heard from.
  const together = runnerIdLostReason('dup1', { pid: 42, host: 'host-b', how: 'together' });
  expect(together).toBe(
    'runner id dup1: another runner started under the same id at the same time (process 42 on host-b) and published first; this one stops: two runners never run under one id',
  );
  expect(together).not.toContain('not heard from');
});
