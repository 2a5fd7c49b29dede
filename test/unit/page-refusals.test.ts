import { describe, expect, it } from 'vitest';
import { MAX_VERSION } from '../../src/config/errors.js';
import { RATE_LIMITED_MESSAGE } from '../../src/http/steps/auth-failure-limit.js';
import { FAILED_AUTH_LIMITED } from '../../src/page/api.js';
import { LAST_CONFIG_VERSION } from '../../src/page/views/dialog.js';

describe('the operator page and the server agree', () => {
  it("on the failed-auth limit's message: the page tells that 429 (the token's) from the subscription limit's", () => {
    expect(FAILED_AUTH_LIMITED).toBe(RATE_LIMITED_MESSAGE);
  });

  it('on the last version a config may have: at it, the dialogs send nothing (the server would refuse)', () => {
    expect(LAST_CONFIG_VERSION).toBe(MAX_VERSION);
  });
});
