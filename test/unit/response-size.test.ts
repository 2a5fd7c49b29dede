import { createSchema, createYoga, type Plugin } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { responseSizePlugin } from '../../src/graphql/plugins/response-size.js';

/** A yoga with the size cap and a probe in each answer's extensions that counts how often the answer is serialised. */
function yogaCountingSerialisations(maxBytes: number) {
  const count = { serialised: 0 };
  const probe: Plugin = {
    onExecute: () => ({
      onExecuteDone: ({ result, setResult }) => {
        if (!('data' in result)) return;
        setResult({ ...result, extensions: { probe: { toJSON: () => ++count.serialised } } });
      },
    }),
  };
  const yoga = createYoga({
    schema: createSchema({
      typeDefs: 'type Query { hello(n: Int!): String! fails: String }',
      resolvers: {
        Query: {
          hello: (_: unknown, { n }: { n: number }) => 'x'.repeat(n),
          fails: () => {
            throw new Error('no');
          },
        },
      },
    }),
    plugins: [probe, responseSizePlugin({ maxBytes })],
    maskedErrors: false,
  });
  const ask = async (query: string) => {
    const res = await yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query }),
    });
    return { status: res.status, text: await res.text() };
  };
  return { count, ask };
}

describe('the response-size cap serialises an answer once', () => {
  it('an answer under the cap is measured and sent from the same text: the bytes as before, serialised once', async () => {
    const { count, ask } = yogaCountingSerialisations(1000);
    const answer = await ask('{ hello(n: 5) }');
    expect(answer).toEqual({ status: 200, text: JSON.stringify({ data: { hello: 'xxxxx' }, extensions: { probe: 1 } }) });
    expect(count.serialised).toBe(1);
  });

  it('an answer over the cap is refused; one with errors is serialised again (yoga leaves their internals out first)', async () => {
    const capped = yogaCountingSerialisations(100);
    const refused = await capped.ask('{ hello(n: 200) }');
    expect(JSON.parse(refused.text).errors[0].message).toBe('Response too large');
    expect(capped.count.serialised).toBe(1);
    const open = yogaCountingSerialisations(1000);
    const failed = await open.ask('{ fails }');
    expect(JSON.parse(failed.text)).toMatchObject({
      data: { fails: null },
      errors: [{ message: 'no', path: ['fails'] }],
      extensions: { probe: 2 },
    });
    expect(open.count.serialised).toBe(2);
  });
});
