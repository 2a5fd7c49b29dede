import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { subscribesToStateNow } from '../../src/graphql/plugins/no-repeated-events.js';
import { schema } from '../../src/graphql/schema/index.js';

const stateNow = (document: string, operationName?: string) => subscribesToStateNow(schema, parse(document), operationName);

describe('which subscriptions drop an event that reads as the last one sent', () => {
  it('statusChanged and strategiesChanged (the state now), by the field’s name: aliased, in a fragment or an inline fragment alike', () => {
    expect(stateNow('subscription { statusChanged { configVersion } }')).toBe(true);
    expect(stateNow('subscription { strategiesChanged { key } }')).toBe(true);
    expect(stateNow('subscription { signalsEmitted: statusChanged { configVersion } }')).toBe(true);
    expect(stateNow('subscription { ...S } fragment S on Subscription { now: strategiesChanged { key } }')).toBe(true);
    expect(stateNow('subscription { ... on Subscription { statusChanged { configVersion } } }')).toBe(true);
  });

  it('never signalsEmitted (each event a scan of its own), whatever it is called; nor a query or mutation', () => {
    expect(stateNow('subscription { signalsEmitted { direction } }')).toBe(false);
    expect(stateNow('subscription { statusChanged: signalsEmitted { direction } }')).toBe(false);
    expect(stateNow('subscription { ...S } fragment S on Subscription { strategiesChanged: signalsEmitted { direction } }')).toBe(false);
    expect(stateNow('subscription A { statusChanged { configVersion } } subscription B { signalsEmitted { direction } }', 'B')).toBe(false);
    expect(stateNow('subscription A { statusChanged { configVersion } } subscription B { signalsEmitted { direction } }', 'A')).toBe(true);
    expect(stateNow('{ status { configVersion } }')).toBe(false);
    expect(stateNow('subscription { nothing }')).toBe(false);
  });
});
