import { expect, it } from 'vitest';
import { StoreOutcomeUnknownError, StoreUnavailableError } from '../../src/config/errors.js';
import { extensionsFor } from '../../src/graphql/errors.js';
import type { EtcdGateway } from '../../src/store-etcd/gateway.js';
import { describeWithEtcd, startEtcd } from '../helpers/etcd.js';
import { freshPrefix, openReplica, setScanInterval } from '../helpers/etcd-stores.js';

/**
 * A commit whose answer never comes: sent to a member that hangs (SIGSTOP: a stalled VM or disk),
 * which applies it when it wakes, after the 2 s deadline (stop 33's etcd helper session: 4 runs
 * of 4, each answered "refused, nothing was changed" for a version then in etcd with its audit
 * entry). Here the gateway loses the commit's answer on purpose: after the transaction ran (it
 * landed), or before it was sent (it did not; nothing says it never will, as with a hung member).
 */
function loseCommitAnswers(gateway: EtcdGateway, when: 'after' | 'before'): void {
  const call = gateway.call.bind(gateway);
  gateway.call = (async (operation: string, fn: never, deadline?: number) => {
    if (operation !== 'commit') return call(operation, fn, deadline);
    if (when === 'after') await call(operation, fn, deadline);
    throw gateway.unavailable(operation, new Error('no answer within 2000 ms'));
  }) as EtcdGateway['call'];
}

describeWithEtcd('a commit whose answer never came (a hung etcd member)', () => {
  it('landed: answered as made, with its version and one audit entry (it was "Config store unavailable")', async () => {
    const cluster = await startEtcd();
    const prefix = freshPrefix();
    const observer = await openReplica(cluster, prefix);
    const a = await openReplica(cluster, prefix, { onGateway: (g) => loseCommitAnswers(g, 'after') });
    const before = a.config.state().config.config.version;
    const result = await a.config.commit(setScanInterval(43));
    expect(result).toMatchObject({ changed: true, current: { config: { version: before + 1, scanIntervalSeconds: 43 } } });
    const trail = await observer.config.audit({ last: 5, subject: 'CONFIG' });
    expect(trail.filter((e) => e.version === before + 1)).toHaveLength(1);
  });

  it('not found when asked again: answered as unknown (UNAVAILABLE, outcome UNKNOWN), never as refused', async () => {
    const cluster = await startEtcd();
    const prefix = freshPrefix();
    const a = await openReplica(cluster, prefix, { onGateway: (g) => loseCommitAnswers(g, 'before') });
    const failure = await a.config.commit(setScanInterval(44)).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(StoreOutcomeUnknownError);
    // DESIGN's message for UNAVAILABLE; what is not known is in extensions.outcome (and the detail, for the log).
    expect((failure as Error).message).toBe('Config store unavailable');
    expect((failure as StoreOutcomeUnknownError).detail).toMatch(/the change was sent and may or may not have been applied$/);
    expect(extensionsFor(failure)).toMatchObject({ code: 'UNAVAILABLE', outcome: 'UNKNOWN', http: { status: 503 } });
    // etcd gone before anything is sent (the group's read fails first): a plain refusal, nothing was sent.
    await cluster.members[0]?.stop();
    const refused = await a.config.commit(setScanInterval(45)).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(StoreUnavailableError);
    expect(refused).not.toBeInstanceOf(StoreOutcomeUnknownError);
    expect(extensionsFor(refused)).not.toHaveProperty('outcome');
  });
});
