import { stat } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { turns } from '../../src/events/turns.js';

describe('turns', () => {
  it('resumes waiters one per loop turn, first come first served, with I/O answered in between', async () => {
    const nextTurn = turns();
    const log: string[] = [];
    const io = stat('.').then(() => log.push('io'));
    await Promise.all([...Array.from({ length: 30 }, (_, i) => nextTurn().then(() => log.push(`w${i}`))), io]);
    const waiters = log.filter((e) => e !== 'io');
    expect(waiters).toEqual(Array.from({ length: 30 }, (_, i) => `w${i}`));
    // Resumed all in one turn, the I/O callback would come after the thirty.
    expect(log.indexOf('io')).toBeLessThan(29);
  });
});
