import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { digestOf } from '../../src/config/digest.js';
import { handEditPresets, status, UPSERT } from '../helpers/presets.js';
import { startTestServer } from '../helpers/server.js';
import { waitUntil } from '../helpers/wait.js';

const ACTIVATE = 'mutation($key: String!) { activateStrategy(strategyKey: $key) { changed configVersion } }';
const RELOAD = 'mutation { reloadStrategies { presetsVersion strategiesError { message } } }';
const STATE = '{ status { configVersion configDigest presetsVersion strategiesError { message } runner { inSync } } }';

interface Accepted {
  subject: 'CONFIG' | 'PRESETS';
  operation: string;
  version: number;
  key: string;
}

describe('presets under a write storm', () => {
  it('reloads during concurrent activations, upserts and hand edits lose nothing: every accepted change audited once, versions consistent, state = files', async () => {
    // A short poll: the store re-reads the files all through the storm, besides the reloads asked for.
    // 80 requests at once, all from 127.0.0.1: more connections than one client address may hold (64).
    const server = await startTestServer({
      runner: { heartbeatMs: 200 },
      configPollMs: 20,
      security: { connections: { maxConnectionsPerClient: 1_000 } },
    });
    // Presets that every version of the file keeps (activations use them, so no edit below can be kept out).
    for (const key of ['storm_a', 'storm_b']) {
      const res = await server.gql(UPSERT, { input: { key, base: 'momentum', name: key } });
      expect(res.body.errors).toBeUndefined();
    }
    const activationKeys = ['storm_a', 'gold', 'storm_b', 'range', 'momentum'];
    const accepted: Accepted[] = [];
    const failures: unknown[] = [];

    const activations = Array.from({ length: 30 }, async (_, i) => {
      const key = activationKeys[i % activationKeys.length] as string;
      const res = await server.gql(ACTIVATE, { key });
      if (res.status !== 200) return failures.push(res.body);
      const { changed, configVersion } = res.body.data!.activateStrategy;
      if (changed) accepted.push({ subject: 'CONFIG', operation: 'activateStrategy', version: configVersion, key });
    });
    const upserts = Array.from({ length: 30 }, async (_, i) => {
      // Edits of the two kept presets, and new ones.
      const key = i % 3 === 2 ? `new_${i}` : i % 3 === 0 ? 'storm_a' : 'storm_b';
      const input = { key, base: 'momentum', name: key, tunables: { lookback_bars: 100 + i } };
      const res = await server.gql(UPSERT, { input });
      if (res.status !== 200) return failures.push(res.body);
      const { changed, presetsVersion } = res.body.data!.upsertPreset;
      if (changed) accepted.push({ subject: 'PRESETS', operation: 'upsertPreset', version: presetsVersion, key });
    });
    const reloads = Array.from({ length: 20 }, async () => {
      const res = await server.gql(RELOAD);
      if (res.status !== 200 || res.body.data?.reloadStrategies.strategiesError) failures.push(res.body);
    });
    const handEdits = (async () => {
      for (let k = 0; k < 10; k++) {
        await handEditPresets(server, (text) => `${text}  hand_${k}:\n    base: range\n    name: Hand ${k}\n`);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    await Promise.all([...activations, ...upserts, ...reloads, handEdits]);
    expect(failures).toEqual([]);
    expect(accepted.filter((a) => a.subject === 'PRESETS')).toHaveLength(30);

    // Settled: what is in force is what the files say, and the trail ends with it.
    await server.gql(RELOAD);
    const [configText, presetsText] = await Promise.all(
      ['config.yaml', 'strategies.yaml'].map((f) => readFile(path.join(server.runtimeDir, f), 'utf8')),
    );
    const final = await waitUntil(
      () => server.gql(STATE).then((r) => r.body.data?.status),
      (s) => s.runner.inSync,
      { what: 'the runner in sync after the storm' },
    );
    expect(final.configDigest).toBe(digestOf(configText as string));
    expect(final.strategiesError).toBeNull();
    expect(server.store.state().presets.digest).toBe(digestOf(presetsText as string));
    expect(await status(server)).toMatchObject({ presetsVersion: final.presetsVersion });

    const trail = (
      await server.gql('{ auditLog(last: 200) { subject operation actor version digest changes { field before after } } }')
    ).body.data!.auditLog.reverse() as (Accepted & { actor: string; digest: string; changes: { field: string; before: unknown }[] })[];
    expect(trail.length).toBeLessThan(200); // the whole trail, not its tail
    for (const subject of ['CONFIG', 'PRESETS'] as const) {
      const versions = trail.filter((e) => e.subject === subject).map((e) => e.version);
      // Strictly increasing in the order written: no version used twice, none going backwards.
      expect(
        versions.every((v, i) => i === 0 || v > (versions[i - 1] as number)),
        `${subject} versions ${versions}`,
      ).toBe(true);
      const last = trail.filter((e) => e.subject === subject).at(-1);
      expect(last?.digest).toBe(subject === 'CONFIG' ? final.configDigest : digestOf(presetsText as string));
      expect(last?.version).toBe(subject === 'CONFIG' ? final.configVersion : final.presetsVersion);
    }
    // Every accepted API change has exactly its entry; nothing else in the trail claims to be one.
    for (const change of accepted) {
      const entries = trail.filter((e) => e.subject === change.subject && e.version === change.version);
      expect(
        entries.map((e) => [e.operation, e.actor]),
        `${change.subject} ${change.version}`,
      ).toEqual([[change.operation, 'admin']]);
      if (change.subject === 'PRESETS') expect(entries[0]?.changes.some((c) => c.field.startsWith(`${change.key}.`))).toBe(true);
    }
    const apiEntries = trail.filter((e) => e.actor === 'admin' && ['activateStrategy', 'upsertPreset'].includes(e.operation));
    expect(apiEntries).toHaveLength(accepted.length + 2); // + the two presets made before the storm
    // Each hand-made preset in the final file came in through an audited hand edit.
    const handKeys = [...(presetsText as string).matchAll(/^ {2}(hand_\d+):/gm)].map((m) => m[1] as string);
    expect(handKeys.length).toBeGreaterThan(0);
    for (const key of handKeys) {
      const added = trail.find((e) => e.operation === 'handEdit' && e.changes.some((c) => c.field === `${key}.base` && c.before === null));
      expect(added, `${key} audited as added by hand`).toBeDefined();
    }
  }, 60_000);
});
