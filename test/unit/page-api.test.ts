import { afterEach, describe, expect, it, vi } from 'vitest';
import { ActivateStrategyDocument, OperatorOverviewDocument } from '../../src/generated/graphql.js';
import { Api, CHANGE_NO_ANSWER_MS, errorSentences, NO_ANSWER_MS, NOT_API_ANSWER, notConfirmed, READ_ATTEMPTS } from '../../src/page/api.js';

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

describe("the operator page's Api.run when a request gets no answer", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.useRealTimers();
  });

  /**
   * A server reached through connections whose path is gone (a NAT entry lost as a laptop slept):
   * the requests listed in `answers` by their order get that answer, the others none, ever (until
   * aborted). Returns the requests' times (ms on the fake clock).
   */
  function serverAnswering(answers: Record<number, () => Response>) {
    const sentAt: number[] = [];
    vi.stubGlobal('fetch', (_input: unknown, init: RequestInit) => {
      sentAt.push(Date.now());
      const answer = answers[sentAt.length];
      if (answer) return Promise.resolve(answer());
      return new Promise<Response>((_resolve, reject) => {
        init.signal?.addEventListener('abort', () => reject(init.signal?.reason), { once: true });
      });
    });
    return sentAt;
  }
  const api = () => new Api({ endpoint: 'http://127.0.0.1:1/graphql', token: () => 't', onUnauthorized: () => {} });
  const overview = { viewer: { name: 'admin', scope: 'ADMIN' } };

  it('a read is given up after NO_ANSWER_MS and asked again: the answer to the second is the one shown', async () => {
    vi.useFakeTimers({ now: 0 });
    const sentAt = serverAnswering({ 2: () => Response.json({ data: overview }) });
    const running = api().run(OperatorOverviewDocument, {});
    await vi.advanceTimersByTimeAsync(NO_ANSWER_MS);
    expect(await running).toEqual({ ok: true, data: overview });
    expect(sentAt).toEqual([0, NO_ANSWER_MS]);
  });

  it('a read with no answer READ_ATTEMPTS times says so (NETWORK), and is not asked again on its own', async () => {
    vi.useFakeTimers({ now: 0 });
    const sentAt = serverAnswering({});
    const running = api().run(OperatorOverviewDocument, {});
    await vi.advanceTimersByTimeAsync(READ_ATTEMPTS * NO_ANSWER_MS);
    expect(await running).toEqual({
      ok: false,
      status: 0,
      errors: [{ message: `No answer from the server within ${NO_ANSWER_MS / 1000} s.`, code: 'NETWORK', extensions: {} }],
    });
    expect(sentAt).toHaveLength(READ_ATTEMPTS);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sentAt).toHaveLength(READ_ATTEMPTS);
  });

  it('a change is sent once: no answer within CHANGE_NO_ANSWER_MS, and it is not confirmed (it may or may not have been applied)', async () => {
    vi.useFakeTimers({ now: 0 });
    const sentAt = serverAnswering({});
    const running = api().run(ActivateStrategyDocument, { strategyKey: 'range', expectedVersion: 3 });
    await vi.advanceTimersByTimeAsync(CHANGE_NO_ANSWER_MS - 1);
    expect(sentAt).toEqual([0]);
    await vi.advanceTimersByTimeAsync(1);
    const result = await running;
    expect(!result.ok && notConfirmed(result.errors)).toBe(true);
    expect(!result.ok && result.errors[0]?.message).toBe(`No answer from the server within ${CHANGE_NO_ANSWER_MS / 1000} s.`);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sentAt).toEqual([0]);
  });
});
