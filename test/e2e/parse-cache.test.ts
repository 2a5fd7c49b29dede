import { describe, expect, it } from 'vitest';
import { boundedParseCache, DOCUMENT_CACHE_MAX_CHARS, PARSE_CACHE_MAX_CHARS } from '../../src/graphql/document-cache.js';
import { heapAfterGc } from '../helpers/heap.js';
import { startTestServer } from '../helpers/server.js';

describe("yoga's parse cache", () => {
  it('keeps no document over DOCUMENT_CACHE_MAX_CHARS, and at most PARSE_CACHE_MAX_CHARS of text in all', () => {
    const cache = boundedParseCache<string>();
    const doc = (i: number, chars: number) => `{ __typename } # ${i} ${'x'.repeat(chars)}`.slice(0, chars);
    cache.set(doc(0, DOCUMENT_CACHE_MAX_CHARS + 1), 'big');
    expect(cache.size).toBe(0);
    cache.set(doc(1, 100), 'small');
    expect(cache.get(doc(1, 100))).toBe('small');
    for (let i = 2; i < 400; i++) cache.set(doc(i, DOCUMENT_CACHE_MAX_CHARS), 'near the limit');
    expect(cache.size).toBeLessThanOrEqual(Math.floor(PARSE_CACHE_MAX_CHARS / DOCUMENT_CACHE_MAX_CHARS) + 1);
  });

  it('a client without a token sending distinct 60 KB documents pins nothing: heap flat after 300 of them', async () => {
    const server = await startTestServer({ runner: false });
    const send = async (i: number) => {
      const answer = await server.gql(`{ __typename } # ${i} ${'x'.repeat(60_000)}`, undefined, null);
      expect(answer.body.data).toEqual({ __typename: 'Query' });
    };
    for (let i = 0; i < 20; i++) await send(i); // warm: every lazy part of the pipeline loaded
    const before = heapAfterGc();
    for (let i = 20; i < 320; i++) await send(i);
    // yoga's default cache kept them all (18 MB of text, twice: the key and the AST's source).
    expect(heapAfterGc() - before).toBeLessThan(8 * 1024 * 1024);
  }, 60_000);
});
