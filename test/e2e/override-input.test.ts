import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startTestServer } from '../helpers/server.js';

/** Tunable overrides as clients send them: what is stored, and what a refusal says was sent. */

const UPDATE = `mutation($input: UpdateConfigInput!) {
  updateConfig(input: $input) { changed config { version tunableOverrides } }
}`;

describe('tunable overrides sent to updateConfig', () => {
  it('-0 is stored as 0: the file says 0, and setting 0 after it changes nothing', async () => {
    const server = await startTestServer({ runner: false });
    const input = { tunableOverrides: { gold: { min_separation_pct: 0 } } };
    // JSON.stringify writes -0 as 0: the body is written by hand, as a client's JSON may say it.
    const body = JSON.stringify({ query: UPDATE, variables: { input } }).replace('"min_separation_pct":0', '"min_separation_pct":-0');
    expect(body).toContain('"min_separation_pct":-0');
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` },
      body,
    });
    expect(res.status).toBe(200);
    const answered = ((await res.json()) as { data: { updateConfig: { changed: boolean; config: { version: number } } } }).data
      .updateConfig;
    expect(answered.changed).toBe(true);
    const text = await readFile(path.join(server.runtimeDir, 'config.yaml'), 'utf8');
    expect(text).toMatch(/min_separation_pct: 0\n/);
    expect(text).not.toMatch(/: -0\n/);
    const again = await server.gql(UPDATE, { input });
    expect(again.body.data?.updateConfig).toMatchObject({ changed: false, config: { version: answered.config.version } });
  });

  it('a bare word written inline (an enum literal) is refused as what it is, not as "nothing"', async () => {
    const server = await startTestServer({ runner: false });
    const res = await server.gql(
      'mutation { updateConfig(input: { tunableOverrides: { momentum: { lookback_bars: FOO } } }) { changed } }',
    );
    expect(res.status).toBe(400);
    const message = res.body.errors?.[0]?.message ?? '';
    expect(message).toContain('FOO is an enum value, not JSON: write "FOO" in quotes for text, or a number, true, false or null');
    expect(message).not.toContain('got nothing');
  });
});
