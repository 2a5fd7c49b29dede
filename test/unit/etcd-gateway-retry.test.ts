import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BrokenCircuitError } from 'cockatiel';
import { EtcdAuthenticationFailedError, EtcdPermissionDeniedError, GRPCFailedPreconditionError, GRPCInvalidArgumentError } from 'etcd3';
import { describe, expect, it, onTestFinished } from 'vitest';
import { StoreRefusedError, StoreUnavailableError } from '../../src/config/errors.js';
import { EtcdGateway } from '../../src/store-etcd/gateway.js';
import { parseEtcdStoreUrl } from '../../src/store-etcd/url.js';
import { makeTlsFiles } from '../helpers/etcd.js';

// No etcd here: the calls below never reach the client; they only give the gateway their outcomes.
const gatewayFor = () => new EtcdGateway({ url: parseEtcdStoreUrl('etcd://127.0.0.1:1/unit'), callTimeoutMs: 2000 });

describe('etcd gateway: which failed calls are sent again within the deadline', () => {
  it('a call gRPC failed before sending it (no connection to the member yet) is sent again, and then answers', async () => {
    const gateway = gatewayFor();
    let attempts = 0;
    try {
      const answer = await gateway.call('read', async () => {
        attempts += 1;
        if (attempts < 3) throw new Error('14 UNAVAILABLE: No connection established. Last error: null. Resolution note: ');
        return 'value';
      });
      expect(answer).toBe('value');
      expect(attempts).toBe(3);
      expect(gateway.connected).toBe(true);
    } finally {
      gateway.close();
    }
  });

  it("a refusal of this process's credentials or rights is unavailability (the replica cannot use its store): 503, disconnected, not retried", async () => {
    const gateway = gatewayFor();
    let attempts = 0;
    try {
      for (const refusal of [
        new EtcdPermissionDeniedError('etcdserver: permission denied'),
        new EtcdAuthenticationFailedError('etcdserver: authentication failed, invalid user ID or password'),
        new GRPCInvalidArgumentError('3 INVALID_ARGUMENT: etcdserver: user name is empty'),
      ]) {
        const failed = await gateway
          .call('commit', async () => {
            attempts += 1;
            throw refusal;
          })
          .catch((err: unknown) => err);
        expect(failed).toBeInstanceOf(StoreUnavailableError);
        expect((failed as StoreUnavailableError).detail).toBe(
          `commit on etcd://127.0.0.1:1/unit/ failed (etcd refused this process's credentials or rights: ${refusal.message})`,
        );
        expect(gateway.connected).toBe(false);
      }
      expect(attempts).toBe(3);
    } finally {
      gateway.close();
    }
  });

  it('a call etcd answered with a refusal (invalid argument, failed precondition) is not unavailability: named, not retried, still connected', async () => {
    const gateway = gatewayFor();
    let attempts = 0;
    const disconnects: boolean[] = [];
    gateway.onConnection((connected) => disconnects.push(connected));
    try {
      for (const refusal of [
        new GRPCInvalidArgumentError('3 INVALID_ARGUMENT: etcdserver: duplicate key given in txn request'),
        new GRPCFailedPreconditionError('9 FAILED_PRECONDITION: etcdserver: requested lease not found'),
      ]) {
        const failed = await gateway
          .call('commit', async () => {
            attempts += 1;
            throw refusal;
          })
          .catch((err: unknown) => err);
        expect(failed).toBeInstanceOf(StoreRefusedError);
        expect(failed).not.toBeInstanceOf(StoreUnavailableError);
        expect((failed as StoreRefusedError).detail).toBe(`commit on etcd://127.0.0.1:1/unit/: ${refusal.message}`);
        expect((failed as StoreRefusedError).cause).toBe(refusal);
      }
      expect(attempts).toBe(2);
      expect(gateway.connected).toBe(true);
      expect(disconnects).toEqual([true]);
    } finally {
      gateway.close();
    }
  });

  it('a retry-safe call etcd answered while choosing a leader ("leader changed", "no leader") is sent again, and then answers', async () => {
    const gateway = gatewayFor();
    const tries: string[] = [];
    try {
      for (const operation of ['read config', 'commit']) {
        let attempts = 0;
        const answer = await gateway.call(operation, async () => {
          attempts += 1;
          tries.push(operation);
          if (attempts === 1) throw new Error('14 UNAVAILABLE: etcdserver: leader changed');
          if (attempts === 2) throw new Error('14 UNAVAILABLE: etcdserver: no leader');
          return 'value';
        });
        expect(answer).toBe('value');
      }
      expect(tries).toEqual(['read config', 'read config', 'read config', 'commit', 'commit', 'commit']);
      expect(gateway.connected).toBe(true);
    } finally {
      gateway.close();
    }
  });

  it.each(['request timed out, possibly due to connection lost', 'request timed out'])(
    'a retry-safe try etcd answered "%s" (its time ran out on the member) goes on to the next try with the rest of the time',
    async (said) => {
      // 300 ms: a first try of 105 ms (TRY_SHARE), then the rest. A follower that lost its leader says
      // "connection lost" when the deadline sent with a commit passes there; a slow disk, plain "request timed out".
      const gateway = new EtcdGateway({ url: parseEtcdStoreUrl('etcd://127.0.0.1:1/unit'), callTimeoutMs: 300 });
      try {
        for (const operation of ['read config', 'commit']) {
          let tries = 0;
          const answer = await gateway.call(operation, async () => {
            tries += 1;
            if (tries === 1) throw new Error(`14 UNAVAILABLE: etcdserver: ${said}`);
            return 'value';
          });
          expect(answer).toBe('value');
          expect(tries).toBe(2);
        }
        expect(gateway.connected).toBe(true);

        // Its last try answered so: unavailable, and a commit's outcome is unknown (the proposal may still commit).
        let attempts = 0;
        const failed = await gateway
          .call('commit', async () => {
            attempts += 1;
            throw new Error(`14 UNAVAILABLE: etcdserver: ${said}`);
          })
          .catch((err: unknown) => err);
        expect(failed).toBeInstanceOf(StoreUnavailableError);
        expect((failed as StoreUnavailableError).answerLost).toBe(true);
        expect((failed as StoreUnavailableError).detail).toBe(
          `commit on etcd://127.0.0.1:1/unit/ failed (14 UNAVAILABLE: etcdserver: ${said})`,
        );
        expect(attempts).toBe(2);
      } finally {
        gateway.close();
      }
    },
  );

  it('an election that outlasts the deadline ends the call as unavailable, naming what etcd said; a call not safe to repeat is not sent again', async () => {
    const gateway = gatewayFor();
    try {
      let attempts = 0;
      const started = performance.now();
      const failed = await gateway
        .call(
          'read config',
          async () => {
            attempts += 1;
            throw new Error('14 UNAVAILABLE: etcdserver: no leader');
          },
          Date.now() + 450,
        )
        .catch((err: unknown) => err);
      expect(failed).toBeInstanceOf(StoreUnavailableError);
      expect((failed as StoreUnavailableError).detail).toBe(
        'read config on etcd://127.0.0.1:1/unit/ failed (14 UNAVAILABLE: etcdserver: no leader)',
      );
      expect(attempts).toBeGreaterThan(1);
      expect(performance.now() - started).toBeGreaterThanOrEqual(300);
      expect(gateway.connected).toBe(false);

      let once = 0;
      const notRetried = await gateway
        .call('token create', async () => {
          once += 1;
          throw new Error('14 UNAVAILABLE: etcdserver: leader changed');
        })
        .catch((err: unknown) => err);
      expect(notRetried).toBeInstanceOf(StoreUnavailableError);
      expect(once).toBe(1);
    } finally {
      gateway.close();
    }
  });

  it('a call that may have reached etcd (the connection dropped in flight) is not sent again: 503 at once', async () => {
    const gateway = gatewayFor();
    let attempts = 0;
    try {
      const failed = await gateway
        .call('commit', async () => {
          attempts += 1;
          throw new Error('14 UNAVAILABLE: Connection dropped');
        })
        .catch((err: unknown) => err);
      expect(failed).toBeInstanceOf(StoreUnavailableError);
      expect((failed as StoreUnavailableError).detail).toContain(
        'commit on etcd://127.0.0.1:1/unit/ failed (14 UNAVAILABLE: Connection dropped)',
      );
      expect(attempts).toBe(1);
    } finally {
      gateway.close();
    }
  });

  it('"no member answered" names the TLS reasons that fit the files given (a client certificate or a CA named when none was given, before)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'scp-gateway-tls-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const files = await makeTlsFiles(dir);
    const detail = (tls: { ca?: Buffer; cert?: Buffer; key?: Buffer }) => {
      const gateway = new EtcdGateway({ url: parseEtcdStoreUrl('etcd://127.0.0.1:1/unit'), tls, tlsReloadMs: 0 });
      try {
        return gateway.unavailable('read', new Error('14 UNAVAILABLE: No connection established. Last error: null')).detail;
      } finally {
        gateway.close();
      }
    };
    expect(detail({ ca: readFileSync(files.caFile) })).toContain(
      'a firewall, or TLS: the members require a client certificate (--etcd-cert, --etcd-key), --etcd-ca is not the CA of theirs, or their certificate does not name the host --store gives (its subject alternative names))',
    );
    expect(detail({ cert: readFileSync(files.clientCertFile), key: readFileSync(files.clientKeyFile) })).toContain(
      'or TLS: the members refused this client certificate (--etcd-cert), their certificate is not signed by a CA this machine trusts (give --etcd-ca), or their certificate',
    );
  });

  it('one that never gets a connection fails when its deadline is spent, not before', async () => {
    const gateway = gatewayFor();
    let attempts = 0;
    const started = performance.now();
    try {
      const failed = await gateway
        .call(
          'read',
          async () => {
            attempts += 1;
            throw new Error('14 UNAVAILABLE: No connection established. Last error: null');
          },
          Date.now() + 450,
        )
        .catch((err: unknown) => err);
      expect(failed).toBeInstanceOf(StoreUnavailableError);
      // In the operator's words, as for open circuits (which of the two ends the deadline depends on timing).
      expect((failed as StoreUnavailableError).detail).toBe(
        'read on etcd://127.0.0.1:1/unit/ failed (no member answered: each refused the connection or did not answer (etcd down, a wrong host or port, a firewall, or members that speak only TLS (then give --etcd-ca)))',
      );
      expect(attempts).toBeGreaterThan(1);
      expect(performance.now() - started).toBeGreaterThanOrEqual(300);
    } finally {
      gateway.close();
    }
  });

  it('one whose last try is still waiting for a connection when the deadline ends is "no member answered", not a bare timeout', async () => {
    const gateway = gatewayFor();
    let attempts = 0;
    try {
      const failed = await gateway
        .call(
          'read',
          (options) => {
            attempts += 1;
            if (attempts === 1) return Promise.reject(new Error('14 UNAVAILABLE: No connection established. Last error: null'));
            // gRPC still connecting: this try never settles before the deadline.
            expect(options.deadline).toBeInstanceOf(Date);
            return new Promise<never>(() => {});
          },
          Date.now() + 400,
        )
        .catch((err: unknown) => err);
      expect(failed).toBeInstanceOf(StoreUnavailableError);
      expect((failed as StoreUnavailableError).detail).toBe(
        'read on etcd://127.0.0.1:1/unit/ failed (no member answered: each refused the connection or did not answer (etcd down, a wrong host or port, a firewall, or members that speak only TLS (then give --etcd-ca)))',
      );
      expect(attempts).toBe(2);
    } finally {
      gateway.close();
    }
  });

  it('a commit sent and not answered in its try is "outcome unknown" even when every later try finds the members skipped (circuits open)', async () => {
    // 300 ms: a first try of 105 ms (TRY_SHARE), then the rest.
    const gateway = new EtcdGateway({ url: parseEtcdStoreUrl('etcd://127.0.0.1:1/unit'), callTimeoutMs: 300 });
    let attempts = 0;
    try {
      const failed = await gateway
        .call('commit', () => {
          attempts += 1;
          // The first reaches a member that never answers; after it, that member's circuit is open (the only one).
          return attempts === 1 ? new Promise<never>(() => {}) : Promise.reject(new BrokenCircuitError());
        })
        .catch((err: unknown) => err);
      expect(failed).toBeInstanceOf(StoreUnavailableError);
      // The write may have landed: the store then checks whether it did (CommitUncertainError), and the API says UNKNOWN.
      expect((failed as StoreUnavailableError).answerLost).toBe(true);
      expect((failed as StoreUnavailableError).detail).toBe('commit on etcd://127.0.0.1:1/unit/ failed (no answer within 300 ms)');
      expect(attempts).toBeGreaterThan(1);
    } finally {
      gateway.close();
    }
  });

  it.each([
    ['leader changed', 'it may still land: outcome unknown', true],
    ['request timed out, possibly due to previous leader failure', 'proposed, it may still commit: outcome unknown', true],
    ['no leader', 'nothing was proposed: never sent', false],
  ])('a commit etcd answered "%s" while later tries all find the members skipped (circuits open): %s', async (said, _, mayHaveLanded) => {
    const gateway = gatewayFor();
    let attempts = 0;
    try {
      const failed = await gateway
        .call(
          'commit',
          () => {
            attempts += 1;
            // The member that answered is then skipped (its circuit opened), as are the others.
            return Promise.reject(attempts === 1 ? new Error(`14 UNAVAILABLE: etcdserver: ${said}`) : new BrokenCircuitError());
          },
          Date.now() + 450,
        )
        .catch((err: unknown) => err);
      expect(failed).toBeInstanceOf(StoreUnavailableError);
      expect(attempts).toBeGreaterThan(2);
      expect((failed as StoreUnavailableError).answerLost).toBe(mayHaveLanded);
      expect((failed as StoreUnavailableError).detail).toBe(
        mayHaveLanded
          ? `commit on etcd://127.0.0.1:1/unit/ failed (14 UNAVAILABLE: etcdserver: ${said})`
          : 'commit on etcd://127.0.0.1:1/unit/ failed (no member answered: each refused the connection or did not answer (etcd down, a wrong host or port, a firewall, or members that speak only TLS (then give --etcd-ca)))',
      );
    } finally {
      gateway.close();
    }
  });

  it.each([
    ['commit', ['no leader'], 'no leader', false],
    ['commit', ['leader changed', 'no leader'], 'leader changed', true],
    [
      'commit',
      ['request timed out, possibly due to previous leader failure', 'no leader'],
      'request timed out, possibly due to previous leader failure',
      true,
    ],
    ['token revoke', ['no leader'], 'no leader', false],
  ])(
    'a %s whose tries etcd answered %j, the last one "no leader" as its time ran out: it names "%s", outcome unknown: %s',
    async (operation, said, named, mayHaveLanded) => {
      const gateway = gatewayFor();
      let attempts = 0;
      try {
        const failed = await gateway
          .call(
            operation,
            () => {
              attempts += 1;
              return Promise.reject(new Error(`14 UNAVAILABLE: etcdserver: ${said[Math.min(attempts, said.length) - 1]}`));
            },
            Date.now() + 350,
          )
          .catch((err: unknown) => err);
        expect(failed).toBeInstanceOf(StoreUnavailableError);
        // A commit is sent again every 100 ms while etcd elects; a token revoke is not safe to repeat.
        if (operation === 'commit') expect(attempts).toBeGreaterThan(1);
        else expect(attempts).toBe(1);
        expect((failed as StoreUnavailableError).answerLost).toBe(mayHaveLanded);
        expect((failed as StoreUnavailableError).neverSent).toBe(!mayHaveLanded);
        expect((failed as StoreUnavailableError).detail).toBe(
          `${operation} on etcd://127.0.0.1:1/unit/ failed (14 UNAVAILABLE: etcdserver: ${named})`,
        );
      } finally {
        gateway.close();
      }
    },
  );

  it('every read the etcd store makes (by the names its calls give) goes to the next member after a try a hung member holds', async () => {
    const dir = fileURLToPath(new URL('../../src/store-etcd/', import.meta.url));
    const reads = new Set<string>();
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      for (const m of readFileSync(path.join(dir, file), 'utf8').matchAll(/\.call\(\s*'((?:read|check) [^']+|probe)'/g)) reads.add(m[1]!);
    }
    // The fleet's check before it calls a runner STALE among them (it waited out its whole 2 s, then counted as read).
    expect(reads).toContain('read runners');
    expect(reads.size).toBeGreaterThan(5);
    for (const operation of reads) {
      // 300 ms: a first try of 105 ms (TRY_SHARE), then the rest.
      const gateway = new EtcdGateway({ url: parseEtcdStoreUrl('etcd://127.0.0.1:1/unit'), callTimeoutMs: 300 });
      let attempts = 0;
      try {
        const answer = await gateway
          .call(operation, () => {
            attempts += 1;
            return attempts === 1 ? new Promise<never>(() => {}) : Promise.resolve('value');
          })
          .catch((err: unknown) => String((err as StoreUnavailableError).detail ?? err));
        expect([operation, answer, attempts]).toEqual([operation, 'value', 2]);
      } finally {
        gateway.close();
      }
    }
  });

  it.each([
    ['waiting for name resolution', 'never sent: "no member answered"', false],
    ['name resolution: 0.001s,Waiting for LB pick', 'never sent: "no member answered"', false],
    ['LB pick: 0.001s,remote_addr=127.0.0.1:2379', 'sent, no answer: outcome unknown', true],
  ])('a commit whose last try gRPC timed out "%s" after one that never left: %s', async (where, _, sent) => {
    const gateway = gatewayFor();
    let attempts = 0;
    try {
      const failed = await gateway
        .call(
          'commit',
          () => {
            attempts += 1;
            if (attempts === 1) return Promise.reject(new Error('14 UNAVAILABLE: No connection established. Last error: null'));
            // The resend after the pause had a few ms left (a sleep that overran on a loaded host).
            return Promise.reject(
              Object.assign(new Error(`4 DEADLINE_EXCEEDED: Deadline exceeded after 0.001s,${where}`), {
                name: 'GRPCDeadlineExceededError',
              }),
            );
          },
          // Room for the resend however loaded the host (150 ms here failed under a parallel unit run:
          // the first refusal came back too late for a pause, one attempt); a try that never left is
          // sent again while time is left, so the last one decides, as when it had a few ms left.
          Date.now() + 1000,
        )
        .catch((err: unknown) => err);
      if (sent) expect(attempts).toBe(2);
      else expect(attempts).toBeGreaterThanOrEqual(2);
      expect(failed).toBeInstanceOf(StoreUnavailableError);
      expect((failed as StoreUnavailableError).answerLost).toBe(sent);
      expect((failed as StoreUnavailableError).detail).toBe(
        sent
          ? `commit on etcd://127.0.0.1:1/unit/ failed (4 DEADLINE_EXCEEDED: Deadline exceeded after 0.001s,${where})`
          : 'commit on etcd://127.0.0.1:1/unit/ failed (no member answered: each refused the connection or did not answer (etcd down, a wrong host or port, a firewall, or members that speak only TLS (then give --etcd-ca)))',
      );
    } finally {
      gateway.close();
    }
  });

  it('one that was sent and is never answered is a timeout in those words', async () => {
    const gateway = gatewayFor();
    try {
      const failed = await gateway.call('read', () => new Promise<never>(() => {}), Date.now() + 200).catch((err: unknown) => err);
      expect(failed).toBeInstanceOf(StoreUnavailableError);
      expect((failed as StoreUnavailableError).detail).toBe('read on etcd://127.0.0.1:1/unit/ failed (no answer within 2000 ms)');
    } finally {
      gateway.close();
    }
  });
});

const NO_CONNECTION = '14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1';
const DROPPED = '14 UNAVAILABLE: Connection dropped';
/** An error as grpc-js gives it to etcd3 (which types it by its message and code). */
const grpcError = (message: string) => Object.assign(new Error(message), { code: 14, details: message.slice(15) });

/**
 * A gateway whose calls go through etcd3's own pool (its resend of a failed try to the next member,
 * the member's circuit), with the member's KV client replaced: each try of a transaction fails as
 * gRPC would fail it, in the order given ('ok': answered), then "No connection established" for as
 * long as it is asked.
 */
function gatewayWithTries(tries: (string | 'ok')[]) {
  const gateway = gatewayFor();
  const pool = (gateway.client as unknown as { pool: { hosts: { getServiceClient: (name: string) => unknown }[] } }).pool;
  let sent = 0;
  const kv = {
    txn: (_payload: unknown, _metadata: unknown, _options: unknown, done: (err: Error | null, res?: unknown) => void) => {
      const outcome = tries[sent] ?? NO_CONNECTION;
      sent += 1;
      setImmediate(() => (outcome === 'ok' ? done(null, { succeeded: true, responses: [] }) : done(grpcError(outcome))));
    },
  };
  for (const host of pool.hosts) host.getServiceClient = () => kv;
  return {
    gateway,
    sent: () => sent,
    commit: (deadlineMs: number) =>
      gateway.call('commit', (options) => gateway.client.kv.txn({ compare: [], success: [] }, options), Date.now() + deadlineMs),
  };
}

describe("etcd gateway: etcd3's resend of a try to the next member", () => {
  it.each([
    ['the connection dropped after sending, then two tries found no connection', [DROPPED, NO_CONNECTION, NO_CONNECTION]],
    ['no connection, then the connection dropped after sending, then no connection', [NO_CONNECTION, DROPPED, NO_CONNECTION]],
  ])('a commit whose tries went: %s, is "outcome unknown", naming the dropped connection', async (_, tries) => {
    const { gateway, sent, commit } = gatewayWithTries(tries);
    try {
      const failed = await commit(400).catch((err: unknown) => err);
      expect(failed).toBeInstanceOf(StoreUnavailableError);
      expect((failed as StoreUnavailableError).answerLost).toBe(true);
      expect((failed as StoreUnavailableError).detail).toBe(`commit on etcd://127.0.0.1:1/unit/ failed (${DROPPED})`);
      // etcd3's three tries (one member: hosts + 1); the gateway does not send it again.
      expect(sent()).toBe(3);
    } finally {
      gateway.close();
    }
  });

  it('a commit none of whose tries found a connection was never sent: sent again until its deadline, then "no member answered"', async () => {
    const { gateway, sent, commit } = gatewayWithTries([]);
    try {
      const failed = await commit(400).catch((err: unknown) => err);
      expect(failed).toBeInstanceOf(StoreUnavailableError);
      expect((failed as StoreUnavailableError).answerLost).toBe(false);
      expect((failed as StoreUnavailableError).detail).toMatch(/^commit on etcd:\/\/127.0.0.1:1\/unit\/ failed \(no member answered: /);
      // etcd3's three, then the member's circuit is open: the gateway's resends never leave.
      expect(sent()).toBe(3);
    } finally {
      gateway.close();
    }
  });

  it('a commit whose connection dropped and whose resend to the next member is answered is made', async () => {
    const { gateway, sent, commit } = gatewayWithTries([DROPPED, 'ok']);
    try {
      await expect(commit(400)).resolves.toMatchObject({ succeeded: true });
      expect(sent()).toBe(2);
      expect(gateway.connected).toBe(true);
    } finally {
      gateway.close();
    }
  });
});
