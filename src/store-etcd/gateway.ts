import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  ConstantBackoff,
  circuitBreaker,
  ExponentialBackoff,
  handleWhen,
  type IBackoff,
  type IPolicy,
  isBrokenCircuitError,
  retry,
} from 'cockatiel';
import {
  Etcd3,
  EtcdAuthenticationFailedError,
  EtcdInvalidAuthTokenError,
  EtcdPermissionDeniedError,
  EtcdRoleNotGrantedError,
  EtcdUserNotFoundError,
  GRPCAlreadyExistsError,
  GRPCFailedPreconditionError,
  GRPCInvalidArgumentError,
  GRPCNotImplementedError,
  GRPCOutOfRangeError,
  isRecoverableError,
} from 'etcd3';
import { StoreRefusedError, StoreUnavailableError } from '../config/errors.js';
import { Listeners } from '../listeners.js';
import type { Say } from '../log.js';
import type { EtcdTlsPaths } from './tls-files.js';
import { SwitchableTlsCredentials, TlsFilesWatch } from './tls-reload.js';
import { type EtcdStoreUrl, endpointAddress } from './url.js';

/** grpc-js's deadline details for a call that had not reached a connection (resolving-call.ts, load-balancing-call.ts). */
const NOT_CONNECTED_YET = /waiting for (name resolution|metadata filters|LB pick)/i;

/**
 * A call gRPC failed at once because the member's connection was down (a member coming back, its
 * channel still in reconnect backoff): nothing was sent. etcd3 retries it on another member a few
 * times, 25 ms apart; when those are down or their circuits open too (right after a quorum came
 * back), it gives up with this error rather than the open circuit's, so the gateway waits and
 * sends it again within the call's deadline, as it does for open circuits.
 * Also a call whose deadline ended before gRPC had a connection for it: grpc-js says where it was
 * ("waiting for name resolution", "Waiting for LB pick"). A resend after the pause on a loaded
 * host can start with a few ms left; its "Deadline exceeded after 0.001s,waiting for name
 * resolution" ended a start with nothing reachable in gRPC's words, not "no member answered" (a
 * clean-clone CI run of 08ea03b), and would have made a commit's outcome look unknown.
 */
function neverSent(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return err.message.includes('No connection established') || (deadlineExceeded(err) && NOT_CONNECTED_YET.test(err.message));
}

/**
 * etcd's answers that refuse a call as it was made (refusals of this process's credentials or rights
 * are isAccessRefusal's, judged first): it reached a member and was judged, so etcd is
 * reachable, and the same call would be refused again (unlike UNAVAILABLE, a deadline, a dropped
 * connection or an unknown outcome, which are the store being away).
 */
const REFUSALS = [
  GRPCInvalidArgumentError,
  GRPCFailedPreconditionError,
  GRPCOutOfRangeError,
  GRPCNotImplementedError,
  GRPCAlreadyExistsError,
];

function refusedByEtcd(err: unknown): err is Error {
  return REFUSALS.some((kind) => err instanceof kind);
}

/**
 * etcd refused this process's credentials or rights: a wrong user or password (a password rotated
 * under a running replica), auth switched on with no user given ("user name is empty"), a role
 * revoked. At start that is a setting to fix (serve exits 2); at run time the replica can no longer
 * use its store: it counts as unavailable (503 UNAVAILABLE, /ready 503, out of the load balancer),
 * not as an unexpected 500 that left it "ready" while every write failed.
 */
export function isAccessRefusal(err: unknown): boolean {
  if (
    [
      EtcdAuthenticationFailedError,
      EtcdPermissionDeniedError,
      EtcdRoleNotGrantedError,
      EtcdUserNotFoundError,
      EtcdInvalidAuthTokenError,
    ].some((kind) => err instanceof kind)
  )
    return true;
  return err instanceof GRPCInvalidArgumentError && /user name is empty|auth/.test(err.message);
}

/** What each etcd call is given: gRPC's deadline. */
export interface CallOptions {
  readonly deadline: Date;
}

/**
 * How long a call waits before it is sent again, within its deadline, when etcd could not take it
 * for now: every member's circuit open (nothing was sent: each member failed three calls in a row,
 * or is being probed half-open; members that come back are tried again after 500 ms), or, for a
 * retry-safe call, the members choosing a leader (`duringElection`). So a call within its deadline
 * reaches them instead of failing.
 */
const RESEND_PAUSE_MS = 100;

/** DESIGN: every store call gives up after 2 s. */
export const STORE_CALL_TIMEOUT_MS = 2000;

/**
 * A stop's leave-taking from etcd, all of it (README: Stopping): the replica's key deleted and its
 * lease revoked, the runner's STOPPED state and its lease, the watch cancelled. These calls share
 * this one deadline (`EtcdGateway.stopping`) instead of 2 s each one after another: with etcd frozen
 * they took 6.4 s after the drain (up to 10 s), so a stop with a stalled client ran past the 15 s
 * grace README and the image give (docker then kills it: exit 137, no STOPPED state, no last line).
 */
export const STORE_STOP_MS = 2000;

/**
 * Calls that may be sent again after a try got no answer: reads, and the commit transaction (its
 * compares make a second send harmless: if the first landed, the second is refused and the store
 * finds its entry). A member that hangs (SIGSTOP, a stalled disk: it takes the connection and
 * answers nothing) held each such call for its whole 2 s, so about one call in three failed while
 * it hung (stop 33). Now a try gets a part of the deadline, and the next goes to another member.
 * Only these are sent on to the next member by etcd3 (memberRetry) after a try that may have reached one.
 */
const RETRY_SAFE = new Set([
  'probe',
  'read config',
  'read state',
  'read audit',
  'read tokens',
  'read runner',
  'read runners',
  // At start, on an empty prefix: whether API replicas run on it (config-store.ts settleEmpty).
  'read replicas',
  'read store',
  // store migrate: when a STALE runner's key expires (a lease's time to live is read, nothing changed).
  'read lease',
  'check a commit',
  'commit',
]);

/**
 * etcd's answers while its members choose a leader (a member stopped or cut off, an election): the
 * call reached a member, which could not serve it then; a new leader is usually there within an
 * election timeout (1 s by default). A retry-safe call is sent again after RESEND_PAUSE_MS, within
 * its deadline (a 3-member cluster losing its leader refused a commit once with "leader changed",
 * where the one after it went through).
 */
const ELECTING = /etcdserver: (leader changed|no leader|request timed out, possibly due to previous leader failure)/;

function duringElection(err: unknown): boolean {
  return err instanceof Error && ELECTING.test(err.message);
}

/**
 * etcd's "no leader": the call reached a member, which refused it before proposing anything (no
 * leader to propose to). A write it carried did not happen, as with a call that never left.
 */
function notProposed(err: unknown): boolean {
  return err instanceof Error && err.message.includes('etcdserver: no leader');
}

/** A try of a retry-safe call gets this share of the call's time while twice as much is left. */
const TRY_SHARE = 0.35;

/**
 * etcd's own words when the deadline sent with a call passed on the member: "etcdserver: request
 * timed out" (its proposal not committed in time: a slow disk, a quorum still forming), "..., possibly
 * due to connection lost" (a follower that lost touch with its leader, as each does for up to an
 * election timeout after the leader dies). An UNAVAILABLE answer, not gRPC's DEADLINE_EXCEEDED, but
 * the same news: the try's time ran out there. Before, a retry-safe call's first try answered so
 * (at its 0.7 s share) ended the call in a 503 with 1.3 s of its time unused (etcd3 sent it on with
 * the spent deadline, which could only fail): the likeliest cause of an activation refused right
 * after one member of three was killed (a clean-clone CI run of 2c97a7f; not reproduced here in 13
 * runs and 18 leader kills). "..., possibly due to previous leader failure" is an election answer
 * (ELECTING): sent again after a pause, its member kept.
 */
const TIMED_OUT_THERE = /etcdserver: request timed out(?!, possibly due to previous leader failure)/;

/** The member took the call and did not answer in time: gRPC's "deadline exceeded" (etcd3's GRPCDeadlineExceededError), or etcd's (TIMED_OUT_THERE). */
function deadlineExceeded(err: unknown): boolean {
  return (
    err instanceof Error &&
    (err.name === 'GRPCDeadlineExceededError' ||
      /DEADLINE_EXCEEDED|deadline exceeded/i.test(err.message) ||
      TIMED_OUT_THERE.test(err.message))
  );
}

export interface EtcdTlsFiles {
  /** `--etcd-ca`: the CA that signed the members' certificates (PEM). */
  readonly ca?: Buffer;
  /** `--etcd-cert` / `--etcd-key`: this client's certificate and key (PEM), for client-cert auth. */
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /**
   * The client certificate's file and end of validity (checked when read). Connections open when it
   * runs out go on (TLS checks it at the handshake); every new one is refused.
   */
  readonly certExpiry?: { readonly file: string; readonly notAfter: Date };
  /** The three files' bytes as one digest (tls-files.ts): what a renewal is told from. */
  readonly digest?: string;
}

export interface EtcdConnectionOptions {
  readonly url: EtcdStoreUrl;
  /** TLS when given (any of the three files); plain gRPC otherwise. */
  readonly tls?: EtcdTlsFiles;
  /** etcd's user/password auth (`CONTROL_PLANE_ETCD_USER` / `CONTROL_PLANE_ETCD_PASSWORD`). */
  readonly auth?: { readonly username: string; readonly password: string };
  /** Per store call; DESIGN says 2 s (tests may shorten it). */
  readonly callTimeoutMs?: number;
  /** Told once when the client certificate runs out while this process runs (a log line). */
  readonly warn?: Say;
  /** Told when renewed TLS files are taken (a log line). */
  readonly info?: Say;
  /**
   * The files `tls` was read from: given, they are looked at for a renewal every `tlsReloadMs`
   * (TLS_RELOAD_MS; 0: never) and whenever no member takes a connection, and a valid new set is
   * used for every connection from then on (SwitchableTlsCredentials).
   */
  readonly tlsPaths?: EtcdTlsPaths;
  readonly tlsReloadMs?: number;
  readonly now?: () => Date;
}

/** The longest a Node timer can wait (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What an expired client certificate means for a running process, and what to do: said after its name. */
function expiredAndWhatToDo(notAfter: Date, renewedInPlace: boolean): string {
  const fix = renewedInPlace
    ? 'put a renewed certificate (and its key) at the same paths: it is taken without a restart'
    : 'put a renewed certificate (and its key) at the same paths and restart this process (CONTROL_PLANE_ETCD_TLS_RELOAD_MS=0: renewals are not looked for)';
  return `expired at ${notAfter.toISOString()}: the members refuse every new connection with it; ${fix}`;
}

/** What an expired `--etcd-cert` means for a running process, in one phrase. */
export function expiredCertificate(expiry: { file: string; notAfter: Date }, renewedInPlace = true): string {
  return `--etcd-cert ${expiry.file} ${expiredAndWhatToDo(expiry.notAfter, renewedInPlace)}`;
}

/**
 * expiredCertificate without the file's path, for /ready (which needs no token: no paths in what it
 * answers, README: Security).
 */
export function expiredCertificatePublic(expiry: { notAfter: Date }, renewedInPlace = true): string {
  return `the etcd client certificate (--etcd-cert) ${expiredAndWhatToDo(expiry.notAfter, renewedInPlace)}`;
}

/**
 * The one line said when renewed TLS files are taken: the client certificate when it is what changed
 * (its key goes with it), else the CA. A CA bundle with one more CA was said as the client
 * certificate renewed, with its unchanged end of validity.
 */
export function renewedCertificate(files: EtcdTlsFiles, paths: EtcdTlsPaths, before?: EtcdTlsFiles): string {
  const certChanged = !before?.cert || !files.cert || !before.cert.equals(files.cert);
  const caChanged = Boolean(files.ca) && !(before?.ca && files.ca?.equals(before.ca));
  if (files.certExpiry && certChanged)
    return `--etcd-cert ${files.certExpiry.file} renewed (valid until ${files.certExpiry.notAfter.toISOString()})${caChanged ? `, and --etcd-ca ${paths.caFile}` : ''}: reconnecting with ${caChanged ? 'them' : 'it'}`;
  return `--etcd-ca ${paths.caFile ?? '(none)'} renewed: reconnecting with it`;
}

const tlsOn = (tls: EtcdTlsFiles | undefined): tls is EtcdTlsFiles => Boolean(tls && (tls.ca || tls.cert || tls.key));

/**
 * The TLS reasons a member may look like one that does not answer, by what was given: the helper
 * named a client certificate refused with none given, and --etcd-ca with none given; a wrong host
 * name in the members' certificates, or TLS not given to members that speak only TLS, not at all.
 */
function tlsSuspects(tls: EtcdTlsFiles | undefined): string {
  if (!tlsOn(tls)) return ', or members that speak only TLS (then give --etcd-ca)';
  const client = tls.cert
    ? 'the members refused this client certificate (--etcd-cert)'
    : 'the members require a client certificate (--etcd-cert, --etcd-key)';
  const ca = tls.ca ? '--etcd-ca is not the CA of theirs' : 'their certificate is not signed by a CA this machine trusts (give --etcd-ca)';
  return `, or TLS: ${client}, ${ca}, or their certificate does not name the host --store gives (its subject alternative names)`;
}

class CallTimeoutError extends Error {
  override name = 'CallTimeoutError';
}

/** A call not sent: the process is stopping and etcd did not answer its last call. */
class StoppingError extends Error {
  override name = 'StoppingError';
}

/**
 * A call that ran out of time on a member after holding it this long says the member does not
 * answer (hung, or too slow to use), not that the call had no time left when it got there.
 */
const HELD_MS = 100;

/**
 * A member's circuit: one that failed three calls in a row, or held one for HELD_MS or more and let
 * it run out of time, is skipped for half a second; then one call is let through to it (half-open).
 *
 * - **A timeout opens it at once.** A read or a commit's first try gets 0.7 s of its 2 s, and the
 *   retry could go to the member that had just timed out, unless that was its third timeout in a
 *   row: the first calls after a member hung could fail (503), about one in nine with etcd3's
 *   random order, and every time with the hung member tried first (the order a test fixes).
 * - **Calls skip a member while its one call is out.** cockatiel makes them wait for it: behind a
 *   hung member, up to a whole try, after which they went to a healthy member with their time
 *   nearly spent, timed out there, and counted against it. A few such calls in a row opened the
 *   healthy members' circuits too, and a commit then failed with "no member answered" while two
 *   of three members were well (a CI run of 17d2a7f).
 */
export function memberCircuit(): IPolicy {
  const consecutive = new ConsecutiveBreaker(3);
  // Set by a call that timed out after holding the member, just before its failure reaches the breaker.
  let heldAndTimedOut = false;
  const breaker = circuitBreaker(handleWhen(isRecoverableError), {
    halfOpenAfter: 500,
    breaker: {
      get state() {
        return consecutive.state;
      },
      set state(value) {
        consecutive.state = value as number;
      },
      success: () => consecutive.success(),
      failure: () => {
        const open = consecutive.failure() || heldAndTimedOut;
        heldAndTimedOut = false;
        return open;
      },
    },
  });
  const execute = breaker.execute.bind(breaker);
  breaker.execute = (fn, signal) => {
    if (breaker.state === CircuitState.HalfOpen) return Promise.reject(new BrokenCircuitError());
    return execute(async (context) => {
      const started = Date.now();
      try {
        return await fn(context);
      } catch (err) {
        if (deadlineExceeded(err) && Date.now() - started >= HELD_MS) heldAndTimedOut = true;
        throw err;
      }
    }, signal);
  };
  return breaker;
}

/**
 * A try that may have reached a member and was not answered: the connection dropped in flight, an
 * UNAVAILABLE or INTERNAL answer after sending, a deadline there, an election answer after which a
 * proposal may still commit (etcd gave up waiting for it, "request timed out, possibly due to
 * previous leader failure": it can still commit under the new leader; or "leader changed" while it
 * waited). Not a try that never left (an open circuit, no connection yet), nor "no leader" (refused
 * before anything was proposed).
 */
function mayHaveReached(err: unknown): boolean {
  return !isBrokenCircuitError(err) && !neverSent(err) && !notProposed(err);
}

/**
 * etcd3's retry of a failed try on the next member, within one gateway try (its "global" policy):
 * `hostCount + 1` tries, 25 ms apart, on a recoverable error other than a deadline (a try that ran
 * out of time is not sent again here: it could only fail at once, and count against a healthy
 * member; the gateway's call sends it again with the rest of its own time). A call not in
 * RETRY_SAFE is sent on only when its try never left (no connection, an open circuit, "no leader").
 *
 * If every try fails, it says what the first try that may have reached a member met, unless the
 * last one may have too. etcd3 itself reports the last try that went through, so a commit whose
 * connection dropped after etcd took it, then sent again to a member with no connection yet ("No
 * connection established"), came back as never sent: the gateway sent it again, and at the deadline
 * said "no member answered", a plain 503 that tells the operator nothing was written, where the
 * first send may be in force. Now it is the dropped connection: the store looks the commit up
 * (made, or outcome UNKNOWN).
 */
/**
 * Whether etcd3's member retry may send the current gateway call's try on to the next member after
 * it may have reached one (RETRY_SAFE calls only), set by EtcdGateway.call around its etcd call.
 */
const resendScope = new AsyncLocalStorage<boolean>();

function memberRetry(hostCount: number): IPolicy {
  // Failures of a call that may not be sent again: the error itself, so that concurrent calls' do not mix.
  const final = new WeakSet<object>();
  const policy = retry(
    handleWhen((err) => isRecoverableError(err) && !deadlineExceeded(err) && !final.has(err)),
    { maxAttempts: hostCount + 1, backoff: new ConstantBackoff(25) },
  );
  const execute = policy.execute.bind(policy);
  policy.execute = async (fn, signal) => {
    let reached: unknown;
    // Outside a gateway call (watches, leases' keep-alives): as etcd3 does.
    const resendable = resendScope.getStore() ?? true;
    try {
      return await execute(async (context) => {
        try {
          return await fn(context);
        } catch (err) {
          if (reached === undefined && mayHaveReached(err)) reached = err;
          // A write that may have reached a member is not sent on to the next one: if it landed, the
          // resend is refused by its own compares (a token create said "a token named ... exists" for
          // the one it had just made, whose secret was then lost) or finds nothing left to do (a revoke
          // said "no token named"). The gateway says what became of it (answerLost: looked up, or
          // outcome unknown). One that never left is sent on as before.
          if (!resendable && mayHaveReached(err) && typeof err === 'object' && err !== null) final.add(err);
          throw err;
        }
      }, signal);
    } catch (err) {
      throw reached !== undefined && !mayHaveReached(err) ? reached : err;
    }
  };
  return policy;
}

function buildClient(options: EtcdConnectionOptions): Etcd3 {
  const tls = tlsOn(options.tls) ? options.tls : undefined;
  if (tls && Boolean(tls.cert) !== Boolean(tls.key)) throw new Error('--etcd-cert and --etcd-key go together: give both or neither');
  const scheme = tls ? 'https' : 'http';
  const hosts = options.url.endpoints.map((e) => `${scheme}://${endpointAddress(e)}`);
  const client = new Etcd3({
    hosts,
    ...(tls && {
      // grpc-js takes null for "the system's roots"; etcd3's type insists on a Buffer.
      credentials: { rootCertificate: (tls.ca ?? null) as Buffer, privateKey: tls.key, certChain: tls.cert },
    }),
    ...(options.auth && { auth: { username: options.auth.username, password: options.auth.password } }),
    grpcOptions: {
      // A member that comes back is dialled again within a second, not after gRPC's default 120 s backoff.
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
      // Notices a silently dead connection (no byte, no reset: a firewall that forgot it): nothing else
      // does, and the watch on it would wait for good (test/faults/etcd-connection.faults.test.ts).
      // etcd accepts pings every 5 s or slower. Safe only with keepChannelsOpen (below).
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 3000,
    },
    faultHandling: {
      host: memberCircuit,
      // A failed try sent on to the next member (not one that ran out of time), within the gateway's try.
      global: memberRetry(hosts.length),
      // etcd3 calls `.next()` on this (a backoff factory) though its type says IBackoff.
      watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1000 }) as unknown as IBackoff<unknown>,
    },
  });
  keepChannelsOpen(client);
  return client;
}

/**
 * Stops etcd3 closing a member's gRPC channels on every failed call (a deadline, a dropped
 * connection: its `Host.resetAllServices`). A channel closed under a call still running (the watch
 * stream, a lease's keep-alive stream, a write in flight) leaves that call on an HTTP/2 session that
 * grpc-js then closes gracefully (draining: its connection is released with the channel) while the
 * next call dials a new one. grpc-js 1.14 (1.14.7 is the newest) goes on
 * sending keepalive pings on the draining session (grpc/grpc-node#3068, open); the ping fails ("Ping
 * returned false") and grpc-js drops the session with every call on it: the watch broke with
 * "Connection dropped", writes in flight failed with outcome UNKNOWN, and each drop's errors closed
 * the channels again, so after a member was frozen or restarted a replica or runner could go on
 * losing its watch every ~10 s (keepalive time + the drop) for minutes while etcd was healthy.
 * gRPC reconnects a channel by itself (a member back is dialled within 1 s: the reconnect backoff
 * above), and keepalive notices a silently dead connection and drops it, so the channels are kept.
 * etcd3's layout is checked: one laid out otherwise fails at start, not silently.
 */
function keepChannelsOpen(client: Etcd3): void {
  const hosts = (client as unknown as { pool?: { hosts?: unknown } }).pool?.hosts;
  const shaped =
    Array.isArray(hosts) &&
    hosts.length > 0 &&
    hosts.every((h) => typeof h?.resetAllServices === 'function' && typeof h.close === 'function');
  if (!shaped) throw new Error('etcd3: its connection pool is not laid out as this version expects (hosts[].resetAllServices)');
  for (const host of hosts as { resetAllServices: () => void; close: () => void }[]) {
    const close = host.close;
    host.resetAllServices = () => {};
    // Closing the client still closes them (etcd3's Host.close resets, then refuses new calls).
    host.close = () => {
      delete (host as { resetAllServices?: unknown }).resetAllServices;
      close.call(host);
    };
  }
}

/**
 * The one etcd client of a process, with the store's call discipline: every call has a deadline
 * (2 s), and its outcome says whether etcd is reachable (`connected`, `lastContactAt`). A failed or
 * timed-out call becomes a StoreUnavailableError naming the operation; one etcd answered with a
 * refusal (an invalid argument, permission denied ...) a StoreRefusedError.
 */
export class EtcdGateway {
  readonly client: Etcd3;
  readonly location: string;
  /** With TLS: what every new connection is made with (a renewal switches it). */
  private readonly credentials: SwitchableTlsCredentials | undefined;
  private readonly tlsWatch: TlsFilesWatch | undefined;
  /** The last look at the files asked for by a refused connection (at most one a second). */
  private tlsCheckedAt = 0;
  readonly timeoutMs: number;
  private isConnected = false;
  private lastContact: Date | null = null;
  /**
   * How many times etcd was heard from (`contact`). A call's failure says etcd is away only when
   * nothing was heard since it began: one sent into a freeze and failing at its deadline after a
   * newer call (the probe) got through turned /ready back to 503 for ~100 ms, 0.4-0.9 s after etcd
   * came back ("reachable again", "unreachable", "reachable again").
   */
  private contacts = 0;
  /** Set by `stopping`: when every call made from then on gives up. */
  private stopBy: number | undefined;
  private readonly listeners = new Listeners<{ connected: boolean; failure?: StoreUnavailableError }>();

  /** TLS is on: a member that refuses this client's certificate (or whose CA is not `--etcd-ca`) looks like one that does not answer. */
  private readonly tls: boolean;
  /** What of TLS may be why no member answered (gRPC says only that none did), by the files given. */
  private readonly tlsSuspects: string;
  private certExpiry: { readonly file: string; readonly notAfter: Date } | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private readonly warn: Say | undefined;

  constructor(options: EtcdConnectionOptions) {
    this.client = buildClient(options);
    this.tls = tlsOn(options.tls);
    this.tlsSuspects = tlsSuspects(options.tls);
    this.warn = options.warn;
    this.location = `etcd://${options.url.endpoints.map(endpointAddress).join(',')}${options.url.prefix}`;
    this.timeoutMs = options.callTimeoutMs ?? STORE_CALL_TIMEOUT_MS;
    if (tlsOn(options.tls) && options.tlsPaths && options.tlsReloadMs !== 0) {
      const paths = options.tlsPaths;
      try {
        this.credentials = new SwitchableTlsCredentials(options.tls);
        this.credentials.install(this.client);
      } catch (err) {
        this.client.close();
        throw err;
      }
      let inUse: EtcdTlsFiles = options.tls;
      this.tlsWatch = new TlsFilesWatch(paths, options.tls, {
        intervalMs: options.tlsReloadMs,
        now: options.now,
        warn: options.warn,
        onRenewed: (files) => {
          const before = inUse;
          inUse = files;
          this.credentials?.use(files);
          this.certExpiry = files.certExpiry;
          this.watchCertificateExpiry();
          options.info?.(
            renewedCertificate(files, paths, before),
            files.certExpiry
              ? { certFile: files.certExpiry.file, certValidUntil: files.certExpiry.notAfter.toISOString() }
              : { caFile: paths.caFile },
          );
        },
      });
    }
    this.certExpiry = options.tls?.certExpiry;
    this.watchCertificateExpiry();
  }

  /**
   * Says so in the log when the client certificate runs out while this process runs: the connections
   * open then go on working, so nothing else would tell until a reconnect (a member restarted, a
   * network break) is refused and the store shows only as unreachable.
   */
  private watchCertificateExpiry(): void {
    clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    const expiry = this.certExpiry;
    const warn = this.warn;
    if (!expiry || !warn) return;
    const arm = () => {
      const ms = expiry.notAfter.getTime() - Date.now();
      this.expiryTimer = setTimeout(
        () =>
          ms > MAX_TIMER_MS
            ? arm()
            : warn(expiredCertificate(expiry, this.tlsWatch !== undefined), {
                certFile: expiry.file,
                certExpiredAt: expiry.notAfter.toISOString(),
              }),
        Math.max(0, Math.min(ms + 50, MAX_TIMER_MS)),
      );
      this.expiryTimer.unref();
    };
    arm();
  }

  /** The client certificate has run out (a store that does not answer is then most likely refusing it). */
  certificateExpired(now: Date = new Date()): string | null {
    return this.certExpiry && now > this.certExpiry.notAfter ? expiredCertificate(this.certExpiry, this.tlsWatch !== undefined) : null;
  }

  /** certificateExpired without the file's path (for /ready). */
  certificateExpiredPublic(now: Date = new Date()): string | null {
    return this.certExpiry && now > this.certExpiry.notAfter
      ? expiredCertificatePublic(this.certExpiry, this.tlsWatch !== undefined)
      : null;
  }

  get connected(): boolean {
    return this.isConnected;
  }

  get lastContactAt(): string | null {
    return this.lastContact?.toISOString() ?? null;
  }

  /** Told when reachability changes (after a call succeeds or fails; a loss with the failure that ended it). */
  onConnection(listener: (connected: boolean, failure?: StoreUnavailableError) => void): () => void {
    return this.listeners.add(({ connected, failure }) => listener(connected, failure));
  }

  /** A deadline `timeoutMs` from now, for an operation made of several calls. */
  deadline(): number {
    return Date.now() + this.timeoutMs;
  }

  /**
   * The process is stopping: every call from now on ends `withinMs` from now at the latest (calls
   * already out end by their own deadlines, which are sooner), and while etcd is known unreachable
   * (the last call failed) none is sent at all: it fails at once. So the stop's calls, however many
   * and in whatever order, take at most `withinMs` together (STORE_STOP_MS).
   */
  stopping(withinMs: number): void {
    this.stopBy ??= Date.now() + withinMs;
  }

  /**
   * Runs one etcd call with the deadline (gRPC's, and a timer in case the client queues it): its
   * result, a StoreRefusedError (etcd answered no), or a StoreUnavailableError. Only etcd calls belong
   * in `fn`: any other error it throws counts as the store being unavailable.
   */
  async call<T>(operation: string, fn: (options: CallOptions) => Promise<T>, callDeadline = this.deadline()): Promise<T> {
    const heardBefore = this.contacts;
    if (this.stopBy !== undefined && !this.isConnected)
      throw this.lost(operation, new StoppingError('not sent: etcd is unreachable and this process is stopping'), heardBefore);
    const deadline = Math.min(callDeadline, this.stopBy ?? callDeadline);
    const noAnswer = () =>
      new CallTimeoutError(
        deadline < callDeadline ? "no answer by the stop's deadline (this process is stopping)" : `no answer within ${this.timeoutMs} ms`,
      );
    // Set once a try never left this process: if the deadline then ends the call (the last try still
    // waiting for a connection, or no time left for another), the news is that no member answered,
    // not a bare timeout. Which of the two ends it depends only on timing.
    let unsent: unknown;
    // Set once a try was sent and not answered in its share of the time, or answered with an
    // election error after which it may still land (mayHaveReached): a write it carried may have
    // landed, whatever the later tries met, so that is the news if the call fails (answerLost:
    // outcome unknown). Before, a commit whose later tries found the members skipped (their
    // circuits open after the timeout, or after the election's errors) was reported as never sent.
    let unanswered: unknown;
    const retrySafe = RETRY_SAFE.has(operation);
    for (;;) {
      const now = Date.now();
      const remaining = deadline - now;
      if (remaining <= 0) throw this.lost(operation, unanswered ?? unsent ?? noAnswer(), heardBefore);
      const tryMs = Math.round(this.timeoutMs * TRY_SHARE);
      const tryEnd = retrySafe && remaining > 2 * tryMs ? now + tryMs : deadline;
      let timer: NodeJS.Timeout | undefined;
      try {
        const result = await Promise.race([
          resendScope.run(retrySafe, () => fn({ deadline: new Date(tryEnd) })),
          new Promise<never>((_, reject) => {
            // A little after gRPC's own deadline, so its error (counted by the member's circuit) comes first.
            const grace = tryEnd < deadline ? 50 : 0;
            timer = setTimeout(() => reject(noAnswer()), tryEnd - now + grace);
          }),
        ]);
        this.contact();
        return result;
      } catch (err) {
        // The call never left this process, so it is safe to send again (a write too): every member's
        // circuit was open, or the member it went to had no connection yet.
        const neverLeft = isBrokenCircuitError(err) || neverSent(err);
        if (neverLeft) unsent = err;
        // Sent again after a pause: that one, and a retry-safe call etcd answered while electing a leader.
        if ((neverLeft || (retrySafe && duringElection(err))) && deadline - Date.now() > RESEND_PAUSE_MS) {
          if (mayHaveReached(err)) unanswered = err;
          await sleep(RESEND_PAUSE_MS);
          continue;
        }
        // This try went to a member that did not answer in its share of the time: the next one, with the rest.
        if (tryEnd < deadline && (err instanceof CallTimeoutError || deadlineExceeded(err))) {
          unanswered = err;
          // Answered so well before the try's end (a member's own shorter limit): not sent again at once, in a loop.
          if (tryEnd - Date.now() > RESEND_PAUSE_MS) await sleep(RESEND_PAUSE_MS);
          continue;
        }
        // A last try never sent, or timed out by our own timer, adds nothing: the earlier news stands
        // (a try sent and unanswered first, then one that never left).
        const earlier = unanswered ?? unsent;
        if ((neverLeft || err instanceof CallTimeoutError) && earlier !== undefined) throw this.lost(operation, earlier, heardBefore);
        // A last try refused before anything was proposed ("no leader") says nothing of an earlier
        // one that may still land; alone, it is "nothing was written" (lost() marks it never sent).
        if (notProposed(err) && unanswered !== undefined) throw this.lost(operation, unanswered, heardBefore);
        if (isAccessRefusal(err)) throw this.lost(operation, err, heardBefore);
        if (refusedByEtcd(err)) {
          // etcd answered: it is reachable, and this call is wrong as it stands (not "try again later").
          this.contact();
          throw new StoreRefusedError(`${operation} on ${this.location}: ${err.message}`, { cause: err });
        }
        throw this.lost(operation, err, heardBefore);
      } finally {
        clearTimeout(timer);
      }
    }
  }

  /** Something reached etcd (a call, a watch event). */
  contact(): void {
    this.lastContact = new Date();
    this.contacts += 1;
    if (!this.isConnected) this.setConnected(true);
  }

  /**
   * A call failed for want of etcd: disconnected, unless etcd was heard from since the call began
   * (`heardBefore`: the count of contacts then): no answer in time is then older news than that
   * contact. A refusal of this process's credentials or rights is etcd's answer now, and counts.
   */
  private lost(operation: string, cause: unknown, heardBefore: number): StoreUnavailableError {
    const failure = this.unavailable(operation, cause);
    const olderNews = this.contacts !== heardBefore && !failure.accessRefused;
    if (this.isConnected && !olderNews) this.setConnected(false, failure);
    return failure;
  }

  /** `<operation> on <location> failed (<cause>)` as a StoreUnavailableError (the API's 503). */
  unavailable(operation: string, cause: unknown): StoreUnavailableError {
    // An open circuit means every member was tried and none took the connection: say that, not the
    // fault-handling library's words ("Execution prevented because the circuit breaker is open").
    // gRPC's "No connection established" (every member's channel down) is the same news in other words.
    const accessRefused = isAccessRefusal(cause);
    const unsent = isBrokenCircuitError(cause) || neverSent(cause);
    // No member took a connection: a renewed certificate may be waiting on disk (one look a second at most).
    if (unsent && this.tlsWatch && Date.now() - this.tlsCheckedAt >= 1000) {
      this.tlsCheckedAt = Date.now();
      void this.tlsWatch.check().catch(() => {});
    }
    const expired = unsent ? this.certificateExpired() : null;
    const why = expired
      ? `no member answered: ${expired}`
      : unsent
        ? `no member answered: each refused the connection or did not answer (etcd down, a wrong host or port, a firewall${this.tlsSuspects})`
        : accessRefused
          ? `etcd refused this process's credentials or rights: ${(cause as Error).message}`
          : cause instanceof Error
            ? cause.message
            : cause === undefined
              ? 'no answer'
              : String(cause);
    return new StoreUnavailableError(2, {
      cause,
      accessRefused,
      // "no leader" reached a member (its words are the news) and nothing was proposed: nothing written.
      neverSent: unsent || notProposed(cause),
      detail: `${operation} on ${this.location} failed (${why})`,
    });
  }

  private setConnected(connected: boolean, failure?: StoreUnavailableError): void {
    this.isConnected = connected;
    this.listeners.emit({ connected, failure });
  }

  close(): void {
    clearTimeout(this.expiryTimer);
    this.tlsWatch?.close();
    this.listeners.clear();
    this.client.close();
  }
}
