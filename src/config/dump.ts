import { RESERVED_TOKEN_NAMES, type StoredToken } from '../auth/token-file.js';
import { type StrategyRegistry, strategySetOf } from '../registry/index.js';
import { type AuditEntry, type AuditSubject, parseAuditEntry } from './audit-entry.js';
import { digestOf } from './digest.js';
import { ConfigFileError } from './errors.js';
import { parsePresetsFile } from './presets-file.js';
import { parseConfigFile } from './yaml-document.js';

/**
 * Everything a store holds that `stratctl store migrate` moves, as stored: the config text (so its
 * digest stays the same), the presets text, the tokens' hashed records, and every audit entry with
 * its version and digest (so history and rollback work the same after the move). Runner states
 * (heartbeats) and the per-host admin token are not store data and are not moved.
 */
export interface StoreDump {
  /** config.yaml, or the `config` key: the text exactly as stored (null: none). */
  readonly config: string | null;
  /** strategies.yaml, or the `strategies` key: the presets file's text exactly as stored (null: none). */
  readonly strategies: string | null;
  readonly tokens: readonly StoredToken[];
  /** Oldest first: each subject by version, the two merged by time (`orderAudit`, the order audit.log has them in). */
  readonly audit: readonly DumpAuditEntry[];
  /** Stored audit records that are not audit entries: left behind, and said so. */
  readonly skippedAudit: readonly string[];
  /**
   * The presets a running deployment keeps in force while the stored ones are kept out (etcd
   * `strategies.kept`, `.strategies.kept.yaml`): never moved, read only to say why a move is refused.
   */
  readonly strategiesKept?: KeptPresets | null;
}

/** The set kept in force beside a stored presets text that is kept out, and where each is stored (for messages). */
export interface KeptPresets {
  /** Where the stored presets are (the key or file kept out). */
  readonly presetsAt: string;
  /** Where the kept set is. */
  readonly keptAt: string;
  readonly text: string;
}

export interface DumpAuditEntry {
  readonly entry: AuditEntry;
  /** The stored JSON object on one line, every field kept (fields this version does not know too). */
  readonly json: string;
}

/** A stored audit record (a line of audit.log, the value of an audit key) as a dump entry, or null. */
export function dumpAuditEntry(text: string): DumpAuditEntry | null {
  const entry = parseAuditEntry(text);
  if (!entry) return null;
  return { entry, json: JSON.stringify(JSON.parse(text)) };
}

/**
 * The order audit.log keeps: each subject by version (its history), the two subjects merged by time
 * where they interleave (one group commit shares a time: the config first). Sorted by time first,
 * an etcd trail written by replicas and runners on hosts whose clocks differ had a version before
 * an older one: the last line was no longer the newest, and the target's first server recorded the
 * config as a hand edit. Times are compared as instants (an offset like +02:00 is a valid time), never
 * as strings; one that does not parse does not reorder anything.
 */
export function orderAudit(entries: readonly DumpAuditEntry[]): DumpAuditEntry[] {
  const bySubject = (subject: AuditSubject) =>
    entries.filter((a) => a.entry.subject === subject).sort((a, b) => a.entry.version - b.entry.version);
  const [config, presets] = [bySubject('CONFIG'), bySubject('PRESETS')];
  const out: DumpAuditEntry[] = [];
  let [i, j] = [0, 0];
  for (let c = config[i], p = presets[j]; c && p; c = config[i], p = presets[j]) {
    // NaN compares false: an unparsable time takes the config's entry first.
    if (Date.parse(p.entry.time) < Date.parse(c.entry.time)) {
      out.push(p);
      j++;
    } else {
      out.push(c);
      i++;
    }
  }
  return [...out, ...config.slice(i), ...presets.slice(j)];
}

/** A subject's newest entry: its highest version (wherever it is stored). */
function lastOf(audit: readonly DumpAuditEntry[], subject: AuditSubject): AuditEntry | undefined {
  let last: AuditEntry | undefined;
  for (const { entry } of audit) if (entry.subject === subject && (!last || entry.version > last.version)) last = entry;
  return last;
}

/** What a valid dump amounts to, for the summary and for the checks. */
export interface DumpSummary {
  /** The config version in force after the move (the audited version of the stored text, like every store judges it). */
  readonly configVersion: number;
  readonly configDigest: string;
  /** False when the stored config has no audit entry yet (a hand edit): the target's first start records one. */
  readonly configAudited: boolean;
  readonly strategiesBytes: number | null;
  readonly tokens: number;
  readonly auditEntries: Readonly<Record<AuditSubject, number>>;
}

/** The target changed while a move wrote it (someone else writes there): the move stopped, saying what it left. */
export class MigrateRaceError extends Error {
  override name = 'MigrateRaceError';
}

export class DumpInvalidError extends Error {
  override name = 'DumpInvalidError';
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`${source} cannot be moved as it is:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

/**
 * Checks a dump before anything is written anywhere: the config is a valid config (the strategies
 * it names in force), the presets text is YAML, the token records are sound and none takes a name
 * the audit trail reserves, and each subject's audit versions are unique. Throws DumpInvalidError
 * listing every problem; returns the summary otherwise.
 *
 * `strategies` is the set a server would have in force for this dump. Until presets land (issue 12)
 * that is the static set, as for every server on this version; with presets it is the static set
 * plus the dump's presets, so a config naming a preset is judged as the target will judge it.
 */
export function checkDump(dump: StoreDump, source: string, strategies: StrategyRegistry): DumpSummary {
  const problems: string[] = [];
  let configVersion = 0;
  let configDigest = '';
  let configAudited = false;
  // The presets first: the config may name one of them.
  let inForce = strategies;
  let presetsParsed = true;
  if (dump.strategies !== null) {
    try {
      inForce = strategySetOf(strategies, parsePresetsFile(strategies, 'strategies', dump.strategies).presets);
    } catch (err) {
      if (!(err instanceof ConfigFileError)) throw err;
      presetsParsed = false;
      problems.push(...err.problems.map((p) => `strategies: ${p.line ? `line ${p.line}: ` : ''}${p.message}`));
    }
  }
  if (dump.config === null) problems.push('it holds no config (nothing to move)');
  else {
    try {
      const { config } = parseConfigFile(inForce, 'config', dump.config);
      configDigest = digestOf(dump.config);
      const last = lastOf(dump.audit, 'CONFIG');
      configAudited = last?.digest === configDigest;
      configVersion = last && configAudited ? last.version : !last || config.version > last.version ? config.version : last.version + 1;
    } catch (err) {
      if (!(err instanceof ConfigFileError)) throw err;
      // Stored presets that do not parse are said above: only valid ones can be kept out.
      const keptOut = presetsParsed ? keptOutProblem(dump, strategies, err) : null;
      if (keptOut) problems.push(keptOut);
      else problems.push(...err.problems.map((p) => `config: ${p.line ? `line ${p.line}: ` : ''}${p.message}`));
    }
  }
  const names = new Set<string>();
  for (const token of dump.tokens) {
    if ((RESERVED_TOKEN_NAMES as readonly string[]).includes(token.name))
      problems.push(`token "${token.name}": the name is reserved for the audit trail; revoke it and create it under another name first`);
    if (names.has(token.name)) problems.push(`token "${token.name}" appears twice`);
    names.add(token.name);
  }
  const counts: Record<AuditSubject, number> = { CONFIG: 0, PRESETS: 0 };
  const seen = new Set<string>();
  for (const { entry } of dump.audit) {
    const id = `${entry.subject} ${entry.version}`;
    if (seen.has(id)) problems.push(`audit: two ${entry.subject} entries for version ${entry.version}`);
    seen.add(id);
    counts[entry.subject]++;
  }
  if (problems.length > 0) throw new DumpInvalidError(source, problems);
  return {
    configVersion,
    configDigest,
    configAudited,
    strategiesBytes: dump.strategies === null ? null : Buffer.byteLength(dump.strategies),
    tokens: dump.tokens.length,
    auditEntries: counts,
  };
}

/**
 * The config is invalid with the stored presets but valid with the set kept in force beside them
 * (the one the trail recorded last, as a store takes it at start): the source runs that set with
 * the stored presets kept out. A move copies what is stored, and the kept set is not: moved as it
 * is, the target's config would be invalid, and moving the kept set instead would drop a person's
 * edit nobody decided on. So the move is refused, naming the kept-out presets and the ways out,
 * rather than blaming the config the source runs fine.
 */
function keptOutProblem(dump: StoreDump, strategies: StrategyRegistry, configError: ConfigFileError): string | null {
  const kept = dump.strategiesKept;
  if (!kept || dump.config === null) return null;
  const lastPresets = lastOf(dump.audit, 'PRESETS');
  if (lastPresets?.digest !== digestOf(kept.text)) return null;
  try {
    parseConfigFile(strategySetOf(strategies, parsePresetsFile(strategies, kept.keptAt, kept.text).presets), 'config', dump.config);
  } catch {
    return null;
  }
  const why = configError.problems.map((p) => p.message).join('; ');
  return `${kept.presetsAt} is kept out: the config in force is invalid with it (${why}); the deployment runs the presets kept at ${kept.keptAt} (version ${lastPresets.version}), which a move does not copy. Bring the stored presets in force first, then migrate: put that set back into ${kept.presetsAt}, or make the config stop using what ${kept.presetsAt} removes (activate another strategy, drop its tunable_overrides) so it goes in force`;
}
