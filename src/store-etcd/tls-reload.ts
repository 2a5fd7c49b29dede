import { createRequire } from 'node:module';
import type * as Grpc from '@grpc/grpc-js';
import type { Etcd3 } from 'etcd3';
import type { Say } from '../log.js';
import { UsageError } from '../usage-error.js';
import type { EtcdTlsFiles } from './gateway.js';
import { checkEtcdTlsFiles, type EtcdTlsPaths, readEtcdTlsContents, tlsDigest } from './tls-files.js';

type CertificateProvider = Grpc.experimental.CertificateProvider;
type CaListener = Grpc.experimental.CaCertificateUpdateListener;
type IdentityListener = Grpc.experimental.IdentityCertificateUpdateListener;

/**
 * The grpc-js that etcd3 itself loads: the channel credentials handed to its clients must be of
 * that copy's classes (its Client constructor checks `instanceof ChannelCredentials`).
 */
function etcd3Grpc(): typeof Grpc {
  const fromHere = createRequire(import.meta.url);
  return createRequire(fromHere.resolve('etcd3'))('@grpc/grpc-js') as typeof Grpc;
}

/** How often the TLS files are looked at for a renewal (CONTROL_PLANE_ETCD_TLS_RELOAD_MS). */
export const TLS_RELOAD_MS = 5000;

/**
 * The TLS credentials every new connection to a member is made with, switchable while the client
 * runs. gRPC builds each connection's TLS context from the provider's latest update (grpc-js's
 * certificate-provider credentials), so a renewed certificate is used by the next connection
 * (a reconnect after a member restart, a network break), while connections already open go on
 * (TLS checks a certificate at the handshake only). Nothing above the transport changes: the same
 * etcd3 client, its watches and leases, its reconnect and lease-loss handling.
 */
export class SwitchableTlsCredentials implements CertificateProvider {
  readonly channelCredentials: Grpc.ChannelCredentials;
  private ca: { caCertificate: Buffer };
  private identity: { certificate: Buffer; privateKey: Buffer } | null;
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();

  constructor(files: EtcdTlsFiles) {
    // No --etcd-ca: Node's own roots (createSecureContext with no `ca`).
    this.ca = { caCertificate: files.ca as Buffer };
    this.identity = files.cert && files.key ? { certificate: files.cert, privateKey: files.key } : null;
    const grpc = etcd3Grpc();
    this.channelCredentials = grpc.experimental.createCertificateProviderChannelCredentials(this, this.identity ? this : null);
  }

  /** A validated set (checkEtcdTlsFiles): every connection made from now on uses it. */
  use(files: EtcdTlsFiles): void {
    this.ca = { caCertificate: files.ca as Buffer };
    if (files.cert && files.key) this.identity = { certificate: files.cert, privateKey: files.key };
    for (const listener of this.caListeners) listener(this.ca);
    for (const listener of this.identityListeners) listener(this.identity);
  }

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    listener(this.ca);
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    listener(this.identity);
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }

  /**
   * Makes `client` dial with these credentials. etcd3 (1.1) takes only PEM buffers, from which it
   * builds fixed credentials once: its connection pool's hosts and authenticator hold them, and
   * build their gRPC clients from them on first use. This replaces them before any call is made. Its
   * shape is checked first: an etcd3 laid out otherwise fails at start, never silently keeps the old.
   */
  install(client: Etcd3): void {
    const pool = (client as unknown as { pool?: { hosts?: unknown; authenticator?: unknown } }).pool;
    const hosts = pool?.hosts;
    const authenticator = pool?.authenticator as { credentials?: unknown } | undefined;
    const shaped =
      Array.isArray(hosts) &&
      hosts.length > 0 &&
      hosts.every((h) => typeof h === 'object' && h !== null && 'channelCredentials' in h && 'cachedServices' in h) &&
      typeof authenticator === 'object' &&
      authenticator !== null &&
      'credentials' in authenticator;
    if (!shaped) throw new Error('etcd3: its connection pool is not laid out as this version expects (hosts[].channelCredentials)');
    for (const host of hosts as { channelCredentials: unknown; cachedServices: Record<string, unknown> }[]) {
      if (Object.keys(host.cachedServices).length > 0) throw new Error('etcd3: credentials must be installed before the first call');
      host.channelCredentials = this.channelCredentials;
    }
    (authenticator as { credentials: unknown }).credentials = this.channelCredentials;
  }
}

export interface TlsFilesWatchOptions {
  /** Between two looks at the files (TLS_RELOAD_MS). */
  readonly intervalMs?: number;
  readonly now?: () => Date;
  /** A new valid set was found: use it. */
  readonly onRenewed: (files: EtcdTlsFiles, previous: EtcdTlsFiles) => void;
  /** Told once per content of the files that is not a valid set (a half-done rotation). */
  readonly warn?: Say;
}

/**
 * Looks at `--etcd-ca`/`--etcd-cert`/`--etcd-key` every few seconds (and at once when asked: a
 * connection refused) and hands on a set whose bytes differ from the set in use and that passes the
 * checks made at start. The bytes are compared (a digest), not mtimes or inotify events: a file
 * replaced by rename, or a Kubernetes secret volume's symlink swapped, is the same news. A set that
 * fails a check (a new certificate beside the old key, a certificate not valid yet) is not taken:
 * one warning per content, and the set in use stays until the files form a valid set.
 */
export class TlsFilesWatch {
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | null = null;
  private warnedDigest: string | null = null;
  private closed = false;

  constructor(
    private readonly paths: EtcdTlsPaths,
    private inUse: EtcdTlsFiles,
    private readonly options: TlsFilesWatchOptions,
  ) {
    this.timer = setInterval(() => void this.check().catch(() => {}), options.intervalMs ?? TLS_RELOAD_MS);
    this.timer.unref();
  }

  /** One look at the files now (concurrent asks share it). */
  check(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.checking ??= this.checkOnce().finally(() => {
      this.checking = null;
    });
    return this.checking;
  }

  private async checkOnce(): Promise<void> {
    let contents: Awaited<ReturnType<typeof readEtcdTlsContents>>;
    let digest: string | undefined;
    let files: EtcdTlsFiles | undefined;
    let problem: string | undefined;
    try {
      contents = await readEtcdTlsContents(this.paths);
      digest = tlsDigest(contents);
      if (digest === this.inUse.digest) {
        this.warnedDigest = null;
        return;
      }
      files = checkEtcdTlsFiles(this.paths, contents, this.options.now?.() ?? new Date());
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      problem = err.message;
      // A file missing or unreadable right now (between a delete and a rename): keyed by the message.
      digest ??= `unreadable:${problem}`;
    }
    if (this.closed) return;
    if (files) {
      const previous = this.inUse;
      this.inUse = files;
      this.warnedDigest = null;
      this.options.onRenewed(files, previous);
      return;
    }
    if (this.warnedDigest === digest) return;
    this.warnedDigest = digest;
    const kept = this.inUse.certExpiry
      ? ` (--etcd-cert ${this.inUse.certExpiry.file} as read before, valid until ${this.inUse.certExpiry.notAfter.toISOString()})`
      : '';
    this.options.warn?.(
      `etcd TLS files changed but are not a usable set: ${problem}; keeping the credentials in use${kept} until the files form a valid set`,
      {
        reason: problem,
        ...(this.inUse.certExpiry && {
          certFile: this.inUse.certExpiry.file,
          certValidUntil: this.inUse.certExpiry.notAfter.toISOString(),
        }),
      },
    );
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
  }
}
