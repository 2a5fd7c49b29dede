import { describe, expect, it } from 'vitest';
import { RATE_LIMITED_MESSAGE } from '../../src/http/steps/auth-failure-limit.js';
import { FAILED_AUTH_LIMITED } from '../../src/page/api.js';

describe('the operator page and the server agree', () => {
  it("on the failed-auth limit's message: the page tells that 429 (the token's) from the subscription limit's", () => {
    expect(FAILED_AUTH_LIMITED).toBe(RATE_LIMITED_MESSAGE);
  });
});
