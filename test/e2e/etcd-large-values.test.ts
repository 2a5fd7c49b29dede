import { expect, it } from 'vitest';
import { describeWithEtcd, startEtcd } from '../helpers/etcd.js';
import { freshPrefix, rawClient } from '../helpers/etcd-stores.js';
import { gql } from '../helpers/http.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { spawnServer, TEST_TOKEN } from '../helpers/server.js';
import { waitUntil } from '../helpers/wait.js';

/** A config of `lines` unknown overrides (`  kN: {a: [1, 2, {b: c}]}`): costly YAML, invalid. */
const overrides = (lines: number) =>
  `active_strategy_key: range\ntunable_overrides:\n${Array.from({ length: lines }, (_, i) => `  k${i}: {a: [1, 2, {b: c}]}\n`).join('')}`;

describeWithEtcd('large values put into etcd by hand (a serve process)', () => {
  it('a config over 1 MiB is refused as invalid unparsed, naming the key and its size; one under it is judged off the event loop: /health keeps answering', async () => {
    const cluster = await startEtcd();
    const prefix = freshPrefix();
    const raw = rawClient(cluster);
    const server = await spawnServer(await tempRuntimeDir(), ['--no-runner', '--store', cluster.url(prefix)], {
      CONTROL_PLANE_TOKEN: TEST_TOKEN,
    });
    const configError = async () =>
      (await gql(server.url, '{ status { configVersion configError { message } } }', undefined, { token: TEST_TOKEN })).body.data?.status;
    const before = await configError();
    expect(before.configError).toBeNull();

    // /health asked every 50 ms for as long as the server judges the value: the slowest answer is kept.
    let slowest = 0;
    let answered = 0;
    const health = async () => {
      const started = performance.now();
      const res = await fetch(new URL('/health', server.url));
      expect(res.status).toBe(200);
      answered++;
      slowest = Math.max(slowest, performance.now() - started);
    };
    const watchHealth = async (until: () => Promise<boolean>) => {
      while (!(await until())) {
        await health();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };

    // ~1.2 MB: parsed on the event loop, it held /health for 9 s on every replica.
    const over = overrides(44_000);
    expect(over.length).toBeGreaterThan(1024 * 1024);
    await raw.put(`/${prefix}/config`).value(over);
    await watchHealth(async () => (await configError()).configError !== null);
    expect((await configError()).configError.message).toBe(
      `config: invalid config\n  the value is ${over.length} bytes, over the limit of 1048576 bytes (--max-runtime-file-bytes); it is not parsed`,
    );
    expect((await configError()).configVersion).toBe(before.configVersion);

    // ~300 KB, under the limit: parsed in the parse worker (within its 2 s deadline), then judged.
    const under = overrides(11_000);
    await raw.put(`/${prefix}/config`).value(under);
    await watchHealth(async () => !(await configError()).configError.message.includes('over the limit'));
    const judged = await waitUntil(configError, (s) => s.configError !== null && !s.configError.message.includes('over the limit'), {
      what: 'the value under the limit judged',
    });
    expect(judged.configError.message).toMatch(/unknown strategy "k0"|could not be parsed within 2000 ms/);
    expect(answered).toBeGreaterThan(0);
    expect(slowest).toBeLessThan(1500);
  });
});
