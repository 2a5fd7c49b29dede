import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveClientSettings } from '../../src/client/settings.js';
import { UsageError } from '../../src/usage-error.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';

describe('stratctl client settings: an empty or blank variable is an unset one', () => {
  it('CONTROL_PLANE_URL= falls back to the default URL (it was refused as the URL "")', async () => {
    const settings = await resolveClientSettings({ 'runtime-dir': '/nonexistent' }, { CONTROL_PLANE_URL: '' });
    expect(settings.url).toBe('http://127.0.0.1:8787/graphql');
  });

  it('no URL given: the local server at CONTROL_PLANE_PORT when that is set (stratctl inside the container); the URL or --url still win', async () => {
    const at = async (flags: { url?: string }, env: NodeJS.ProcessEnv) =>
      (await resolveClientSettings({ 'runtime-dir': '/nonexistent', ...flags }, env)).url;
    expect(await at({}, { CONTROL_PLANE_PORT: '9000' })).toBe('http://127.0.0.1:9000/graphql');
    // Not a port to call: refused naming the variable (it fell back to 8787 unsaid, another server's port).
    for (const port of ['nine', '0', '99999', '80.5'])
      await expect(at({}, { CONTROL_PLANE_PORT: port })).rejects.toThrow(
        new UsageError(
          `CONTROL_PLANE_PORT: "${port}" is not a port (a whole number from 1 to 65535); it names the port of the server on this machine when no --url or CONTROL_PLANE_URL is given`,
        ),
      );
    // Unused when the URL is given: not judged.
    expect(await at({ url: 'http://127.0.0.1:6000/graphql' }, { CONTROL_PLANE_PORT: 'nine' })).toBe('http://127.0.0.1:6000/graphql');
    expect(await at({}, { CONTROL_PLANE_PORT: '9000', CONTROL_PLANE_URL: 'http://127.0.0.1:7000/graphql' })).toBe(
      'http://127.0.0.1:7000/graphql',
    );
    expect(await at({ url: 'http://127.0.0.1:6000/graphql' }, { CONTROL_PLANE_PORT: '9000' })).toBe('http://127.0.0.1:6000/graphql');
  });

  it('a blank CONTROL_PLANE_TOKEN is no token: the runtime dir’s admin.token is used, and the source says so', async () => {
    const dir = await tempRuntimeDir('scp-client-');
    await writeFile(path.join(dir, 'admin.token'), 'file-token-0123456789abcdef\n');
    const settings = await resolveClientSettings({}, { CONTROL_PLANE_TOKEN: '   ', CONTROL_PLANE_RUNTIME_DIR: dir });
    expect(settings).toMatchObject({ token: 'file-token-0123456789abcdef', tokenSource: path.join(dir, 'admin.token') });
    expect(settings.tokenGiven).toBeUndefined();
  });

  it('an admin.token holding a line break or control character is not sent, nor echoed: reads go without it, writes say why', async () => {
    const dir = await tempRuntimeDir('scp-client-');
    const file = path.join(dir, 'admin.token');
    for (const text of ['file-token-0123456789\nsecond-line-secret\n', 'file-token-01234\u000156789']) {
      await writeFile(file, text);
      const settings = await resolveClientSettings({}, { CONTROL_PLANE_RUNTIME_DIR: dir });
      expect(settings.token).toBeUndefined();
      expect(settings.withheldToken).toMatch(
        new RegExp(
          `^no token sent: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} holds a character a token cannot have \\(U\\+000[A1] at position`,
        ),
      );
      expect(JSON.stringify(settings)).not.toMatch(/secret|56789/);
    }
  });

  it('a set CONTROL_PLANE_TOKEN is sent as given (trimmed)', async () => {
    const settings = await resolveClientSettings({}, { CONTROL_PLANE_TOKEN: ' env-token-0123456789 \n' });
    expect(settings).toMatchObject({ token: 'env-token-0123456789', tokenGiven: true, tokenSource: 'CONTROL_PLANE_TOKEN' });
  });
});
