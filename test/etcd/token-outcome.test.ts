import { expect, it } from 'vitest';
import { tokenDigest } from '../../src/auth/token-file.js';
import { unknownTokenWrite } from '../../src/cli/token.js';
import { StoreOutcomeUnknownError } from '../../src/config/errors.js';
import { extensionsFor } from '../../src/graphql/errors.js';
import type { EtcdGateway } from '../../src/store-etcd/gateway.js';
import { describeWithEtcd, type EtcdCluster, startEtcd } from '../helpers/etcd.js';
import { freshPrefix, openReplica } from '../helpers/etcd-stores.js';

let shared: EtcdCluster | null = null;
const cluster = async () => {
  shared ??= await startEtcd({ lifetime: 'file' });
  return shared;
};

/**
 * The next `operation` (a token write) loses its answer: after the transaction ran (it landed), or
 * before it was sent (it did not), as a hung member or a dropped connection loses it.
 */
function loseNextAnswer(operation: string, when: 'after' | 'before') {
  let armed = false;
  return {
    arm: () => {
      armed = true;
    },
    onGateway: (gateway: EtcdGateway) => {
      const call = gateway.call.bind(gateway);
      gateway.call = (async (op: string, fn: never, deadline?: number) => {
        if (op !== operation || !armed) return call(op, fn, deadline);
        armed = false;
        if (when === 'after') await call(op, fn, deadline);
        throw gateway.unavailable(op, new Error('no answer within 2000 ms'));
      }) as EtcdGateway['call'];
    },
  };
}

/**
 * The next `operation` is sent twice, as a client layer resends a try whose connection dropped after
 * etcd took it: the first lands, the caller gets the second's answer.
 */
function sendNextTwice(operation: string) {
  let armed = false;
  return {
    arm: () => {
      armed = true;
    },
    onGateway: (gateway: EtcdGateway) => {
      const call = gateway.call.bind(gateway);
      gateway.call = (async (op: string, fn: never, deadline?: number) => {
        if (op !== operation || !armed) return call(op, fn, deadline);
        armed = false;
        await call(op, fn, deadline);
        return call(op, fn, deadline);
      }) as EtcdGateway['call'];
    },
  };
}

/**
 * The next `operation` loses its answer and is not applied yet: it lands when `land` is called, as a
 * request held by a hung member is applied when the member wakes.
 */
function holdNext(operation: string) {
  let armed = false;
  let held: (() => Promise<unknown>) | null = null;
  return {
    arm: () => {
      armed = true;
    },
    land: async () => {
      await held?.();
      held = null;
    },
    onGateway: (gateway: EtcdGateway) => {
      const call = gateway.call.bind(gateway);
      gateway.call = (async (op: string, fn: never) => {
        if (op !== operation || !armed) return call(op, fn);
        armed = false;
        held = () => call(op, fn);
        throw gateway.unavailable(op, new Error('no answer within 2000 ms'));
      }) as EtcdGateway['call'];
    },
  };
}

describeWithEtcd('a token write sent twice or landing late', () => {
  it('a create sent again after it landed gives its secret (it said "a token named ... exists", and the secret was lost)', async () => {
    const twice = sendNextTwice('token create');
    const replica = await openReplica(await cluster(), freshPrefix(), { onGateway: twice.onGateway });
    twice.arm();
    const secret = await replica.tokens.create('ci1', 'operate');
    expect((await replica.tokens.find(tokenDigest(secret)))?.name).toBe('ci1');
    // A create of a name taken by another token is still refused.
    await expect(replica.tokens.create('ci1', 'operate')).rejects.toThrow('a token named "ci1" exists; revoke it first to replace it');
  });

  it('a revoke sent again after it landed says revoked, not "no token named"', async () => {
    const twice = sendNextTwice('token revoke');
    const replica = await openReplica(await cluster(), freshPrefix(), { onGateway: twice.onGateway });
    const secret = await replica.tokens.create('ci4', 'operate');
    twice.arm();
    expect(await replica.tokens.revoke('ci4')).toBe(true);
    expect(await replica.tokens.find(tokenDigest(secret))).toBeUndefined();
  });

  it('a revoke whose answer was lost and that lands after the name was revoked and created again leaves the new token', async () => {
    const hold = holdNext('token revoke');
    const replica = await openReplica(await cluster(), freshPrefix(), { onGateway: hold.onGateway });
    await replica.tokens.create('ci', 'operate');
    hold.arm();
    expect(await replica.tokens.revoke('ci').catch((err: unknown) => err)).toBeInstanceOf(StoreOutcomeUnknownError);
    // The operator revokes it again (answered), and creates it again with a new secret.
    expect(await replica.tokens.revoke('ci')).toBe(true);
    const renewed = await replica.tokens.create('ci', 'operate');
    // Before: a plain delete, which removed the new token, silently.
    await hold.land();
    expect((await replica.tokens.find(tokenDigest(renewed)))?.name).toBe('ci');
    expect((await replica.tokens.list()).map((t) => t.name)).toEqual(['ci']);
  });
});

describeWithEtcd('a token write whose answer never came (a hung etcd member)', () => {
  it('a create that landed gives its secret, which works', async () => {
    const loss = loseNextAnswer('token create', 'after');
    const replica = await openReplica(await cluster(), freshPrefix(), { onGateway: loss.onGateway });
    loss.arm();
    const secret = await replica.tokens.create('ci-deploy', 'operate');
    expect((await replica.tokens.find(tokenDigest(secret)))?.name).toBe('ci-deploy');
  });

  it('a rotation that landed gives the new secret: the old one is refused, the new one works', async () => {
    const loss = loseNextAnswer('token rotate', 'after');
    const replica = await openReplica(await cluster(), freshPrefix(), { onGateway: loss.onGateway });
    const old = await replica.tokens.create('dashboard', 'read');
    loss.arm();
    // Before: "Config store unavailable", while the old secret was already dead and the new one shown to nobody.
    const rotated = await replica.tokens.rotate('dashboard');
    expect(rotated).toMatchObject({ scope: 'read' });
    expect(await replica.tokens.find(tokenDigest(old))).toBeUndefined();
    expect((await replica.tokens.find(tokenDigest(rotated?.token as string)))?.name).toBe('dashboard');
  });

  it('a revoke that landed says revoked (a retry said "no token named"); one whose name no replica knew still says there was none', async () => {
    const loss = loseNextAnswer('token revoke', 'after');
    const replica = await openReplica(await cluster(), freshPrefix(), { onGateway: loss.onGateway });
    const secret = await replica.tokens.create('dashboard', 'read');
    loss.arm();
    expect(await replica.tokens.revoke('dashboard')).toBe(true);
    expect(await replica.tokens.find(tokenDigest(secret))).toBeUndefined();
    loss.arm();
    expect(await replica.tokens.revoke('never-made')).toBe(false);
  });

  it('a revoke not found done is unknown: the token still works until a revoke is answered', async () => {
    const loss = loseNextAnswer('token revoke', 'before');
    const replica = await openReplica(await cluster(), freshPrefix(), { onGateway: loss.onGateway });
    const secret = await replica.tokens.create('dashboard', 'read');
    loss.arm();
    const failure = await replica.tokens.revoke('dashboard').catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(StoreOutcomeUnknownError);
    expect((await replica.tokens.find(tokenDigest(secret)))?.name).toBe('dashboard');
    expect(unknownTokenWrite('revoke', 'dashboard')).toBe(
      'the token may still be accepted: when etcd answers, run "stratctl token revoke dashboard" again',
    );
    expect(await replica.tokens.revoke('dashboard')).toBe(true);
    expect(await replica.tokens.find(tokenDigest(secret))).toBeUndefined();
  });

  it('not found when looked for: the outcome is unknown (UNAVAILABLE, outcome UNKNOWN), never "nothing written"; the old secret still works', async () => {
    const rotate = loseNextAnswer('token rotate', 'before');
    const replica = await openReplica(await cluster(), freshPrefix(), { onGateway: rotate.onGateway });
    const old = await replica.tokens.create('dashboard', 'read');
    rotate.arm();
    const failure = await replica.tokens.rotate('dashboard').catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(StoreOutcomeUnknownError);
    expect((failure as StoreOutcomeUnknownError).detail).toMatch(
      /^token rotate on .* failed \(no answer within 2000 ms\); the change was sent and may or may not have been applied$/,
    );
    expect(extensionsFor(failure)).toMatchObject({ code: 'UNAVAILABLE', outcome: 'UNKNOWN' });
    expect((await replica.tokens.find(tokenDigest(old)))?.name).toBe('dashboard');
    // What `stratctl token rotate` then says to do: rotating again is safe (a compare-and-put: a late
    // landing of this one cannot overwrite it) and gives a secret someone holds.
    expect(unknownTokenWrite('rotate', 'dashboard')).toMatch(
      /the old secret may already be refused.*run "stratctl token rotate dashboard" again/,
    );

    const create = loseNextAnswer('token create', 'before');
    const other = await openReplica(await cluster(), freshPrefix(), { onGateway: create.onGateway });
    create.arm();
    expect(await other.tokens.create('ci-deploy', 'operate').catch((err: unknown) => err)).toBeInstanceOf(StoreOutcomeUnknownError);
    expect(await other.tokens.list()).toEqual([]);
    expect(unknownTokenWrite('create', undefined)).toMatch(/if "stratctl token list" lists it .* revoke it and create it again/);
  });
});
