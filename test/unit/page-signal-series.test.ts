import { describe, expect, it } from 'vitest';
import type { Signal, State } from '../../src/page/model.js';
import { addFetched, addLive, SIGNALS_SHOWN, type SignalSeries, seriesShown } from '../../src/page/signal-series.js';

/**
 * A signal of `runnerId` on its feed's candle `n` (5-minute candles from the sim feed's start), priced
 * `price`, from a runner of an older version: it says no run or scan.
 */
const signal = (runnerId: string, n: number, price: number, instrument = 'EUR_USD'): Signal => ({
  instrument,
  runnerId,
  strategyKey: 'momentum',
  direction: 'FLAT',
  reason: `candle ${n}`,
  price,
  candleTime: new Date(Date.UTC(2026, 0, 5) + n * 300_000).toISOString(),
  error: null,
  runStartedAt: null,
  scan: null,
});

/** The same signal from a runner that says its run (`run`: its start, an hour number) and scan. */
const made = (s: Signal, run: number, scan: number): Signal => ({
  ...s,
  runStartedAt: new Date(Date.UTC(2026, 0, 5, run)).toISOString(),
  scan,
});

/**
 * `stream(shift)` from runners that say their run and scan: `a` restarted at `restartAt` (run 1,
 * its scans numbered from 1 again), `b` scanning on in run 0.
 */
function madeStream(shift: number): Signal[] {
  const scans = new Map<string, number>();
  return stream(shift).map((s, i) => {
    const run = s.runnerId === 'a' && i >= restartAt ? 1 : 0;
    const key = `${s.runnerId}/${run}`;
    const scan = (scans.get(key) ?? 0) + 1;
    scans.set(key, scan);
    return made(s, run, scan);
  });
}

const series = (held: SignalSeries, runnerId: string, instrument = 'EUR_USD') =>
  (held.get(instrument)?.get(runnerId) ?? []).map((s) => `${s.reason} @${s.price}`);

/**
 * Two runners on EUR_USD, interleaved, and runner `a` restarted halfway: its feed starts its candle
 * times again, with the same prices (the same seed: the restarted run's first signals equal the old
 * run's) or other ones (`shift`). As the page hears them; `restartAt` is the restarted run's first.
 */
function stream(shift: number): Signal[] {
  const arrivals: Signal[] = [];
  for (let n = 1; n <= 6; n++) arrivals.push(signal('a', n, 1 + n / 100), signal('b', 40 + n, 2 + n / 100));
  for (let n = 1; n <= 4; n++) arrivals.push(signal('a', n, 1 + n / 100 + shift), signal('b', 46 + n, 2 + (6 + n) / 100));
  return arrivals;
}
const restartAt = 12;
const arrivals = stream(0);

describe('the page’s signal series', () => {
  it('keeps a series per runner on an instrument, in arrival order: a restarted runner’s starts over, its newest arrival last', () => {
    const held = addLive(new Map(), arrivals);
    expect(series(held, 'a')).toEqual(['candle 1 @1.01', 'candle 2 @1.02', 'candle 3 @1.03', 'candle 4 @1.04']);
    expect(series(held, 'b')).toEqual(Array.from({ length: 10 }, (_, i) => `candle ${41 + i} @${2 + (i + 1) / 100}`));
    expect([...held.get('EUR_USD')!.keys()]).toEqual(['a', 'b']);
  });

  it('merges the first query (newest first) into what the live stream held so far into what the live stream alone builds', () => {
    for (const shift of [0, 0.5]) {
      const heard = stream(shift);
      const live = addLive(new Map(), heard);
      const n = heard.length;
      // The stream opens (k), the query's answer is made (m >= k), the page has heard the stream up to j when the answer comes.
      for (let k = 0; k <= n; k++) {
        for (let m = k; m <= n; m++) {
          for (let j = k; j <= n; j++) {
            // A restart with the same prices within the moment between the stream's opening and the
            // answer cannot be told from the old run's signals heard twice (nothing in a signal tells them apart).
            if (shift === 0 && k < restartAt + 1 && Math.max(m, j) > restartAt) continue;
            const held = addLive(new Map(), heard.slice(k, j));
            addFetched(held, 'EUR_USD', heard.slice(0, m).reverse());
            addLive(held, heard.slice(j));
            const scans = (runner: string, from: number, to: number) => heard.slice(from, to).filter((s) => s.runnerId === runner).length;
            // Before the stream has delivered a runner's scan, at most two of its scans fall between the stream's opening and the answer.
            for (const runner of ['a', 'b'].filter((r) => scans(r, k, j) > 0 || scans(r, k, m) <= 2))
              expect({ shift, k, m, j, runner, got: series(held, runner) }).toEqual({ shift, k, m, j, runner, got: series(live, runner) });
          }
        }
      }
    }
  });

  it('with the run and scan said, merges every way the query and the stream can meet into what the stream alone builds: a restart repeating the old run’s signals included', () => {
    for (const shift of [0, 0.5]) {
      const heard = madeStream(shift);
      const live = addLive(new Map(), heard);
      expect(series(live, 'a')).toEqual([
        'candle 1 @' + (1.01 + shift),
        'candle 2 @' + (1.02 + shift),
        'candle 3 @' + (1.03 + shift),
        'candle 4 @' + (1.04 + shift),
      ]);
      const n = heard.length;
      for (let k = 0; k <= n; k++) {
        for (let m = k; m <= n; m++) {
          for (let j = k; j <= n; j++) {
            const held = addLive(new Map(), heard.slice(k, j));
            addFetched(held, 'EUR_USD', heard.slice(0, m).reverse());
            addLive(held, heard.slice(j));
            // No case left out, and no bound on the scans between the stream's opening and the answer.
            for (const runner of ['a', 'b'])
              expect({ shift, k, m, j, runner, got: series(held, runner) }).toEqual({ shift, k, m, j, runner, got: series(live, runner) });
          }
        }
      }
    }
  });

  it('with the run and scan said, a run’s candle times going back are that run’s signals (not a restart), and its scan heard twice is kept once', () => {
    const back = [
      made(signal('a', 5, 1.05), 0, 1),
      made(signal('a', 3, 1.03), 0, 2),
      made(signal('a', 3, 1.03), 0, 2),
      made(signal('a', 4, 1.04), 0, 3),
    ];
    expect(series(addLive(new Map(), back), 'a')).toEqual(['candle 5 @1.05', 'candle 3 @1.03', 'candle 4 @1.04']);
    // The same without a run and scan: guessed a restart at candle 3.
    expect(
      series(
        addLive(
          new Map(),
          back.map((s) => ({ ...s, runStartedAt: null, scan: null })),
        ),
        'a',
      ),
    ).toEqual(['candle 3 @1.03', 'candle 4 @1.04']);
    // A restart one scan in, whose first signal is the old run's first over again (the same seed): the series starts over, kept.
    const again = [made(signal('a', 1, 1.01), 0, 1), made(signal('a', 1, 1.01), 1, 1), made(signal('a', 2, 1.02), 1, 2)];
    expect(
      addLive(new Map(), again)
        .get('EUR_USD')!
        .get('a')!
        .map((s) => [s.runStartedAt?.slice(11, 13), s.scan]),
    ).toEqual([
      ['01', 1],
      ['01', 2],
    ]);
    // The answer's scans 1-2 of the new run, while the stream held scan 1 only: scan 2 heard later is kept once.
    const held = addLive(new Map(), again.slice(1, 2));
    addFetched(held, 'EUR_USD', again.slice(0, 3).reverse());
    addLive(held, again.slice(2));
    expect(
      held
        .get('EUR_USD')!
        .get('a')!
        .map((s) => s.scan),
    ).toEqual([1, 2]);
    // A runner upgraded in place (its old version said no scans): the new version's first signal starts the series over.
    const upgraded = addLive(new Map(), [signal('a', 7, 1.07), made(signal('a', 8, 1.08), 2, 1)]);
    expect(series(upgraded, 'a')).toEqual(['candle 8 @1.08']);
  });

  it(`keeps the newest ${SIGNALS_SHOWN} of a series`, () => {
    const held = addLive(
      new Map(),
      Array.from({ length: SIGNALS_SHOWN + 5 }, (_, i) => signal('a', i, 1 + i / 1000)),
    );
    const kept = held.get('EUR_USD')!.get('a')!;
    expect(kept).toHaveLength(SIGNALS_SHOWN);
    expect(kept[0]!.reason).toBe('candle 5');
    expect(kept.at(-1)!.reason).toBe(`candle ${SIGNALS_SHOWN + 4}`);
  });

  it('charts an instrument once when one runner publishes it, and once per runner (named) when several do: never one line from two feeds', () => {
    const state = (runners: string[], signals: Signal[]) =>
      ({
        status: { activeStrategyKey: 'momentum', runners: runners.map((id) => ({ id })) },
        signals: addLive(new Map(), signals),
      }) as unknown as State;
    const one = seriesShown(state(['a'], [signal('a', 1, 1.01), signal('a', 2, 1.02)]), 'EUR_USD');
    expect(one.map((s) => [s.runnerId, s.signals.map((x) => x.price)])).toEqual([[null, [1.01, 1.02]]]);
    expect(seriesShown(state(['a'], []), 'EUR_USD').map((s) => [s.runnerId, s.signals.length])).toEqual([[null, 0]]);
    const two = seriesShown(state(['b', 'a'], arrivals), 'EUR_USD');
    expect(two.map((s) => [s.runnerId, s.signals.at(-1)?.price])).toEqual([
      ['a', 1.04],
      ['b', 2.1],
    ]);
    // A runner no longer listed (named <host>:<pid>, restarted as another) is not drawn beside the one that is.
    const restarted = seriesShown(state(['host:2'], [signal('host:1', 5, 1.05), signal('host:2', 1, 1.01)]), 'EUR_USD');
    expect(restarted.map((s) => [s.runnerId, s.signals.map((x) => x.price)])).toEqual([[null, [1.01]]]);
    // Charts go in the order a person reads ids, as the fleet's tiles do: runner-2 before runner-10.
    const ten = seriesShown(state(['runner-10', 'runner-2'], [signal('runner-10', 1, 1.1), signal('runner-2', 1, 1.2)]), 'EUR_USD');
    expect(ten.map((s) => s.runnerId)).toEqual(['runner-2', 'runner-10']);
    // Another strategy's signals are not this one's.
    const other = { ...signal('b', 1, 2), strategyKey: 'gold' };
    expect(seriesShown(state(['a', 'b'], [signal('a', 1, 1.01), other]), 'EUR_USD').map((s) => s.runnerId)).toEqual([null]);
  });
});
