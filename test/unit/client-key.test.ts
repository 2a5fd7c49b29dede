import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { clientKeyOf, clientOfAddress } from '../../src/http/client-key.js';
import { type ConnectionClosure, guardConnections } from '../../src/http/connections.js';
import { CONNECTION_LIMITS } from '../../src/limit-defaults.js';

describe('clientOfAddress: who a per-client limit counts', () => {
  it('an IPv4 address is itself; one mapped into IPv6 (a dual-stack listener) is the same IPv4 client', () => {
    expect(clientOfAddress('192.0.2.7')).toBe('192.0.2.7');
    expect(clientOfAddress('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(clientOfAddress('::FFFF:c000:0207')).toBe('192.0.2.7');
  });

  it('an IPv6 address counts as its /64, written canonically (RFC 5952), however the address was written', () => {
    const sameHome = ['2001:db8:a:b::1', '2001:db8:a:b:ffff:ffff:ffff:fffe', '2001:0DB8:000A:000B:0:0:0:2', '2001:db8:a:b::192.0.2.1'];
    expect(new Set(sameHome.map(clientOfAddress))).toEqual(new Set(['2001:db8:a:b::/64']));
    expect(clientOfAddress('2001:db8:a:c::1')).toBe('2001:db8:a:c::/64');
    expect(clientOfAddress('2001:db8::1')).toBe('2001:db8::/64');
    expect(clientOfAddress('2001:0:0:1::9')).toBe('2001:0:0:1::/64');
    expect(clientOfAddress('0:1::5')).toBe('0:1::/64');
    expect(clientOfAddress('fe80::1%eth0')).toBe('fe80::/64');
  });

  it('the IPv6 loopback stays itself; no address or something that is not one is kept as given', () => {
    expect(clientOfAddress('::1')).toBe('::1');
    expect(clientOfAddress(undefined)).toBe('unknown');
    expect(clientOfAddress('proxy-said-this')).toBe('proxy-said-this');
    expect(clientOfAddress('2001:db8::g')).toBe('2001:db8::g');
  });
});

describe('clientKeyOf: the client a request counts as', () => {
  const request = (remoteAddress: string, forwarded?: string) =>
    ({ socket: { remoteAddress }, headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded } }) as unknown as IncomingMessage;

  it("is its connection's client, worked out when it connected, or else its socket's address", () => {
    expect(clientKeyOf(request('2001:db8:a:b::1'), false, '2001:db8:a:b::/64')).toBe('2001:db8:a:b::/64');
    expect(clientKeyOf(request('2001:db8:a:b::1'), false)).toBe('2001:db8:a:b::/64');
    expect(clientKeyOf(request('::ffff:192.0.2.7'), false)).toBe('192.0.2.7');
  });

  it("behind a TLS proxy, is the hop the proxy appended, not the proxy's own connection", () => {
    expect(clientKeyOf(request('10.0.0.2', '198.51.100.1, 2001:db8:a:b::9'), true, '10.0.0.2')).toBe('2001:db8:a:b::/64');
    expect(clientKeyOf(request('10.0.0.2', '198.51.100.1'), false, '10.0.0.2')).toBe('10.0.0.2');
    expect(clientKeyOf(request('10.0.0.2'), true, '10.0.0.2')).toBe('10.0.0.2');
  });

  it('behind a TLS proxy, a hop with a port (or an IPv6 one in brackets) is its address: each source port is not a new client', () => {
    const behind = (forwarded: string) => clientKeyOf(request('10.0.0.2', forwarded), true, '10.0.0.2');
    expect(behind('203.0.113.9, 198.51.100.1:5678')).toBe('198.51.100.1');
    expect(behind('198.51.100.1:5679')).toBe('198.51.100.1');
    expect(behind('[2001:db8:a:b::9]:443')).toBe('2001:db8:a:b::/64');
    expect(behind('[2001:db8:a:b::9]')).toBe('2001:db8:a:b::/64');
    expect(behind('[::ffff:198.51.100.1]:80')).toBe('198.51.100.1');
    // Without a port: as before (a bare IPv6 address has colons of its own).
    expect(behind('2001:db8:a:b::9')).toBe('2001:db8:a:b::/64');
    expect(behind('198.51.100.1')).toBe('198.51.100.1');
    expect(behind('::1')).toBe('::1');
  });
});

describe('the per-client connection cap', () => {
  /** A listener's 'connection' events, with sockets that only record being closed. */
  function fakeServer(maxConnectionsPerClient: number) {
    const server = new EventEmitter();
    const closed: { reason: ConnectionClosure; client: string }[] = [];
    const guard = guardConnections(server as unknown as Server, {
      limits: { ...CONNECTION_LIMITS, maxConnectionsPerClient },
      perClient: true,
      onClose: (reason, client) => closed.push({ reason, client }),
    });
    const connect = (address: string) => {
      const socket = Object.assign(new EventEmitter(), { remoteAddress: address, bytesRead: 0, destroyed: false }) as EventEmitter & {
        destroyed: boolean;
      };
      (socket as unknown as Socket).destroy = () => {
        socket.destroyed = true;
        socket.emit('close');
        return socket as unknown as Socket;
      };
      server.emit('connection', socket);
      return socket;
    };
    return { guard, closed, connect };
  }

  it('counts an IPv6 /64 as one client: rotating addresses within it does not get past the cap', () => {
    const { guard, closed, connect } = fakeServer(2);
    const sockets = ['2001:db8:a:b::1', '2001:db8:a:b::2', '2001:db8:a:b::3', '2001:db8:a:b::4'].map(connect);
    // Each newcomer past two made room by closing the one idle longest of the same /64.
    expect(sockets.map((s) => s.destroyed)).toEqual([true, true, false, false]);
    expect(closed).toEqual([
      { reason: 'client-connection-limit', client: '2001:db8:a:b::/64' },
      { reason: 'client-connection-limit', client: '2001:db8:a:b::/64' },
    ]);
    // Another /64, and an IPv4 client, each have their own cap.
    const others = ['2001:db8:a:c::1', '2001:db8:a:c::2', '192.0.2.1', '::ffff:192.0.2.1'].map(connect);
    expect(others.map((s) => s.destroyed)).toEqual([false, false, false, false]);
    expect(guard.size).toBe(6);
    guard.close();
  });
});
