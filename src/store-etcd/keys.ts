import type { AuditSubject } from '../config/audit-entry.js';

/** Versions are zero-padded to the width of Number.MAX_SAFE_INTEGER, so audit keys sort as numbers. */
const VERSION_WIDTH = 16;

/** The keys of one deployment under its prefix (DESIGN "Many instances"). */
export interface EtcdKeys {
  readonly prefix: string;
  /** The config as YAML text: the same text as config.yaml. */
  readonly config: string;
  /** The presets file's text. */
  readonly strategies: string;
  /**
   * The presets in force while the `strategies` key is kept out (a put that would break the config),
   * so that a restart keeps them in force too; deleted once `strategies` is in force again.
   */
  readonly strategiesKept: string;
  auditPrefix(subject: AuditSubject): string;
  audit(subject: AuditSubject, version: number): string;
  readonly tokensPrefix: string;
  token(name: string): string;
  readonly runnersPrefix: string;
  runner(id: string): string;
  /** API replicas serving the prefix, each under a lease (replicas.ts). */
  readonly replicasPrefix: string;
  replica(id: string): string;
  /** Put while `stratctl store migrate` writes into this prefix, deleted with its last transaction. */
  readonly migrating: string;
  /** Put when `stratctl store migrate` moved the deployment out of this prefix (where to, when); a move back in deletes it. */
  readonly moved: string;
}

export function etcdKeys(prefix: string): EtcdKeys {
  const auditPrefix = (subject: AuditSubject) => `${prefix}audit/${subject === 'CONFIG' ? 'config' : 'presets'}/`;
  return {
    prefix,
    config: `${prefix}config`,
    strategies: `${prefix}strategies`,
    strategiesKept: `${prefix}strategies.kept`,
    auditPrefix,
    audit: (subject, version) => `${auditPrefix(subject)}${String(version).padStart(VERSION_WIDTH, '0')}`,
    tokensPrefix: `${prefix}tokens/`,
    token: (name) => `${prefix}tokens/${name}`,
    runnersPrefix: `${prefix}runners/`,
    runner: (id) => `${prefix}runners/${id}`,
    replicasPrefix: `${prefix}replicas/`,
    replica: (id) => `${prefix}replicas/${id}`,
    moved: `${prefix}moved`,
    migrating: `${prefix}migrating`,
  };
}

/** The end of the range of every key starting with `prefix` (etcd's "prefix + 1"). */
export function prefixEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}
