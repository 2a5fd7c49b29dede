import type { Plugin } from 'graphql-yoga';

/** The names a loopback-bound server answers to. */
export const LOOPBACK_HOSTNAMES = ['localhost', '127.0.0.1', '::1'] as const;

/** `example.com:8787` -> `example.com`; `[::1]:8787` -> `::1`; lower case. Null when unparsable. */
export function hostnameOf(hostHeader: string): string | null {
  try {
    return new URL(`http://${hostHeader}`).hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  } catch {
    return null;
  }
}

/**
 * DNS-rebinding guard for a loopback-bound server: a web page on an attacker's name that resolves
 * to 127.0.0.1 arrives with that name in `Host`, and is refused (421) before anything runs, so a
 * page the operator opens cannot read even the public status. Not used when the server is bound
 * to another address (its names are the operator's or the proxy's to decide).
 */
export function hostCheckPlugin(allowed: Iterable<string>): Plugin {
  const names = new Set([...allowed].map((n) => n.toLowerCase()));
  return {
    onRequest({ request, endResponse, fetchAPI }) {
      const header = request.headers.get('host');
      const hostname = header === null ? null : hostnameOf(header);
      if (hostname !== null && names.has(hostname)) return;
      const body = JSON.stringify({
        errors: [
          {
            message: `Host not served: this control plane answers to ${[...names].join(', ')}`,
            extensions: { code: 'MISDIRECTED_REQUEST' },
          },
        ],
      });
      endResponse(new fetchAPI.Response(body, { status: 421, headers: { 'content-type': 'application/json; charset=utf-8' } }));
    },
  };
}
