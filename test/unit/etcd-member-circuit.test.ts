import { BrokenCircuitError } from 'cockatiel';
import { GRPCDeadlineExceededError } from 'etcd3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { memberCircuit } from '../../src/store-etcd/gateway.js';

const timedOut = () => Promise.reject(new GRPCDeadlineExceededError('4 DEADLINE_EXCEEDED: Deadline exceeded after 0.700s'));

/** How a call ended, or 'waiting' if it had not by the time pending I/O and timers got their turn. */
async function settledSoon<T>(call: Promise<T>): Promise<{ value: T } | { error: unknown } | 'waiting'> {
  return Promise.race([
    call.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    ),
    new Promise<'waiting'>((resolve) => setImmediate(() => resolve('waiting'))),
  ]);
}

describe("an etcd member's circuit (the client's per-member fault handling)", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a member being tried again after its timeouts is skipped by other calls at once, not waited for; its answer closes the circuit', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const circuit = memberCircuit();
    for (let i = 0; i < 3; i++) await expect(circuit.execute(timedOut)).rejects.toBeInstanceOf(GRPCDeadlineExceededError);
    // Open: skipped.
    await expect(circuit.execute(async () => 'skipped')).rejects.toBeInstanceOf(BrokenCircuitError);

    vi.setSystemTime(Date.now() + 500);
    let answer: (value: string) => void = () => {};
    const trial = circuit.execute(() => new Promise<string>((resolve) => (answer = resolve)));
    // cockatiel alone would hold this call until the trial ends (up to a whole try behind a hung
    // member), then send it with its time spent.
    expect(await settledSoon(circuit.execute(async () => 'other'))).toEqual({ error: expect.any(BrokenCircuitError) });

    answer('trial');
    expect(await trial).toBe('trial');
    expect(await circuit.execute(async () => 'closed')).toBe('closed');
  });

  it('a call that held the member 100 ms or more and ran out of time opens its circuit at once (the retry goes elsewhere); a quicker one counts as one of three', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const held = (ms: number) => async () => {
      vi.setSystemTime(Date.now() + ms);
      return timedOut();
    };
    const circuit = memberCircuit();
    await expect(circuit.execute(held(700))).rejects.toBeInstanceOf(GRPCDeadlineExceededError);
    await expect(circuit.execute(async () => 'skipped')).rejects.toBeInstanceOf(BrokenCircuitError);

    // Time ran out after 99 ms there: the call may have had little left when it came. Three in a row open it.
    const other = memberCircuit();
    for (let i = 0; i < 2; i++) await expect(other.execute(held(99))).rejects.toBeInstanceOf(GRPCDeadlineExceededError);
    expect(await other.execute(async () => 'still closed')).toBe('still closed');
    for (let i = 0; i < 3; i++) await expect(other.execute(held(99))).rejects.toBeInstanceOf(GRPCDeadlineExceededError);
    await expect(other.execute(async () => 'skipped')).rejects.toBeInstanceOf(BrokenCircuitError);
  });

  it('a trial that times out opens the circuit again for another half second', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const circuit = memberCircuit();
    for (let i = 0; i < 3; i++) await circuit.execute(timedOut).catch(() => undefined);
    vi.setSystemTime(Date.now() + 500);
    await expect(circuit.execute(timedOut)).rejects.toBeInstanceOf(GRPCDeadlineExceededError);
    await expect(circuit.execute(async () => 'skipped')).rejects.toBeInstanceOf(BrokenCircuitError);
    vi.setSystemTime(Date.now() + 499);
    await expect(circuit.execute(async () => 'skipped')).rejects.toBeInstanceOf(BrokenCircuitError);
    vi.setSystemTime(Date.now() + 1);
    expect(await circuit.execute(async () => 'tried')).toBe('tried');
  });
});
