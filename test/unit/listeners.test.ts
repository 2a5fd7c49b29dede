import { expect, it } from 'vitest';
import { Listeners } from '../../src/listeners.js';

it('tells every listener in turn; one that throws stops neither the others nor the emitter; unsubscribe works', () => {
  const errors: unknown[] = [];
  const listeners = new Listeners<number>((err) => errors.push(err));
  const heard: string[] = [];
  listeners.add((n) => heard.push(`a${n}`));
  const off = listeners.add(() => {
    throw new Error('b failed');
  });
  listeners.add((n) => heard.push(`c${n}`));
  expect(() => listeners.emit(1)).not.toThrow();
  expect(heard).toEqual(['a1', 'c1']);
  expect(errors.map((e) => (e as Error).message)).toEqual(['b failed']);
  off();
  listeners.emit(2);
  expect(heard).toEqual(['a1', 'c1', 'a2', 'c2']);
  expect(errors).toHaveLength(1);
  expect(listeners.size).toBe(2);
  listeners.clear();
  listeners.emit(3);
  expect(heard).toHaveLength(4);
});
