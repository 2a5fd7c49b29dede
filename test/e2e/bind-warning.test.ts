import { describe, expect, it } from 'vitest';
import { gql } from '../helpers/http.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { spawnServer } from '../helpers/server.js';

const TOKEN = 'bind-test-token-0123456789abcdef';
const WARNING = /WARN .*binding 0\.0\.0\.0: .*clear text/;

describe('stratctl serve on a non-loopback address', () => {
  it('prints a warning, and takes --auth-failures-per-minute', async () => {
    const server = await spawnServer(await tempRuntimeDir(), ['--host', '0.0.0.0', '--auth-failures-per-minute', '2'], {
      CONTROL_PLANE_TOKEN: TOKEN,
    });
    expect(server.stderr()).toMatch(WARNING);
    expect(server.stderr()).not.toContain(TOKEN);
    const url = server.url.replace('0.0.0.0', '127.0.0.1');
    const statuses = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await gql(url, '{ status { configVersion } }', undefined, { token: 'wrong-token-0123456789' })).status);
    expect(statuses).toEqual([401, 401, 429]);
  });

  it('says nothing once --behind-tls-proxy acknowledges a TLS proxy in front (the env form is in the settings unit test)', async () => {
    const server = await spawnServer(await tempRuntimeDir(), ['--host', '0.0.0.0', '--behind-tls-proxy'], { CONTROL_PLANE_TOKEN: TOKEN });
    const res = await gql(server.url.replace('0.0.0.0', '127.0.0.1'), '{ status { configVersion } }');
    expect(res.status).toBe(200);
    expect(server.stderr()).not.toMatch(/binding/);
  });
});
