import { EtcdPermissionDeniedError } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/config/errors.js';
import { EtcdGateway } from '../../src/store-etcd/gateway.js';
import { parseEtcdStoreUrl } from '../../src/store-etcd/url.js';

// No etcd here: the calls below never reach the client; they only give the gateway their outcomes,
// in the order each test settles them.
const gatewayFor = () => new EtcdGateway({ url: parseEtcdStoreUrl('etcd://127.0.0.1:1/unit'), callTimeoutMs: 2000 });

/** A call's outcome, settled when the test says. */
function held<T>() {
  let settle!: { resolve: (value: T) => void; reject: (err: unknown) => void };
  const promise = new Promise<T>((resolve, reject) => {
    settle = { resolve, reject };
  });
  return { promise, ...settle };
}

const ok = async () => 'ok';
const dropped = () => Promise.reject(new Error('14 UNAVAILABLE: Connection dropped'));

describe('etcd gateway: connected follows the newest news of etcd', () => {
  it('a call sent into a freeze that fails after a newer call got through does not say "unreachable" again; a failure after that does', async () => {
    const gateway = gatewayFor();
    const said: boolean[] = [];
    gateway.onConnection((connected) => said.push(connected));
    try {
      await gateway.call('probe', ok);
      // Sent while etcd is frozen: no answer yet.
      const sentIntoTheFreeze = held<string>();
      const heartbeat = gateway.call('runner heartbeat', () => sentIntoTheFreeze.promise).catch((err: unknown) => err);
      // The freeze noticed (the probe), then etcd back (the next probe).
      await expect(gateway.call('probe', dropped)).rejects.toBeInstanceOf(StoreUnavailableError);
      await gateway.call('probe', ok);
      expect(said).toEqual([true, false, true]);
      // The call from the freeze ends now: its failure is the caller's, and older than the probe's answer.
      sentIntoTheFreeze.reject(new Error('14 UNAVAILABLE: Connection dropped'));
      const failed = await heartbeat;
      expect(failed).toBeInstanceOf(StoreUnavailableError);
      expect((failed as StoreUnavailableError).detail).toBe(
        'runner heartbeat on etcd://127.0.0.1:1/unit/ failed (14 UNAVAILABLE: Connection dropped)',
      );
      expect(gateway.connected).toBe(true);
      expect(said).toEqual([true, false, true]);
      // A call begun after the last answer that fails is news: unreachable, with that failure.
      const failures: (string | undefined)[] = [];
      gateway.onConnection((_, failure) => failures.push(failure?.detail));
      await expect(gateway.call('probe', dropped)).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(gateway.connected).toBe(false);
      expect(said).toEqual([true, false, true, false]);
      expect(failures).toEqual(['probe on etcd://127.0.0.1:1/unit/ failed (14 UNAVAILABLE: Connection dropped)']);
    } finally {
      gateway.close();
    }
  });

  it("a refusal of this process's rights is etcd's answer now: unreachable even when another call got through while it was out", async () => {
    const gateway = gatewayFor();
    try {
      await gateway.call('probe', ok);
      const refused = held<string>();
      const write = gateway.call('commit', () => refused.promise).catch((err: unknown) => err);
      await gateway.call('probe', ok);
      refused.reject(new EtcdPermissionDeniedError('etcdserver: permission denied'));
      expect(await write).toBeInstanceOf(StoreUnavailableError);
      expect(gateway.connected).toBe(false);
    } finally {
      gateway.close();
    }
  });
});

describe('etcd gateway: a stop takes its calls within one deadline (stopping)', () => {
  it('a call made after stopping began ends at the stop deadline, not its own 2 s, and says so', async () => {
    const gateway = gatewayFor();
    try {
      await gateway.call('probe', ok);
      let sentWith: Date | undefined;
      const before = Date.now();
      gateway.stopping(200);
      const after = Date.now();
      // gRPC is handed the stop's deadline, not the call's own 2 s.
      const stopDeadline = () => {
        expect(sentWith!.getTime()).toBeGreaterThanOrEqual(before + 200);
        expect(sentWith!.getTime()).toBeLessThanOrEqual(after + 200);
      };
      const failed = await gateway
        .call('unregister API replica', (options) => {
          sentWith = options.deadline;
          return new Promise<never>(() => {});
        })
        .catch((err: unknown) => err);
      stopDeadline();
      expect(failed).toBeInstanceOf(StoreUnavailableError);
      expect((failed as StoreUnavailableError).detail).toBe(
        "unregister API replica on etcd://127.0.0.1:1/unit/ failed (no answer by the stop's deadline (this process is stopping))",
      );
      // A second `stopping` does not move the deadline on.
      gateway.stopping(10_000);
      const later = await gateway
        .call('revoke API replica lease', (options) => {
          sentWith = options.deadline;
          return Promise.reject(new Error('14 UNAVAILABLE: Connection dropped'));
        })
        .catch((err: unknown) => err);
      expect(later).toBeInstanceOf(StoreUnavailableError);
      stopDeadline();
    } finally {
      gateway.close();
    }
  });

  it('while etcd is known unreachable, a stopping process sends nothing: each call fails at once, named', async () => {
    const gateway = gatewayFor();
    try {
      await gateway.call('probe', ok);
      await expect(gateway.call('probe', dropped)).rejects.toBeInstanceOf(StoreUnavailableError);
      gateway.stopping(2000);
      let sent = 0;
      const failed = await gateway
        .call('runner stopped', async () => {
          sent += 1;
          return 'ok';
        })
        .catch((err: unknown) => err);
      expect(sent).toBe(0);
      expect(failed).toBeInstanceOf(StoreUnavailableError);
      expect((failed as StoreUnavailableError).detail).toBe(
        'runner stopped on etcd://127.0.0.1:1/unit/ failed (not sent: etcd is unreachable and this process is stopping)',
      );
    } finally {
      gateway.close();
    }
  });
});
