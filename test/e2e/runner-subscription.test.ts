import { createClient } from 'graphql-sse';
import { describe, expect, it } from 'vitest';
import { startTestServer } from '../helpers/server.js';
import { waitUntil } from '../helpers/wait.js';

const SUBSCRIPTION = `subscription { statusChanged {
  activeStrategyKey configVersion
  runner { state inSync appliedConfigVersion appliedStrategyKey }
} }`;

describe('statusChanged subscription (GraphQL over SSE)', () => {
  it('a graphql-sse client (distinct connections) hears the activation and the runner applying it', async () => {
    const server = await startTestServer({ runner: { heartbeatMs: 200 } });
    const client = createClient({ url: server.url, retryAttempts: 0 });
    const received: Record<string, any>[] = [];
    const errors: unknown[] = [];
    let onConnected!: () => void;
    const connected = new Promise<void>((resolve) => {
      onConnected = resolve;
    });
    const dispose = client.subscribe<Record<string, any>>(
      { query: SUBSCRIPTION },
      { next: (result) => received.push(result), error: (err) => errors.push(err), complete: () => {} },
      { connected: () => onConnected() },
    );
    try {
      await connected;
      const res = await server.gql('mutation { activateStrategy(strategyKey: "range") { configVersion } }');
      expect(res.body.data?.activateStrategy.configVersion).toBe(2);
      await waitUntil(
        async () => received,
        (list) => list.some((r) => r.data?.statusChanged.runner.appliedConfigVersion === 2),
        { what: 'statusChanged with the applied version' },
      );
      const applied = received.find((r) => r.data?.statusChanged.runner.appliedConfigVersion === 2)!;
      expect(applied.errors).toBeUndefined();
      expect(applied.data?.statusChanged).toEqual({
        activeStrategyKey: 'range',
        configVersion: 2,
        runner: { state: 'RUNNING', inSync: true, appliedConfigVersion: 2, appliedStrategyKey: 'range' },
      });
      expect(errors).toEqual([]);
    } finally {
      dispose();
      client.dispose();
    }
  });

  it('never sends the same event twice in a row: one activation is one event for a client that selected the version', async () => {
    const server = await startTestServer({ runner: { heartbeatMs: 200 } });
    const client = createClient({ url: server.url, retryAttempts: 0 });
    const received: string[] = [];
    let onConnected!: () => void;
    const connected = new Promise<void>((resolve) => {
      onConnected = resolve;
    });
    const dispose = client.subscribe<Record<string, any>>(
      { query: 'subscription { statusChanged { configVersion } }' },
      { next: (result) => received.push(JSON.stringify(result)), error: () => {}, complete: () => {} },
      { connected: () => onConnected() },
    );
    try {
      await connected;
      // Each activation raises several hints (the write, the runner applying it, its scans): each
      // read the same configVersion.
      for (const key of ['range', 'gold', 'range']) {
        const version = (await server.gql(`mutation { activateStrategy(strategyKey: "${key}") { configVersion } }`)).body.data
          ?.activateStrategy.configVersion;
        await waitUntil(
          () => server.gql('{ status { runner { appliedConfigVersion } } }'),
          (res) => res.body.data?.status.runner.appliedConfigVersion === version,
          { what: `the runner applying version ${version}` },
        );
      }
      await waitUntil(
        async () => received,
        (list) => list.at(-1)?.includes('"configVersion":4') ?? false,
        { what: 'the last version heard' },
      );
      const repeats = received.filter((event, i) => i > 0 && event === received[i - 1]);
      expect(repeats).toEqual([]);
      // A scan before the first activation may be heard as version 1; after it, one event per version.
      const versions = received.map((e) => JSON.parse(e).data.statusChanged.configVersion);
      expect(versions.filter((v) => v > 1)).toEqual([2, 3, 4]);
      expect(versions.filter((v) => v === 1).length).toBeLessThanOrEqual(1);
    } finally {
      dispose();
      client.dispose();
    }
  });

  it('refuses a subscription without a token when reads require one', async () => {
    const server = await startTestServer({ readsRequireToken: true });
    const client = createClient({ url: server.url, retryAttempts: 0 });
    const outcome = await new Promise<any>((resolve) => {
      client.subscribe({ query: SUBSCRIPTION }, { next: (r) => resolve(r), error: (e) => resolve(e), complete: () => resolve('complete') });
    });
    client.dispose();
    // graphql-sse reports a refused connection as a NetworkError carrying the HTTP response.
    expect(outcome?.response?.status).toBe(401);
  });

  it('ends open subscriptions when the server stops, so shutdown does not wait on them', async () => {
    const server = await startTestServer({ runner: { heartbeatMs: 200 } });
    const client = createClient({ url: server.url, retryAttempts: 0 });
    let onConnected!: () => void;
    const connected = new Promise<void>((resolve) => {
      onConnected = resolve;
    });
    const ended = new Promise<string>((resolve) => {
      client.subscribe(
        { query: SUBSCRIPTION },
        { next: () => {}, error: () => resolve('error'), complete: () => resolve('complete') },
        { connected: () => onConnected() },
      );
    });
    await connected;
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await ended).toBe('complete');
    client.dispose();
  });
});
