import { afterEach, describe, expect, it, vi } from 'vitest';
import { OperatorOverviewDocument } from '../../src/generated/graphql.js';
import { Api, errorSentences, NOT_API_ANSWER, notConfirmed } from '../../src/page/api.js';

/** Api.run against a server whose only answer is `response` (what a proxy in between may send back). */
async function runAgainst(response: Response) {
  vi.stubGlobal('fetch', async () => response);
  const unauthorized: string[] = [];
  const api = new Api({ endpoint: 'http://127.0.0.1:1/graphql', token: () => 't', onUnauthorized: (m) => unauthorized.push(m) });
  return { result: await api.run(OperatorOverviewDocument, {}), unauthorized };
}

describe("the operator page's Api.run", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("a proxy's 504 page is not a refusal: not confirmed, with its status and type", async () => {
    const { result } = await runAgainst(
      new Response('<html>504 Gateway Time-out</html>', { status: 504, headers: { 'content-type': 'text/html; charset=utf-8' } }),
    );
    expect(result).toEqual({
      ok: false,
      status: 504,
      errors: [
        {
          message: "The answer (HTTP 504, text/html) is not the API's: its body is not JSON, or broke off.",
          code: NOT_API_ANSWER,
          extensions: {},
        },
      ],
    });
    expect(!result.ok && notConfirmed(result.errors)).toBe(true);
  });

  it('a 200 cut short, or JSON with neither data nor errors, is not confirmed either', async () => {
    const cut = await runAgainst(new Response('{"data":{"activ', { status: 200, headers: { 'content-type': 'application/json' } }));
    expect(!cut.result.ok && cut.result.errors[0]).toMatchObject({
      code: NOT_API_ANSWER,
      message: expect.stringContaining('HTTP 200, application/json'),
    });
    const empty = await runAgainst(new Response('{}', { status: 502, headers: { 'content-type': 'application/json' } }));
    expect(!empty.result.ok && empty.result.errors[0]?.message).toBe(
      "The answer (HTTP 502, application/json) is not the API's: it has neither data nor errors.",
    );
  });

  it("a proxy's 4xx page says the status and that a proxy most often keeps such a request, and is not confirmed", async () => {
    const { result } = await runAgainst(new Response('<html>413</html>', { status: 413, headers: { 'content-type': 'text/html' } }));
    expect(!result.ok && result.errors).toEqual([
      {
        message:
          "The answer (HTTP 413, text/html) is not the API's: its body is not JSON, or broke off. A 4xx not from the API most often comes from a proxy that did not pass the request on.",
        code: NOT_API_ANSWER,
        extensions: {},
      },
    ]);
  });

  it("the API's own errors are its refusal, whatever the status", async () => {
    const body = { errors: [{ message: 'Config store unavailable', extensions: { code: 'UNAVAILABLE' } }] };
    const { result } = await runAgainst(Response.json(body, { status: 503 }));
    expect(!result.ok && result.errors).toEqual([
      { message: 'Config store unavailable', code: 'UNAVAILABLE', extensions: { code: 'UNAVAILABLE' } },
    ]);
    expect(!result.ok && notConfirmed(result.errors)).toBe(false);
  });

  it("the API's own UNAVAILABLE with outcome UNKNOWN (the store was sent the change and did not answer) is not confirmed, not a refusal", async () => {
    // What an etcd commit whose answer was lost gives (StoreOutcomeUnknownError): the page said
    // "Refused … Nothing was changed" of a change that may be in force.
    const body = { errors: [{ message: 'Config store unavailable', extensions: { code: 'UNAVAILABLE', outcome: 'UNKNOWN' } }] };
    const { result } = await runAgainst(Response.json(body, { status: 503 }));
    expect(!result.ok && result.errors).toEqual([
      { message: 'Config store unavailable', code: 'UNAVAILABLE', extensions: { code: 'UNAVAILABLE', outcome: 'UNKNOWN' } },
    ]);
    expect(!result.ok && notConfirmed(result.errors)).toBe(true);
  });
});

describe("the operator page's refusal words", () => {
  const error = (message: string) => ({ message, code: 'CONFLICT', extensions: {} });

  it('end with a full stop, so the text after them is a sentence of its own', () => {
    // As the API words a stale expectedVersion: no full stop of its own.
    expect(`${errorSentences([error('Config version conflict: expected 1, current 2')])} Nothing was changed.`).toBe(
      'Config version conflict: expected 1, current 2. Nothing was changed.',
    );
    expect(errorSentences([error('first'), error(' second ')])).toBe('first; second.');
    // One that has its own is not given a second.
    expect(errorSentences([error('Not allowed.')])).toBe('Not allowed.');
    expect(errorSentences([error('Is it "stale?"')])).toBe('Is it "stale?"');
    expect(errorSentences([error('(see the log)')])).toBe('(see the log).');
    expect(errorSentences([error('  ')])).toBe('No reason was given.');
    expect(errorSentences([])).toBe('No reason was given.');
  });
});
