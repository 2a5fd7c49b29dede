import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { faultyFileSystem } from '../helpers/faulty-fs.js';
import { startTestServer } from '../helpers/server.js';

const activate = (key: string) => `mutation { activateStrategy(strategyKey: "${key}") { configVersion } }`;

/** A server whose log lines are kept, at debug level. */
async function loggedServer(options: Parameters<typeof startTestServer>[0] = {}) {
  const lines: string[] = [];
  const server = await startTestServer({ ...options, logger: createLogger('debug', (line) => lines.push(line)) });
  const at = (level: string) => lines.filter((l) => l.split(' ')[1] === level);
  return { server, lines, at };
}

describe('the server log', () => {
  it('keeps documented refusals out of ERROR: one DEBUG line each, no stack', async () => {
    const { server, at } = await loggedServer();
    expect((await server.gql(activate('nope'))).status).toBe(400);
    expect((await server.gql(activate('gold'), undefined, null)).status).toBe(401);
    expect((await server.gql(activate('gold'), undefined, 'wrong-token-0123456789abcdef')).status).toBe(401);
    expect((await server.gql('mutation { activateStrategy(strategyKey: "gold", expectedVersion: 99) { configVersion } }')).status).toBe(
      409,
    );
    expect(at('ERROR')).toEqual([]);
    const refused = at('DEBUG').filter((l) => l.includes('refused: '));
    expect(refused.some((l) => l.includes('refused: InvalidStrategyKeyError: Invalid strategy key: nope'))).toBe(true);
    expect(refused.some((l) => l.includes('refused: VersionConflictError'))).toBe(true);
    expect(refused.join('')).not.toMatch(/\n\s+at /);
  });

  it('logs a failed disk write at ERROR, with its detail, while the answer stays clear', async () => {
    const fs = faultyFileSystem();
    const { server, at } = await loggedServer({ fs });
    fs.inject('rename', 'EIO');
    const res = await server.gql(activate('gold'));
    expect(res.status).toBe(503);
    expect(at('ERROR').join('')).toContain('ConfigWriteError');
  });
});
