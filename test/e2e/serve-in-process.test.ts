import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { gql } from '../helpers/http.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { LISTENING } from '../helpers/server.js';
import { startStratctl } from '../helpers/stratctl.js';
import { waitUntil } from '../helpers/wait.js';

// `serve` through runCli in this process: its output, environment and stop signal all come through io.
describe('stratctl serve, in-process', () => {
  it('serves until the stop signal, then exits 0 and removes its lock files', async () => {
    const dir = await tempRuntimeDir();
    const serve = startStratctl(['serve', '--port', '0', '--runtime-dir', dir, '--no-runner', '--log-format', 'json']);
    const [, url] = await serve.waitFor(LISTENING);
    expect((await gql(url as string, '{ status { configVersion } }')).body.data?.status.configVersion).toBe(1);
    expect(await readdir(dir)).toContain('.lock');
    serve.signal('SIGTERM');
    expect(await serve.exited).toBe(0);
    expect((await readdir(dir)).filter((f) => f.startsWith('.'))).toEqual([]);
    for (const line of serve.stderr().trim().split('\n')) expect(JSON.parse(line)).toHaveProperty('msg');
  });

  it('a stop signal during start-up is not lost: the start ends there (it never listens, writes nothing), exit 0', async () => {
    const dir = await tempRuntimeDir();
    const serve = startStratctl(['serve', '--port', '0', '--runtime-dir', dir, '--no-runner', '--log-format', 'json']);
    // It listens for stop signals before it starts anything; send one then, before it listens.
    await waitUntil(
      async () => serve.stopListeners(),
      (n) => n > 0,
      { what: 'a stop listener', intervalMs: 1 },
    );
    expect(serve.stderr()).not.toContain('listening on');
    serve.signal('SIGTERM');
    expect(await serve.exited).toBe(0);
    // It used to finish the start (bind, write the defaults) and only then stop: a start that waits
    // (a lock, etcd) made Ctrl-C take up to 10 s. README: Stopping.
    expect(serve.stderr()).toContain('SIGTERM during start-up: stopped before it finished');
    expect(serve.stderr()).not.toContain('listening on');
    expect(await readdir(dir)).toEqual([]);
  });
});
