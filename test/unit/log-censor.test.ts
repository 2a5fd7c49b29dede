import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { childLogger, lazyChildLogger } from '../../src/http/log.js';
import { censorSecrets, createLogger, REDACTED, REDACTED_PATHS } from '../../src/log.js';

/** Lines as pino writes them, with its own redaction of REDACTED_PATHS or with censorSecrets. */
function loggers() {
  const theirs: string[] = [];
  const ours: string[] = [];
  const common = { base: undefined, timestamp: false } as const;
  return {
    theirs,
    ours,
    pinoRedact: pino({ ...common, redact: { paths: REDACTED_PATHS, censor: REDACTED } }, { write: (line: string) => theirs.push(line) }),
    censor: pino({ ...common, formatters: { log: censorSecrets, bindings: censorSecrets } }, { write: (line: string) => ours.push(line) }),
  };
}

class TokenError extends Error {
  token = 'sekrit-error-token';
  step = 'fsync';
}

// Each a log call's fields: secrets where the paths say, and the shapes around them that must come out unchanged.
const corpus = (): Record<string, unknown>[] => [
  { subject: 'config', version: 49, operation: 'activateStrategy', actor: 'admin', changed: ['activeStrategyKey'] },
  { token: 'sekrit-1' },
  { adminToken: 'sekrit-2', authorization: 'Bearer sekrit-3', other: 'kept' },
  { headers: { authorization: 'Bearer sekrit-4', 'content-type': 'application/json' } },
  { req: { method: 'POST', headers: { authorization: 'Bearer sekrit-5', host: 'x' } } },
  { request: { headers: { authorization: 'Bearer sekrit-6' } }, status: 401 },
  { anything: { token: 'sekrit-7', adminToken: 'sekrit-8', authorization: 'sekrit-9', kept: 1 } },
  { deeper: { inner: { token: 'not a path: kept as pino keeps it' } } },
  { list: [{ token: 'arrays are not walked' }], n: null, flag: true, f: 1.5 },
  { nothing: null, missing: undefined, token: undefined },
  { err: Object.assign(new Error('disk on fire'), { errno: 'EIO' }) },
  { err: new TokenError('with a token of its own') },
  { when: new Date(0), nested: { when: new Date(0), token: 'sekrit-10' } },
  { headers: { authorization: undefined, other: 'x' } },
];

describe('censorSecrets (the log lines never carry a token)', () => {
  it('writes every line exactly as pino redacting REDACTED_PATHS wrote it', () => {
    const { theirs, ours, pinoRedact, censor } = loggers();
    for (const fields of corpus()) {
      pinoRedact.info(fields, 'a message');
      censor.info(fields, 'a message');
    }
    pinoRedact.child({ reqId: 'r1', token: 'sekrit-child' }).info({ token: 'sekrit-11' }, 'child');
    childLogger(censor, { reqId: 'r1', token: 'sekrit-child' }).info({ token: 'sekrit-11' }, 'child');
    pinoRedact.child({ reqId: 'r2', adminToken: 'sekrit-lazy' }).info('lazy child');
    lazyChildLogger(censor, { reqId: 'r2', adminToken: 'sekrit-lazy' }).info('lazy child');
    expect(ours).toHaveLength(corpus().length + 2);
    // The error lines carry a stack; the rest must be byte for byte the same.
    const noStack = (line: string) => line.replace(/"stack":"[^"]*"/, '"stack":"…"');
    expect(ours.map(noStack)).toEqual(theirs.map(noStack));
    expect(ours.join('')).not.toContain('sekrit');
    // Ten of the lines held a secret: each says where it was.
    expect(ours.filter((line) => line.includes(REDACTED)).length).toBe(theirs.filter((line) => line.includes(REDACTED)).length);
    expect(ours.filter((line) => line.includes(REDACTED)).length).toBeGreaterThanOrEqual(10);
  });

  it('changes nothing it is given, and copies nothing when there is nothing to censor', () => {
    const plain = { subject: 'config', version: 1, nested: { a: 1 } };
    expect(censorSecrets(plain)).toBe(plain);
    const error = new TokenError('x');
    const fields = { err: error, req: { headers: { authorization: 'Bearer a' } } };
    const out = censorSecrets(fields);
    expect(out).not.toBe(fields);
    expect(error.token).toBe('sekrit-error-token');
    expect(fields.req.headers.authorization).toBe('Bearer a');
    // The censored error is still an error (its type, message and stack reach the line).
    expect(out.err).toBeInstanceOf(TokenError);
    expect((out.err as TokenError).message).toBe('x');
    expect((out.err as TokenError).stack).toBe(error.stack);
    expect((out.err as TokenError).token).toBe(REDACTED);
  });

  it('is what the server logger uses, in both formats', () => {
    const raw: string[] = [];
    for (const format of ['json', 'text'] as const) {
      const logger = createLogger({ format, destination: { write: (line) => raw.push(line) } });
      logger.info({ err: new TokenError('failed'), token: 'sekrit-12' }, 'line');
    }
    expect(raw).toHaveLength(2);
    expect(raw.join('')).not.toContain('sekrit');
    expect(raw[0]).toContain('"type":"TokenError"');
    expect(raw[1]).toContain('err.token=[redacted]');
  });

  it('no child logger is made but through childLogger (pino passes no child bindings through a formatter)', () => {
    const src = path.resolve(import.meta.dirname, '../../src');
    const files = (readdirSync(src, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'));
    const callers = files.filter((f) => /\.child\(/.test(readFileSync(path.join(src, f), 'utf8')));
    expect(files.length).toBeGreaterThan(50);
    expect(callers).toEqual([path.join('http', 'log.ts')]);
  });
});
