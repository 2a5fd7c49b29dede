import { createHash, createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { UsageError } from '../usage-error.js';
import type { EtcdTlsFiles } from './gateway.js';

/** `--etcd-ca`, `--etcd-cert`, `--etcd-key` as given. */
export interface EtcdTlsPaths {
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

/**
 * Reads the TLS files and checks what can be checked here, before any member is dialled: each one is
 * there and is what its flag says (a certificate, a key), the client certificate is valid now, and
 * the key is its key. gRPC reports a certificate the members refuse (expired, from another CA) only
 * as "No connection established", which read as "etcd down, a wrong host or port, a firewall" and
 * exit 1, a service manager restarting it forever; an empty CA file was taken as "the system's roots".
 * Each problem is a setting: UsageError (exit 2), one line naming the flag and the file.
 */
export async function readEtcdTlsFiles(paths: EtcdTlsPaths | undefined, now: Date = new Date()): Promise<EtcdTlsFiles> {
  return checkEtcdTlsFiles(paths, await readEtcdTlsContents(paths), now);
}

/** The three files' bytes as they are now (a missing or unreadable one: UsageError naming it). */
export interface EtcdTlsContents {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

export async function readEtcdTlsContents(paths: EtcdTlsPaths | undefined): Promise<EtcdTlsContents> {
  const [ca, cert, key] = await Promise.all([
    readPem('--etcd-ca', paths?.caFile),
    readPem('--etcd-cert', paths?.certFile),
    readPem('--etcd-key', paths?.keyFile),
  ]);
  return { ca, cert, key };
}

/** One digest of the set's bytes: what tells a renewal (any of the three replaced) from the set in use. */
export function tlsDigest(contents: EtcdTlsContents): string {
  const hash = createHash('sha256');
  for (const part of [contents.ca, contents.cert, contents.key]) {
    hash.update(part ? `${part.length}:` : '-:');
    if (part) hash.update(part);
  }
  return hash.digest('hex');
}

/**
 * The checks of `readEtcdTlsFiles` on bytes already read: the same at start and on every renewal
 * (a set is judged on the very bytes it would be used with, never on a second read).
 */
export function checkEtcdTlsFiles(paths: EtcdTlsPaths | undefined, contents: EtcdTlsContents, now: Date = new Date()): EtcdTlsFiles {
  const { ca, cert, key } = contents;
  // No file, no TLS: nothing to renew.
  const digest = ca || cert || key ? tlsDigest(contents) : undefined;
  if (ca && paths?.caFile) certificate('--etcd-ca', paths.caFile, ca);
  if (cert && paths?.certFile) {
    const parsed = certificate('--etcd-cert', paths.certFile, cert);
    const from = new Date(parsed.validFrom);
    const to = new Date(parsed.validTo);
    if (now > to) throw new UsageError(`--etcd-cert ${paths.certFile} expired at ${to.toISOString()}: the members refuse it; renew it`);
    if (now < from)
      throw new UsageError(`--etcd-cert ${paths.certFile} is not valid before ${from.toISOString()} (check this machine's clock)`);
    if (key && paths.keyFile && !parsed.checkPrivateKey(privateKey(paths.keyFile, key)))
      throw new UsageError(`--etcd-key ${paths.keyFile} is not the key of --etcd-cert ${paths.certFile}`);
    return { ca, cert, key, ...(digest && { digest }), certExpiry: { file: paths.certFile, notAfter: to } };
  } else if (key && paths?.keyFile) privateKey(paths.keyFile, key);
  return { ca, cert, key, ...(digest && { digest }) };
}

async function readPem(flag: string, file: string | undefined): Promise<Buffer | undefined> {
  if (file === undefined) return undefined;
  try {
    return await readFile(file);
  } catch (err) {
    throw new UsageError(`${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function certificate(flag: string, file: string, pem: Buffer): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    throw new UsageError(`${flag} ${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  }
}

function privateKey(file: string, pem: Buffer): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch {
    throw new UsageError(`--etcd-key ${file} holds no PEM private key (an encrypted key is not supported)`);
  }
}
