import { describe, expect, it } from 'vitest';
import { EtcdUrlError, endpointAddress, parseEtcdStoreUrl } from '../../src/store-etcd/url.js';

describe('parseEtcdStoreUrl', () => {
  it('reads one member and the prefix, with leading and trailing slash', () => {
    expect(parseEtcdStoreUrl('etcd://127.0.0.1:2379/scp')).toEqual({ endpoints: [{ host: '127.0.0.1', port: 2379 }], prefix: '/scp/' });
  });

  it('reads several members, host names, IPv6 and a nested prefix', () => {
    const url = parseEtcdStoreUrl('etcd://etcd-0.internal:2379,10.0.0.2:32379,[::1]:2380/prod/strategy-control-plane/');
    expect(url.endpoints).toEqual([
      { host: 'etcd-0.internal', port: 2379 },
      { host: '10.0.0.2', port: 32379 },
      { host: '::1', port: 2380 },
    ]);
    expect(url.prefix).toBe('/prod/strategy-control-plane/');
    expect(url.endpoints.map(endpointAddress)).toEqual(['etcd-0.internal:2379', '10.0.0.2:32379', '[::1]:2380']);
  });

  it("refuses a prefix inside another deployment's audit/, tokens/, runners/ or replicas/ keys, and names every one in the way out", () => {
    expect(() => parseEtcdStoreUrl('etcd://h:1/trading/audit/config')).toThrow(
      /the prefix "trading\/audit\/config" lies inside the audit\/ keys of a deployment at "trading".*e\.g\. "trading-audit-config"/,
    );
    expect(() => parseEtcdStoreUrl('etcd://h:1/prod/trading/tokens')).toThrow(
      /inside the tokens\/ keys of a deployment at "prod\/trading"/,
    );
    expect(() => parseEtcdStoreUrl('etcd://h:1/a/runners/x')).toThrow(/inside the runners\/ keys of a deployment at "a"/);
    expect(() => parseEtcdStoreUrl('etcd://h:1/a/replicas/x')).toThrow(/inside the replicas\/ keys of a deployment at "a"/);
    // The way out names every folder refused (it once left "replicas" out of the list).
    expect(() => parseEtcdStoreUrl('etcd://h:1/t1/replicas')).toThrow(
      /choose a prefix with no "audit", "tokens", "runners" or "replicas" part after the first \(e\.g\. "t1-replicas"\)/,
    );
    // As a first part it is inside nothing; and config, strategies, migrating are single keys, not folders.
    expect(parseEtcdStoreUrl('etcd://h:1/audit').prefix).toBe('/audit/');
    expect(parseEtcdStoreUrl('etcd://h:1/trading/config/eu').prefix).toBe('/trading/config/eu/');
    expect(parseEtcdStoreUrl('etcd://h:1/trading/auditors').prefix).toBe('/trading/auditors/');
  });

  it("takes etcd's client port when none is given", () => {
    expect(parseEtcdStoreUrl('etcd://etcd/scp').endpoints).toEqual([{ host: 'etcd', port: 2379 }]);
    expect(parseEtcdStoreUrl('etcd://[::1]/scp').endpoints).toEqual([{ host: '::1', port: 2379 }]);
  });

  it.each([
    ['file', /etcd:\/\/host:port/],
    ['etcds://127.0.0.1:2379/scp', /unknown scheme "etcds".*--etcd-ca/],
    ['http://127.0.0.1:2379/scp', /unknown scheme "http"/],
    ['etcd://127.0.0.1:2379', /a key prefix is required/],
    ['etcd://127.0.0.1:2379/', /a key prefix is required/],
    ['etcd:///scp', /at least one host/],
    ['etcd://a:1,,b:2/scp', /an empty host/],
    ['etcd://a:0/scp', /port must be a number from 1 to 65535/],
    ['etcd://a:65536/scp', /port must be a number/],
    ['etcd://a:x/scp', /port must be a number/],
    ['etcd://::1:2379/scp', /IPv6 address in brackets/],
    ['etcd://[::1/scp', /closing "\]"/],
    ['etcd://[nothex]:1/scp', /not an IPv6 address/],
    ['etcd://a_b:1/scp', /not a host name/],
    ['etcd://user@a:1/scp', /credentials do not go in the URL/],
    ['etcd://a:1/scp?x=1', /no user, query/],
    ['etcd://a:1/s%2Fp', /no user, query/],
    ['etcd://a:1/../x', /may hold only/],
    ['etcd://a:1/a//b', /may hold only/],
    ['etcd://a:1/sp ace', /no user, query/],
    ['etcd://a:1,A:1/scp', /listed twice/],
  ])('refuses %s', (url, message) => {
    expect(() => parseEtcdStoreUrl(url)).toThrow(EtcdUrlError);
    expect(() => parseEtcdStoreUrl(url)).toThrow(message);
  });

  it.each([
    'etcd://user:hunter2secret@127.0.0.1:2379/scp',
    'etcd://hunter2secret@a:1/scp',
    'https://user:hunter2secret@a:1/scp',
    'etcd://u:hunter2secret@a:1,b:2/scp?x=1',
    // A password holding "/", "?", "#" or "@": the userinfo ends at the last "@".
    'etcd://alice:hunter2secret/P4ss@etcd-1:2379/trading',
    'etcd://alice:hunter2secret?x@etcd-1:2379/trading',
    'etcd://alice:hunter2secret#x@etcd-1:2379/trading',
    'etcd://alice:p@hunter2secret@etcd-1:2379/trading',
  ])('never quotes credentials put in the URL: %s', (url) => {
    const message = (() => {
      try {
        parseEtcdStoreUrl(url);
      } catch (err) {
        return (err as Error).message;
      }
      return 'accepted';
    })();
    expect(message).toContain('<credentials removed>@');
    expect(message).toContain('credentials do not go in the URL');
    expect(message).not.toContain('hunter2secret');
  });

  it.each(['etcd://h:2379/t?password=hunter2secret', 'etcd://h:2379/t#hunter2secret', 'https://h:2379/t?password=hunter2secret'])(
    'never quotes a query or fragment, which may carry a secret: %s',
    (url) => {
      expect(() => parseEtcdStoreUrl(url)).toThrow(EtcdUrlError);
      expect(() => parseEtcdStoreUrl(url)).toThrow('<query removed>');
      expect(() => parseEtcdStoreUrl(url)).not.toThrow(/hunter2secret/);
    },
  );
});
