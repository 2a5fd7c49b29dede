import { renameSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { adminAuthenticator, generateToken, tokenStrengthBits, unpredictableLength, WEAK_TOKEN_BITS } from '../../src/auth/tokens.js';
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

  it("from admin.token, after one look at the file per turn of the event loop, shared by that turn's requests", async () => {
    // A look per request (a promise with the thread pool's stat, or a stat of its own) cost reads with
    // the token a fifth of their CPU; the turn's requests share one synchronous stat instead.
    const dir = await tempRuntimeDir();
    const server = await startTestServer({ runtimeDir: dir, adminToken: undefined });
    const file = path.join(dir, 'admin.token');
    const token = (await readFile(file, 'utf8')).trim();
    const { authenticator } = server.services;
    const first = authenticator.authenticate(`Bearer ${token}`);
    expect(first).not.toBeInstanceOf(Promise);
    expect(first).toMatchObject({ kind: 'valid', identity: { name: 'admin' } });
    // Replaced within the same turn, after its look: that turn's later requests still see the look's
    // file (what sharing the look gives up, README "Replacing the admin token")...
    const replacement = 'replacement-admin-token-0123456789';
    writeFileSync(`${file}.new`, `${replacement}\n`, { mode: 0o600 });
    renameSync(`${file}.new`, file);
    expect(authenticator.authenticate(`Bearer ${token}`)).toMatchObject({ kind: 'valid' });
    // ...and the next turn's look sees it: the file is read again before the answer.
    await new Promise((resolve) => setImmediate(resolve));
    const old = authenticator.authenticate(`Bearer ${token}`);
    expect(old).toBeInstanceOf(Promise);
    expect(await old).toEqual({ kind: 'invalid' });
    expect(await authenticator.authenticate(`Bearer ${replacement}`)).toMatchObject({ kind: 'valid', identity: { name: 'admin' } });
    // Read and unchanged since: answered at once again.
    await new Promise((resolve) => setImmediate(resolve));
    const again = authenticator.authenticate(`Bearer ${replacement}`);
    expect(again).not.toBeInstanceOf(Promise);
    expect(again).toMatchObject({ kind: 'valid', identity: { name: 'admin' } });
  });
});

describe("a hand-chosen admin token's rough strength (the start's warning)", () => {
  it('counts a repeated stretch once and a run by its first two characters, so a word said twice with a digit added is weak', () => {
    expect(unpredictableLength('passwordpassword')).toBe(9);
    expect(unpredictableLength('passwordpassword1')).toBe(10);
    expect(unpredictableLength('abcdefgh12345678')).toBe(4);
    expect(unpredictableLength('zzzzzzzz98765432')).toBe(4);
    // Two characters repeating are not a stretch: "ss" in "password" counts twice.
    expect(unpredictableLength('Xk9fQ2mZ7pLw4RtB')).toBe(16);
    for (const weak of ['passwordpassword', 'passwordpassword1', 'adminadminadmin1', 'abcdefgh12345678', 'aaaaaaaaaaaaaaaaaaaa'])
      expect(tokenStrengthBits(weak), weak).toBeLessThan(WEAK_TOKEN_BITS);
    for (const strong of ['Xk9fQ2mZ7pLw4RtB', 'correcthorsebatterystaple', generateToken()])
      expect(tokenStrengthBits(strong), strong).toBeGreaterThanOrEqual(WEAK_TOKEN_BITS);
    expect(Math.round(tokenStrengthBits('passwordpassword'))).toBe(42);
  });

  it('looks through a long token in bounded time: past 256 characters each counts', () => {
    expect(unpredictableLength('ab'.repeat(5_000))).toBe(3 + (10_000 - 256));
    // The distinct characters still bound it: two of them are 2 x 2 guesses whatever the length.
    expect(tokenStrengthBits('ab'.repeat(5_000))).toBe(4 * Math.log2(26));
  });
});
