import { describe, expect, it } from 'vitest';
import { createInProcessEventBus } from '../../src/events/bus.js';

describe('in-process event bus', () => {
  it('delivers to listeners and iterators in order; a throwing listener does not stop the others', async () => {
    const bus = createInProcessEventBus<number>();
    const heard: number[] = [];
    bus.subscribe(() => {
      throw new Error('listener bug');
    });
    bus.subscribe((n) => heard.push(n));
    const it1 = bus.iterate();
    const pending = it1.next();
    bus.publish(1);
    bus.publish(2);
    expect(await pending).toEqual({ value: 1, done: false });
    expect(await it1.next()).toEqual({ value: 2, done: false });
    expect(heard).toEqual([1, 2]);
  });

  it('keeps at most maxQueued events for a slow reader, dropping the oldest', async () => {
    const bus = createInProcessEventBus<number>();
    const slow = bus.iterate(undefined, 3);
    for (let n = 1; n <= 10; n++) bus.publish(n);
    const got = [await slow.next(), await slow.next(), await slow.next()].map((r) => r.value);
    expect(got).toEqual([8, 9, 10]);
  });

  it('ends iterators on abort, on return() and on close, and stops queueing for them', async () => {
    const bus = createInProcessEventBus<string>();
    const controller = new AbortController();
    const aborted = bus.iterate(controller.signal);
    const waiting = aborted.next();
    controller.abort();
    expect(await waiting).toEqual({ value: undefined, done: true });
    const returned = bus.iterate();
    await returned.return!();
    bus.publish('after return');
    expect(await returned.next()).toEqual({ value: undefined, done: true });
    const open = bus.iterate();
    const next = open.next();
    bus.close();
    expect(await next).toEqual({ value: undefined, done: true });
    expect(await bus.iterate().next()).toEqual({ value: undefined, done: true });
  });
});
