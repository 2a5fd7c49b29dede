import { ConfigFileError } from '../config/errors.js';
/**
 * `--store etcd://host:port[,host:port...]/<prefix>`, parsed without loading the etcd client (the
 * settings parser calls this for every start; only an etcd store pays for `etcd3`). TLS is chosen
 * by the `--etcd-ca/--etcd-cert/--etcd-key` flags, not by the scheme.
 */

export interface EtcdEndpoint {
  /** A host name, an IPv4 address, or an IPv6 address without brackets. */
  readonly host: string;
  readonly port: number;
}

export interface EtcdStoreUrl {
  readonly endpoints: readonly EtcdEndpoint[];
  /** Every key of this deployment starts with it: `/<prefix>/` (leading and trailing slash). */
  readonly prefix: string;
}

export class EtcdUrlError extends Error {
  override name = 'EtcdUrlError';
}

export const DEFAULT_ETCD_PORT = 2379;
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;
const PREFIX_SEGMENT = /^[A-Za-z0-9._-]+$/;
/** The key folders of a deployment (keys.ts): no other deployment's prefix may run through them. */
const NESTED_PARTS = ['audit', 'tokens', 'runners', 'replicas'];
/** `"audit", "tokens", "runners" or "replicas"`: every folder named where a prefix through one is refused. */
const NESTED_WORDS = `${NESTED_PARTS.slice(0, -1)
  .map((part) => `"${part}"`)
  .join(', ')} or "${NESTED_PARTS.at(-1)}"`;

const usage = 'expected etcd://host:port[,host:port...]/<prefix>';

/** `host:port`, `host` (port 2379), `[::1]:2379`. */
function parseEndpoint(text: string): EtcdEndpoint {
  let host: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) throw new EtcdUrlError(`"${text}": an IPv6 address needs its closing "]"`);
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) throw new EtcdUrlError(`"${text}": expected ":port" after "]"`);
    portText = rest === '' ? undefined : rest.slice(1);
    if (!IPV6.test(host) || !host.includes(':')) throw new EtcdUrlError(`"${text}": "${host}" is not an IPv6 address`);
  } else {
    const parts = text.split(':');
    if (parts.length > 2) throw new EtcdUrlError(`"${text}": write an IPv6 address in brackets, e.g. [::1]:2379`);
    host = parts[0] ?? '';
    portText = parts[1];
    if (!HOST_NAME.test(host)) throw new EtcdUrlError(`"${text}": "${host}" is not a host name or address`);
  }
  let port = DEFAULT_ETCD_PORT;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65_535) {
      throw new EtcdUrlError(`"${text}": the port must be a number from 1 to 65535`);
    }
    port = Number(portText);
  }
  return { host, port };
}

export function isEtcdStoreUrl(store: string): boolean {
  return store.startsWith('etcd://');
}

/**
 * A store URL as a message may quote it: credentials someone put in it (`etcd://user:pw@host/...`)
 * are left out, so they never reach a log or a terminal. (They are refused: see --etcd-user.)
 */
export function shownStoreUrl(url: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0];
  if (!scheme) return url;
  let rest = url.slice(scheme.length);
  // Up to the last "@": a password may hold "/", "?", "#" or "@" itself (it is refused, never quoted).
  const at = rest.lastIndexOf('@');
  if (at >= 0) rest = rest.slice(at + 1);
  // A query or fragment is refused too, and may carry a secret (`?password=...`).
  const query = rest.search(/[?#]/);
  if (query >= 0) rest = `${rest.slice(0, query)}<query removed>`;
  return `${scheme}${at >= 0 ? '<credentials removed>@' : ''}${rest}`;
}

/** Parses an etcd store URL; throws EtcdUrlError saying what is wrong (never quoting credentials). */
export function parseEtcdStoreUrl(text: string): EtcdStoreUrl {
  const url = shownStoreUrl(text);
  if (url.includes('<credentials removed>@')) {
    throw new EtcdUrlError(
      `"${url}": credentials do not go in the URL (it is logged and shown): give them with CONTROL_PLANE_ETCD_USER and CONTROL_PLANE_ETCD_PASSWORD`,
    );
  }
  if (!isEtcdStoreUrl(url)) {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1];
    throw new EtcdUrlError(
      scheme && scheme !== 'etcd'
        ? `"${url}": unknown scheme "${scheme}" (${usage}; TLS is chosen with --etcd-ca/--etcd-cert/--etcd-key)`
        : `"${url}": ${usage}`,
    );
  }
  // The text as given (the one shown has its query cut); past this check the two are the same.
  const rest = text.slice('etcd://'.length);
  if (/[?#%@\s]/.test(rest)) throw new EtcdUrlError(`"${url}": no user, query, fragment, escapes or spaces allowed (${usage})`);
  const slash = rest.indexOf('/');
  if (slash < 0) throw new EtcdUrlError(`"${url}": a key prefix is required (${usage})`);
  const hostList = rest.slice(0, slash);
  const path = rest.slice(slash + 1).replace(/\/+$/, '');
  if (hostList === '') throw new EtcdUrlError(`"${url}": at least one host is required (${usage})`);
  const endpoints = hostList.split(',').map((h) => {
    if (h === '') throw new EtcdUrlError(`"${url}": an empty host in the list`);
    return parseEndpoint(h);
  });
  const seen = new Set<string>();
  for (const e of endpoints) {
    const key = `${e.host.toLowerCase()}:${e.port}`;
    if (seen.has(key)) throw new EtcdUrlError(`"${url}": ${key} is listed twice`);
    seen.add(key);
  }
  if (path === '') throw new EtcdUrlError(`"${url}": a key prefix is required, e.g. etcd://127.0.0.1:2379/strategy-control-plane`);
  const segments = path.split('/');
  for (const segment of segments) {
    if (!PREFIX_SEGMENT.test(segment) || segment === '.' || segment === '..') {
      throw new EtcdUrlError(`"${url}": the prefix "${path}" may hold only A-Z a-z 0-9 . _ - between single slashes`);
    }
  }
  // A deployment reads every key under its prefix's audit/, tokens/, runners/ and replicas/: a prefix that goes
  // on through one of them (trading/audit/config) lies inside the deployment at "trading", whose
  // history and tokens it would fill with foreign keys (its writes then failed as "unavailable").
  const nested = segments.findIndex((segment, i) => i > 0 && NESTED_PARTS.includes(segment));
  if (nested > 0) {
    const outer = segments.slice(0, nested).join('/');
    throw new EtcdUrlError(
      `"${url}": the prefix "${path}" lies inside the ${segments[nested]}/ keys of a deployment at "${outer}"; choose a prefix with no ${NESTED_WORDS} part after the first (e.g. "${outer}-${segments.slice(nested).join('-')}")`,
    );
  }
  return { endpoints, prefix: `/${segments.join('/')}/` };
}

/** `host:port` as gRPC wants it (IPv6 in brackets). */
export function endpointAddress(endpoint: EtcdEndpoint): string {
  return endpoint.host.includes(':') ? `[${endpoint.host}]:${endpoint.port}` : `${endpoint.host}:${endpoint.port}`;
}

/** How the refusal of a prefix moved out of begins (index.ts says it; start-failures.ts adds no repair hint to it). */
export const MOVED_OUT = 'the deployment was moved out of it';

/**
 * The prefix's `moved` mark (its value: where to, when) as the refusal of a start on it, and of
 * a change through a replica that was running when the move happened (config-io.ts).
 */
export function movedOutError(location: string, movedKey: string, mark: string): ConfigFileError {
  const { to, movedAt } = markFields(mark, ['to', 'movedAt']);
  return new ConfigFileError(location, [
    {
      message: `${MOVED_OUT} to ${to ?? 'another store'} at ${movedAt ?? 'an unknown time'} by \`stratctl store migrate\` (key ${movedKey}): serve and run that store instead, or move it back here`,
    },
  ]);
}

/** A migration mark's string fields (a mark written by hand, or broken, gives what it can). */
export function markFields<K extends string>(text: string, names: readonly K[]): Partial<Record<K, string>> {
  let parsed: Record<string, unknown> = {};
  try {
    const value: unknown = JSON.parse(text);
    if (value !== null && typeof value === 'object') parsed = value as Record<string, unknown>;
  } catch {}
  const fields: Partial<Record<K, string>> = {};
  for (const name of names) if (typeof parsed[name] === 'string') fields[name] = parsed[name] as string;
  return fields;
}
