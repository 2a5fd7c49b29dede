import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { adminAuthenticator } from '../../src/auth/tokens.js';
import { requestIds } from '../../src/http/steps/request-id.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { startTestServer } from '../helpers/server.js';

const TOKEN = 'admin-token-0123456789abcdef';

describe('the admin token, compared as sent (no digest per request)', () => {
  const auth = adminAuthenticator(TOKEN);

  it('accepts the token in the usual header and in any other spelling the Bearer scheme allows', () => {
    for (const header of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`, `BEARER\t${TOKEN}`, `Bearer   ${TOKEN}  `]) {
      expect(auth.authenticate(header), header).toMatchObject({ kind: 'valid', identity: { name: 'admin' } });
    }
  });

  it('refuses a token that is a prefix of it, extends it, or differs in one character', () => {
    const wrong = [TOKEN.slice(0, -1), `${TOKEN}x`, `${TOKEN.slice(0, -1)}g`, `x${TOKEN.slice(1)}`, TOKEN.toUpperCase()];
    for (const token of wrong) {
      expect(auth.authenticate(`Bearer ${token}`), token).toEqual({ kind: 'invalid' });
      expect(auth.authenticate(`bearer ${token}`), token).toEqual({ kind: 'invalid' });
    }
  });

  it('tells no token from a malformed one', () => {
    expect(auth.authenticate(undefined)).toEqual({ kind: 'none' });
    expect(auth.authenticate('')).toEqual({ kind: 'none' });
    expect(auth.authenticate(`Basic ${TOKEN}`)).toEqual({ kind: 'invalid' });
    expect(auth.authenticate(`Bearer ${TOKEN} extra`)).toEqual({ kind: 'invalid' });
    expect(auth.authenticate(`Bearer${TOKEN}`)).toEqual({ kind: 'invalid' });
  });
});

describe('request ids', () => {
  it('are UUID-shaped (version 4, RFC variant) and unique within a generator and across generators', () => {
    const a = requestIds();
    const b = requestIds();
    const ids = [...Array.from({ length: 1000 }, a), ...Array.from({ length: 1000 }, b)];
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('the admin token in the request path', () => {
  it('from CONTROL_PLANE_TOKEN (it cannot change under a running process) is answered at once, not through a promise', async () => {
    // A promise per request took every admin-token request off the synchronous path (the fast lane
    // writes a turn's ready answers together): reads with it cost 50 µs of CPU each instead of 36.
    const server = await startTestServer();
    const answer = server.services.authenticator.authenticate(`Bearer ${server.token}`);
    expect(answer).not.toBeInstanceOf(Promise);
    expect(answer).toMatchObject({ kind: 'valid', identity: { name: 'admin' } });
  });

  it('from admin.token, after a look at the file (it may have been replaced)', async () => {
    const dir = await tempRuntimeDir();
    const server = await startTestServer({ runtimeDir: dir, adminToken: undefined });
    const token = (await readFile(path.join(dir, 'admin.token'), 'utf8')).trim();
    const answer = server.services.authenticator.authenticate(`Bearer ${token}`);
    expect(answer).toBeInstanceOf(Promise);
    expect(await answer).toMatchObject({ kind: 'valid', identity: { name: 'admin' } });
  });
});
