import { decimalSetting, envSetting } from './env-setting.js';
import { EtcdUrlError, parseEtcdStoreUrl } from './store-etcd/url.js';
import { UsageError } from './usage-error.js';

/** Where config, audit trail, tokens and runner states live: the runtime directory, or etcd. */
export type StoreSettings =
  | {
      readonly kind: 'file';
      /** `--audit-keep`: audit.log keeps the newest N entries of each subject, older ones moved to audit.log.old (unset: everything). */
      readonly auditKeep?: number;
    }
  | {
      readonly kind: 'etcd';
      /** `etcd://host:port[,host:port...]/<prefix>` */
      readonly url: string;
      readonly tls: { readonly caFile?: string; readonly certFile?: string; readonly keyFile?: string };
      readonly auth?: { readonly username: string; readonly password: string };
      readonly auditKeep?: number;
      /** CONTROL_PLANE_ETCD_TLS_RELOAD_MS: how often the TLS files are looked at for a renewal (5000; 0: never). */
      readonly tlsReloadMs?: number;
    };

export interface StoreFlags {
  store?: string;
  'etcd-ca'?: string;
  'etcd-cert'?: string;
  'etcd-key'?: string;
  'audit-keep'?: string;
}

/** Flags win over the environment; the default is the file store. */
export function resolveStoreSettings(flags: StoreFlags, env: NodeJS.ProcessEnv): StoreSettings {
  // Empty, the flag would have said "file" over CONTROL_PLANE_STORE=etcd://... (a script's `--store "$STORE"` with STORE unset).
  if (flags.store !== undefined && flags.store.trim() === '')
    throw new UsageError('--store must not be empty (the file store: --store file)');
  const store = (flags.store ?? envSetting(env, 'CONTROL_PLANE_STORE') ?? 'file').trim();
  const etcdOnly = (['etcd-ca', 'etcd-cert', 'etcd-key'] as const).filter((f) => flags[f] !== undefined);
  const auditKeep = auditKeepFlag(flags);
  if (store === 'file') {
    if (etcdOnly.length > 0) throw new UsageError(`--${etcdOnly[0]} applies only to an etcd store (--store etcd://...)`);
    return { kind: 'file', ...(auditKeep !== undefined && { auditKeep }) };
  }
  try {
    parseEtcdStoreUrl(store);
  } catch (err) {
    if (err instanceof EtcdUrlError)
      throw new UsageError(`${flags.store !== undefined ? '--store' : 'CONTROL_PLANE_STORE'}: ${err.message}`);
    throw err;
  }
  // Empty (a script's `--etcd-ca "$CA"` with CA unset): it read as a file not found, "--etcd-ca : ENOENT".
  const empty = etcdOnly.find((f) => flags[f]?.trim() === '');
  if (empty) throw new UsageError(`--${empty} must not be empty (the path of a PEM file)`);
  if (Boolean(flags['etcd-cert']) !== Boolean(flags['etcd-key'])) throw new UsageError('--etcd-cert and --etcd-key go together');
  const user = env.CONTROL_PLANE_ETCD_USER;
  const password = env.CONTROL_PLANE_ETCD_PASSWORD;
  if ((user ?? '') !== '' && password === undefined)
    throw new UsageError('CONTROL_PLANE_ETCD_USER is set but CONTROL_PLANE_ETCD_PASSWORD is not');
  // A password alone was dropped without a word: the store connected without authentication.
  if ((password ?? '') !== '' && (user ?? '') === '')
    throw new UsageError('CONTROL_PLANE_ETCD_PASSWORD is set but CONTROL_PLANE_ETCD_USER is not');
  let tlsReloadMs: number | undefined;
  const rawReload = envSetting(env, 'CONTROL_PLANE_ETCD_TLS_RELOAD_MS');
  if (rawReload !== undefined) {
    tlsReloadMs = decimalSetting(rawReload);
    if (!Number.isInteger(tlsReloadMs) || (tlsReloadMs !== 0 && tlsReloadMs < 100) || tlsReloadMs > 3_600_000)
      throw new UsageError(
        `CONTROL_PLANE_ETCD_TLS_RELOAD_MS: "${rawReload}" is not 0 or a whole number of milliseconds from 100 to 3600000`,
      );
  }
  return {
    kind: 'etcd',
    url: store,
    tls: { caFile: flags['etcd-ca'], certFile: flags['etcd-cert'], keyFile: flags['etcd-key'] },
    ...(user && password !== undefined && { auth: { username: user, password } }),
    ...(auditKeep !== undefined && { auditKeep }),
    ...(tlsReloadMs !== undefined && { tlsReloadMs }),
  };
}

/** `--audit-keep`: 1..1,000,000 entries per subject, for either store. */
function auditKeepFlag(flags: StoreFlags): number | undefined {
  if (flags['audit-keep'] === undefined) return undefined;
  const auditKeep = decimalSetting(flags['audit-keep']);
  if (!Number.isInteger(auditKeep) || auditKeep < 1 || auditKeep > 1_000_000) {
    throw new UsageError(`--audit-keep: "${flags['audit-keep']}" is not a whole number from 1 to 1000000`);
  }
  return auditKeep;
}
