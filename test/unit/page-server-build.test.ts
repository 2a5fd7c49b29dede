import { expect, it } from 'vitest';
import { serverChanged } from '../../src/page/model.js';

const build = (version: string, commit: string | null) => ({ version, commit });

it('a server is another build when its version or, both known, its commit differs; an unknown commit leaves the version to decide', () => {
  // Another version: whatever the commits say.
  expect(serverChanged(build('0.1.0', 'aaa'), build('0.2.0', 'aaa'))).toBe(true);
  expect(serverChanged(build('0.1.0', null), build('0.2.0', null))).toBe(true);
  // The same version rebuilt at another commit (before, only the version was compared: false).
  expect(serverChanged(build('0.1.0', 'aaa'), build('0.1.0', 'bbb'))).toBe(true);
  // The same build.
  expect(serverChanged(build('0.1.0', 'aaa'), build('0.1.0', 'aaa'))).toBe(false);
  // A commit unknown on either side (built outside git, run from source, a server from before `commit`): the version alone.
  expect(serverChanged(build('0.1.0', null), build('0.1.0', 'bbb'))).toBe(false);
  expect(serverChanged(build('0.1.0', 'aaa'), build('0.1.0', null))).toBe(false);
  expect(serverChanged(build('0.1.0', null), build('0.1.0', null))).toBe(false);
});
