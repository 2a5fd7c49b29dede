import { describe, expect, it } from 'vitest';
import { createEvents } from '../../src/events/events.js';
import type { ScanSignals } from '../../src/runner/signal-history.js';

/** Subscribing is asynchronous (the repeater starts on the first next()): publish once all listen. */
const listening = () => new Promise((resolve) => setImmediate(resolve));
const scan: ScanSignals = { runnerId: 'r1', runStartedAt: '2026-01-01T00:00:00.000Z', scannedAt: '2026-01-01T00:00:01.000Z', signals: [] };

describe('each subscription keeps its own events (one buffer was shared by every subscription)', () => {
  it('a status event left unread by one subscriber is not delivered to another topic’s (a phantom empty scan on signalsEmitted)', async () => {
    const events = createEvents();
    const status = events.subscribe('status');
    const signals = events.subscribe('signals');
    // Both listening (a subscription starts listening when first read).
    const firstStatus = status.next();
    const firstSignals = signals.next();
    await listening();
    events.publish('status');
    expect(await firstStatus).toEqual({ done: false, value: null });
    // Two more status events, not read yet: kept for the status subscriber alone.
    events.publish('status');
    events.publish('status');
    events.publish('signals', scan);
    expect(await firstSignals).toEqual({ done: false, value: scan });
    events.publish('signals', { ...scan, scannedAt: '2026-01-01T00:00:02.000Z' });
    expect((await signals.next()).value).toMatchObject({ scannedAt: '2026-01-01T00:00:02.000Z' });
    expect(await status.next()).toEqual({ done: false, value: null });
    expect(await status.next()).toEqual({ done: false, value: null });
    events.close();
  });

  it('two subscribers of one topic each get every event, one reading late (it took the other one’s)', async () => {
    const events = createEvents();
    const a = events.subscribe('signals');
    const b = events.subscribe('signals');
    const aFirst = a.next();
    const bFirst = b.next();
    await listening();
    const scans = [1, 2, 3].map((n) => ({ ...scan, scannedAt: `2026-01-01T00:00:0${n}.000Z` }));
    for (const s of scans) events.publish('signals', s);
    const read = async (first: Promise<IteratorResult<ScanSignals | undefined>>, it: AsyncIterator<ScanSignals | undefined>) => [
      (await first).value?.scannedAt,
      (await it.next()).value?.scannedAt,
      (await it.next()).value?.scannedAt,
    ];
    expect(await read(aFirst, a)).toEqual(scans.map((s) => s.scannedAt));
    expect(await read(bFirst, b)).toEqual(scans.map((s) => s.scannedAt));
    events.close();
  });
});
