import { describe, expect, it } from 'vitest';
import { RUNNERS_REMEMBERED, recordPublishedScans, SIGNALS_KEPT_PER_INSTRUMENT, SignalHistory } from '../../src/runner/signal-history.js';
import type { RunnerSignalRecord, RunnerState, RunnerStateSource } from '../../src/runner/state.js';

const signal = (instrument: string, n: number, direction: RunnerSignalRecord['direction'] = 'FLAT'): RunnerSignalRecord => ({
  instrument,
  strategyKey: 'momentum',
  direction,
  reason: `scan ${n}`,
  values: {},
  price: 1 + n / 1000,
  candleTime: new Date(Date.UTC(2026, 0, 5) + n * 300_000).toISOString(),
  error: null,
});

/** A scan as a runner of an older version published it: no scan numbers on its signals. */
const scan = (n: number, instruments = ['EUR_USD', 'GBP_USD']) => ({
  runnerId: 'host:1',
  runStartedAt: '2026-11-29T00:00:00.000Z',
  scannedAt: new Date(Date.UTC(2026, 10, 29) + n * 1000).toISOString(),
  signals: instruments.map((i) => signal(i, n)),
});

describe('SignalHistory', () => {
  it('keeps the last 1,000 signals per instrument, newest first', () => {
    const history = new SignalHistory();
    for (let n = 1; n <= 1100; n++) history.record(scan(n));
    const eur = history.list({ instrument: 'EUR_USD', last: 5000 });
    expect(SIGNALS_KEPT_PER_INSTRUMENT).toBe(1000);
    expect(eur).toHaveLength(1000);
    expect(eur[0]?.reason).toBe('scan 1100');
    expect(eur.at(-1)?.reason).toBe('scan 101');
    expect(history.list({ instrument: 'EUR_USD', last: 3 }).map((s) => s.reason)).toEqual(['scan 1100', 'scan 1099', 'scan 1098']);
    expect(history.list({ instrument: 'XAU_USD', last: 100 })).toEqual([]);
    expect(history.list({ instrument: 'EUR_USD', last: 0 })).toEqual([]);
  });

  it('without an instrument: all of them interleaved, newest first', () => {
    const history = new SignalHistory();
    history.record(scan(1, ['EUR_USD']));
    history.record(scan(2, ['GBP_USD', 'EUR_USD']));
    expect(history.list({ last: 3 }).map((s) => `${s.instrument} ${s.reason}`)).toEqual([
      'EUR_USD scan 2',
      'GBP_USD scan 2',
      'EUR_USD scan 1',
    ]);
  });

  it('keeps two runners on one instrument apart: each signal names its runner, and `runnerId` lists one runner’s newest first', () => {
    const history = new SignalHistory();
    for (let n = 1; n <= 4; n++) {
      history.record({ ...scan(n, ['EUR_USD']), runnerId: 'a' });
      history.record({ ...scan(n, ['EUR_USD']), runnerId: 'b' });
    }
    expect(history.list({ instrument: 'EUR_USD', last: 3 }).map((s) => `${s.runnerId} ${s.reason}`)).toEqual([
      'b scan 4',
      'a scan 4',
      'b scan 3',
    ]);
    expect(history.list({ instrument: 'EUR_USD', runnerId: 'a', last: 3 }).map((s) => `${s.runnerId} ${s.reason}`)).toEqual([
      'a scan 4',
      'a scan 3',
      'a scan 2',
    ]);
    expect(history.list({ runnerId: 'b', last: 2 }).map((s) => `${s.runnerId} ${s.reason}`)).toEqual(['b scan 4', 'b scan 3']);
    expect(history.list({ instrument: 'EUR_USD', runnerId: 'c', last: 3 })).toEqual([]);
  });

  it('records a scan once, however often its state is republished (heartbeats), and tells listeners once', () => {
    const heard: string[] = [];
    const history = new SignalHistory((s) => heard.push(s.scannedAt));
    expect(history.record(scan(1))).toBe(true);
    expect(history.record(scan(1))).toBe(false);
    expect(history.record(scan(2))).toBe(true);
    expect(heard).toEqual([scan(1).scannedAt, scan(2).scannedAt]);
    expect(history.list({ instrument: 'EUR_USD', last: 10 })).toHaveLength(2);
  });

  it('a scan is its run and number when the runner says them: a failed scan republishing the last one’s signals is not a scan of them again; a restart’s scan 1 is', () => {
    const history = new SignalHistory();
    const numbered = (n: number) => ({ ...scan(n, ['EUR_USD']), signals: [{ ...signal('EUR_USD', n), scan: n }] });
    expect(history.record(numbered(1))).toBe(true);
    // The next scan threw: the runner published a new lastScanAt with scan 1's signals still its last.
    expect(history.record({ ...numbered(1), scannedAt: scan(2).scannedAt })).toBe(false);
    expect(history.record(numbered(2))).toBe(true);
    // The runner restarted under its id: scan 1 again, of another run, whatever its scan time.
    const restarted = { ...numbered(1), runStartedAt: '2026-11-29T01:00:00.000Z' };
    expect(history.record(restarted)).toBe(true);
    expect(history.list({ instrument: 'EUR_USD', last: 10 }).map((s) => [s.runStartedAt, s.scan])).toEqual([
      ['2026-11-29T01:00:00.000Z', 1],
      ['2026-11-29T00:00:00.000Z', 2],
      ['2026-11-29T00:00:00.000Z', 1],
    ]);
  });

  it('remembers the last scan of the runners that scanned last, not of every runner id ever seen (<host>:<pid> is new at each restart)', () => {
    const history = new SignalHistory();
    const live = scan(1);
    expect(history.record(live)).toBe(true);
    // A crash loop: a new runner id each time, one scan each; the live runner scans on between them.
    for (let pid = 2; pid < RUNNERS_REMEMBERED + 50; pid++) {
      expect(history.record({ ...scan(pid), runnerId: `host:${pid}` })).toBe(true);
      if (pid % 100 === 0) expect(history.record({ ...live, scannedAt: scan(pid).scannedAt })).toBe(true);
    }
    const lastLive = Math.floor((RUNNERS_REMEMBERED + 49) / 100) * 100;
    expect(history.record({ ...live, scannedAt: scan(lastLive).scannedAt })).toBe(false);
    // The first restarted runners are forgotten: a republished old scan of theirs counts again, theirs being long gone.
    expect(history.record({ ...scan(2), runnerId: 'host:2' })).toBe(true);
    // The last ones are remembered.
    const recent = RUNNERS_REMEMBERED + 49;
    expect(history.record({ ...scan(recent), runnerId: `host:${recent}` })).toBe(false);
  });

  it('follows what a runner publishes: a new lastScanAt is a scan, a heartbeat is not', () => {
    let listener: (() => void) | undefined;
    const base: RunnerState = {
      id: 'host:7',
      host: 'host',
      pid: 7,
      instruments: null,
      feed: 'sim:42',
      startedAt: '2026-11-29T00:00:00.000Z',
      heartbeatAt: '2026-11-29T00:00:00.000Z',
      heartbeatIntervalMs: 2000,
      stopped: false,
      applied: null,
      lastScanAt: null,
      lastSignals: [],
      error: null,
    };
    let published: RunnerState = base;
    const source: RunnerStateSource = {
      list: () => [published],
      subscribe: (l) => {
        listener = l;
        return () => {
          listener = undefined;
        };
      },
      close: () => {},
    };
    const history = new SignalHistory();
    const stop = recordPublishedScans(source, history);
    const publish = (state: RunnerState) => {
      published = state;
      listener?.();
    };
    const scanned = { ...base, lastScanAt: '2026-11-29T00:00:01.000Z', lastSignals: [signal('EUR_USD', 1, 'LONG')] };
    publish(scanned);
    publish({ ...scanned, heartbeatAt: '2026-11-29T00:00:02.000Z' });
    publish({ ...scanned, lastScanAt: '2026-11-29T00:00:03.000Z', lastSignals: [signal('EUR_USD', 2, 'SHORT')] });
    expect(history.list({ instrument: 'EUR_USD', last: 10 }).map((s) => s.direction)).toEqual(['SHORT', 'LONG']);
    stop();
    expect(listener).toBeUndefined();
  });
});
