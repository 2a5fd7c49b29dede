import { createHash, createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
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
    loadable(paths, contents);
    return { ca, cert, key, ...(digest && { digest }), certExpiry: { file: paths.certFile, notAfter: to } };
  } else if (key && paths?.keyFile) privateKey(paths.keyFile, key);
  if (digest) loadable(paths, contents);
  return { ca, cert, key, ...(digest && { digest }) };
}

/**
 * The most a TLS file may hold: a CA bundle of a few hundred certificates is well under it. A file
 * is read every TLS_RELOAD_MS while the process runs, so a path made to point at something endless
 * (a symbolic link to /dev/zero, a log file) must cost a stat, not memory.
 */
export const MAX_TLS_FILE_BYTES = 1024 * 1024;

/**
 * One TLS file's bytes. Opened with O_NONBLOCK (a FIFO at the path never blocks the read, nor the
 * renewal checks after it) and checked with fstat on that descriptor before a byte is read: a
 * regular file of at most MAX_TLS_FILE_BYTES, not world-writable, read no further than that even if
 * it grows. Symbolic links are followed: a Kubernetes secret volume's files are links, swapped on a renewal.
 */
async function readPem(flag: string, file: string | undefined): Promise<Buffer | undefined> {
  if (file === undefined) return undefined;
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
    const stat = await handle.stat();
    // Said as a read of a directory fails (the message names the errno, as for any file that cannot be read).
    if (stat.isDirectory()) throw new UsageError(`${flag} ${file}: EISDIR`);
    if (!stat.isFile()) throw new UsageError(`${flag} ${file} is not a regular file (${kindOf(stat)})`);
    // Whoever can write the CA decides which members this process trusts, and the files are read
    // again every TLS_RELOAD_MS: a world-writable one (on the file the path leads to) let any local
    // user make a running process trust another CA. Owner and group are not judged: a Vault agent
    // or cert-manager under another uid, a shared group, write them legitimately.
    if ((stat.mode & 0o002) !== 0)
      throw new UsageError(
        `${flag} ${file} is world-writable (mode 0${(stat.mode & 0o777).toString(8)}): any local user could replace it; chmod o-w it`,
      );
    if (stat.size > MAX_TLS_FILE_BYTES) throw tooLarge(flag, file, stat.size);
    // One byte past the size seen: a file that grew since the stat is read on, up to one byte past the limit.
    let buffer = Buffer.alloc(stat.size + 1);
    let got = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, got, buffer.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
      if (got > MAX_TLS_FILE_BYTES) throw tooLarge(flag, file, got);
      if (got === buffer.length) buffer = Buffer.concat([buffer, Buffer.alloc(MAX_TLS_FILE_BYTES + 1 - got)]);
    }
    return buffer.subarray(0, got);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  } finally {
    await handle?.close().catch(() => {});
  }
}

const tooLarge = (flag: string, file: string, size: number) =>
  new UsageError(`${flag} ${file} is ${size} bytes or more, over the ${MAX_TLS_FILE_BYTES} bytes a TLS file may hold`);

function kindOf(stat: import('node:fs').Stats): string {
  if (stat.isFIFO()) return 'a named pipe (FIFO)';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  return 'not a regular file';
}

const BEGIN_CERTIFICATE = '-----BEGIN CERTIFICATE-----';
const END_CERTIFICATE = '-----END CERTIFICATE-----';

/**
 * The file's certificates, each PEM block parsed (the first is a client certificate's own): what
 * Node's TLS takes. `X509Certificate` alone read the first block only, and DER too, which TLS then
 * refused when the client was built (a crash with its stack, exit 1; on a renewal, a replica cut off
 * from etcd with gRPC's lines on stderr), or, as a CA, took as trusting nothing.
 */
function certificate(flag: string, file: string, bytes: Buffer): X509Certificate {
  const text = bytes.toString('latin1');
  const starts = text.split(BEGIN_CERTIFICATE).length - 1;
  if (starts === 0) {
    // An ASN.1 SEQUENCE first, no PEM armour: a DER file (what Windows and Java tools export).
    const der = bytes[0] === 0x30 && !text.includes('-----BEGIN');
    throw new UsageError(
      `${flag} ${file} holds no PEM certificate (${BEGIN_CERTIFICATE})${der ? '; it looks like DER (binary): convert it to PEM (openssl x509 -inform DER -in FILE -out FILE.pem)' : ''}`,
    );
  }
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  // A block with a second beginning in it: the first one had no end. None after the last beginning: the last.
  const spanning = blocks.findIndex((block) => block.lastIndexOf(BEGIN_CERTIFICATE) > 0);
  const cut = spanning >= 0 ? spanning : blocks.length < starts ? blocks.length : -1;
  if (cut >= 0) throw new UsageError(`${flag} ${file}: certificate ${cut + 1} of ${starts} is cut short (no ${END_CERTIFICATE})`);
  const parsed = blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch {
      throw new UsageError(`${flag} ${file}: certificate ${i + 1} of ${starts} is not a valid certificate`);
    }
  });
  return parsed[0] as X509Certificate;
}

/**
 * The set as Node's TLS loads it when the client is built: anything it refuses that the checks above
 * let through is said here, as a setting (exit 2), not as a crash when the first member is dialled.
 */
function loadable(paths: EtcdTlsPaths | undefined, { ca, cert, key }: EtcdTlsContents): void {
  try {
    createSecureContext({ ...(ca && { ca }), ...(cert && { cert }), ...(key && { key }) });
  } catch (err) {
    const named = [
      ...(paths?.caFile && ca ? [`--etcd-ca ${paths.caFile}`] : []),
      ...(paths?.certFile && cert ? [`--etcd-cert ${paths.certFile}`] : []),
      ...(paths?.keyFile && key ? [`--etcd-key ${paths.keyFile}`] : []),
    ];
    throw new UsageError(`${named.join(', ')}: Node's TLS cannot load them (${(err as Error).message})`);
  }
}

function privateKey(file: string, pem: Buffer): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch {
    throw new UsageError(`--etcd-key ${file} holds no PEM private key (an encrypted key is not supported)`);
  }
}
