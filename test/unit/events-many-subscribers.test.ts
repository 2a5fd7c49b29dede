import { expect, it } from 'vitest';
import { createEvents } from '../../src/events/events.js';

it('twenty subscribers to one topic: each hears the event, and Node prints no "possible memory leak" warning', async () => {
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(warning.name);
  process.on('warning', onWarning);
  const events = createEvents();
  try {
    const subscriptions = Array.from({ length: 20 }, () => events.subscribe('status'));
    const heard = subscriptions.map((s) => s.next());
    // Subscribing is asynchronous (the repeater starts on the first next()): publish once all listen.
    await new Promise((resolve) => setImmediate(resolve));
    events.publish('status');
    const steps = await Promise.all(heard);
    expect(steps.map((step) => step.done)).toEqual(Array(20).fill(false));
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings).toEqual([]);
  } finally {
    events.close();
    process.off('warning', onWarning);
  }
});
