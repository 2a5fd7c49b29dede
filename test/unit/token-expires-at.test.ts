import { describe, expect, it } from 'vitest';
import { expiresAtTime } from '../../src/auth/token-file.js';

describe('expiresAtTime (expires_at in tokens.yaml and etcd, stratctl --expires-at)', () => {
  it('reads an ISO 8601 time with its zone as the moment it names', () => {
    expect(expiresAtTime('2027-03-01T12:30:00Z')).toBe(Date.UTC(2027, 2, 1, 12, 30));
    expect(expiresAtTime('2027-03-01T12:30Z')).toBe(Date.UTC(2027, 2, 1, 12, 30));
    expect(expiresAtTime('2027-03-01T12:30:15.250+05:30')).toBe(Date.UTC(2027, 2, 1, 7, 0, 15, 250));
    expect(expiresAtTime('2027-12-31T23:59:59-23:59')).toBe(Date.UTC(2028, 0, 1, 23, 58, 59));
    // Leap days where the calendar has them.
    expect(expiresAtTime('2028-02-29T00:00:00Z')).toBe(Date.UTC(2028, 1, 29));
    expect(expiresAtTime('2000-02-29T00:00:00Z')).toBe(Date.UTC(2000, 1, 29));
  });

  it('refuses a time that does not exist (Date.parse rolled it over: February 30th read as March 2nd)', () => {
    for (const text of [
      '2027-02-30T00:00:00Z',
      '2027-02-29T00:00:00Z',
      '2100-02-29T00:00:00Z',
      '2027-04-31T00:00:00Z',
      '2027-00-10T00:00:00Z',
      '2027-13-01T00:00:00Z',
      '2027-01-00T00:00:00Z',
      '2027-01-01T24:00:00Z',
      '2027-01-01T23:60:00Z',
      '2027-01-01T23:59:60Z',
      '2027-01-01T00:00:00+24:00',
      '2027-01-01T00:00:00+05:60',
    ])
      expect(expiresAtTime(text), text).toBeNull();
  });

  it('refuses a time without its zone, or not in this form', () => {
    for (const text of [
      '2027-01-01T00:00:00',
      '2027-01-01',
      'tomorrow',
      '2027-1-1T00:00:00Z',
      ' 2027-01-01T00:00:00Z',
      '2027-01-01T00:00:00z',
    ])
      expect(expiresAtTime(text), text).toBeNull();
  });
});
