import type { AuditEntry } from '../config/audit-entry.js';
import { digestOf } from '../config/digest.js';
import { ConfigFileError, MAX_VERSION, unnumberedHandEditError } from '../config/errors.js';
import { type PresetsContent, parsePresetsFile } from '../config/presets-file.js';
import { judgeContent, NO_PRESETS_DIGEST, presetsInForce, presetsSystemEntry } from '../config/presets-judge.js';
import type { RuntimeConfig } from '../config/schema.js';
import type { ConfigSnapshot, PresetsSnapshot, StoreState } from '../config/store.js';
import type { PresetDefinition, StrategyRegistry } from '../registry/index.js';
import { HAND_EDIT_ACTOR, parseStored, type StoredConfig } from './config-judge.js';

/**
 * What the etcd store concludes from the stored `strategies` text beside the stored `config`: the
 * same pure judgements as the file store's (src/config/presets-judge.ts), so every replica judges
 * the same keys the same way and numbers them the same.
 */

/** The `strategies` text as stored (null: no key), judged: in force as it stands, or why not. */
export type StoredPresets =
  | {
      readonly ok: true;
      readonly text: string | null;
      readonly digest: string;
      readonly content: PresetsContent;
      readonly strategies: StrategyRegistry;
    }
  /**
   * `content` is set when the text is valid but kept out (it would break the config); `goneBack` when
   * there is no key because etcd went back (presetsGoneBackError): the set in force is written again.
   */
  | {
      readonly ok: false;
      readonly text: string | null;
      readonly digest: string;
      readonly error: ConfigFileError;
      readonly content?: PresetsContent;
      readonly goneBack?: true;
    };

/** Both keys as one read saw them, judged together: presets first, the config against the strategies they leave in force. */
export interface StoredPair {
  readonly presets: StoredPresets;
  /** The strategies in force beside this config: the stored presets' when they are valid, else the ones in force. */
  readonly strategies: StrategyRegistry;
  /** The config text parsed against `strategies` (null: no key). */
  readonly config: StoredConfig | null;
}

/** What the stored texts are judged with: the runtime files' limits (DESIGN "Limits and hostile input"). */
export interface StoredTextLimits {
  /** A value larger than this is refused as invalid before it is parsed (`--max-runtime-file-bytes`, 1 MiB). */
  readonly maxBytes: number;
  /** Tests: told each time a stored text is parsed and judged (a judgement not found in the cache). */
  readonly onParse?: (location: string) => void;
}

/** A stored value over the limit: invalid, with its size, and never parsed (a parse of 1.4 MB held the event loop 9 s). */
export function oversizedText(
  location: string,
  text: string | null,
  maxBytes: number,
  subject: 'config' | 'presets',
): ConfigFileError | null {
  if (text === null || text.length * 3 <= maxBytes) return null;
  const bytes = Buffer.byteLength(text);
  if (bytes <= maxBytes) return null;
  return new ConfigFileError(
    location,
    [{ message: `the value is ${bytes} bytes, over the limit of ${maxBytes} bytes (--max-runtime-file-bytes); it is not parsed` }],
    subject,
  );
}

/** Judgements kept per kind of text: the one in force, an invalid or kept-out one beside it, and what a commit just wrote. */
const JUDGEMENTS_KEPT = 4;

/**
 * Judges stored texts, once per content (digest): a replica that sees the same text again (every
 * read of a commit, every watch event) does not parse it again. The config is judged once per
 * digest and strategy set (a preset added may make it valid); kept-out presets content is judged
 * again against the config, which may have moved (no parse: the content is kept).
 */
export class PresetsJudge {
  /** The last few texts parsed, by digest (the set in force, and an invalid or kept-out one beside it). */
  private readonly parsed = new Map<string, PresetsContent | ConfigFileError>();
  /** The last few config texts judged, by digest, then by the strategies they were judged against. */
  private readonly configs = new Map<string, WeakMap<StrategyRegistry, StoredConfig>>();

  constructor(
    /** The static strategies. */
    private readonly registry: StrategyRegistry,
    private readonly location: string,
    private readonly configLocation: string,
    private readonly limits: StoredTextLimits,
  ) {}

  /** Stored presets text (of `location`, or of the kept copy's key) parsed, or why not: once per digest. */
  presetsContent(text: string | null, digest: string, location = this.location): PresetsContent | ConfigFileError {
    const id = `${location}\n${digest}`;
    const known = this.parsed.get(id);
    if (known) return known;
    this.limits.onParse?.(location);
    let result: PresetsContent | ConfigFileError;
    try {
      result = oversizedText(location, text, this.limits.maxBytes, 'presets') ?? parsePresetsFile(this.registry, location, text, 'key');
    } catch (err) {
      if (!(err instanceof ConfigFileError)) throw err;
      result = err;
    }
    if (this.parsed.size >= JUDGEMENTS_KEPT) this.parsed.delete(this.parsed.keys().next().value as string);
    this.parsed.set(id, result);
    return result;
  }

  /** A stored config text judged against `strategies`: once per digest and strategy set. */
  storedConfig(strategies: StrategyRegistry, text: string): StoredConfig {
    const digest = digestOf(text);
    let byStrategies = this.configs.get(digest);
    const known = byStrategies?.get(strategies);
    if (known) return known;
    this.limits.onParse?.(this.configLocation);
    const oversized = oversizedText(this.configLocation, text, this.limits.maxBytes, 'config');
    const stored: StoredConfig = oversized
      ? { ok: false, text, digest, error: oversized }
      : parseStored(strategies, this.configLocation, text);
    if (!byStrategies) {
      if (this.configs.size >= JUDGEMENTS_KEPT) this.configs.delete(this.configs.keys().next().value as string);
      byStrategies = new WeakMap();
      this.configs.set(digest, byStrategies);
    }
    byStrategies.set(strategies, stored);
    return stored;
  }

  /**
   * The stored presets, then the stored config, judged against what is in force: the presets must
   * parse and keep the config valid, the config they would stand beside being the stored one when it
   * is valid with them (both put at once), else the one in force. The set in force is not judged
   * again (the config in force was checked against it), and keeps its very strategies object
   * (runners compare it by identity).
   */
  judgePair(configText: string | null, presetsText: string | null, inForce: StoreState, lastPresets: AuditEntry | null): StoredPair {
    const digest = presetsText === null ? NO_PRESETS_DIGEST : digestOf(presetsText);
    const configWith = (strategies: StrategyRegistry): StoredConfig | null =>
      configText === null ? null : this.storedConfig(strategies, configText);
    const configAfter = (strategies: StrategyRegistry): RuntimeConfig => {
      const stored = configWith(strategies);
      return stored?.ok ? stored.config : inForce.config.config;
    };
    const content = this.presetsContent(presetsText, digest);
    let presets: StoredPresets;
    if (content instanceof ConfigFileError) {
      presets = { ok: false, text: presetsText, digest, error: content };
    } else if (digest === inForce.presets.digest) {
      presets = { ok: true, text: presetsText, digest, content, strategies: inForce.strategies };
    } else {
      const judged = judgeContent(this.registry, this.location, presetsText, content, configAfter);
      presets = judged.ok
        ? { ok: true, text: presetsText, digest, content, strategies: judged.strategies }
        : { ok: false, text: presetsText, digest, error: judged.error, ...(judged.content && { content: judged.content }) };
      // New content is numbered first: a set no version is left for is kept out like an invalid one.
      if (presets.ok && presetsSnapshotOf(presets, lastPresets).version > MAX_VERSION)
        presets = { ok: false, text: presetsText, digest, error: unnumberedHandEditError(this.location, 'presets', 'the audit trail') };
    }
    const strategies = presets.ok ? presets.strategies : inForce.strategies;
    return { presets, strategies, config: configWith(strategies) };
  }
}

/** The snapshot stored presets are in force as (versions never go backwards: see presetsInForce). */
export function presetsSnapshotOf(presets: StoredPresets & { ok: true }, last: AuditEntry | null): PresetsSnapshot {
  return presetsInForce(presets.content, presets.digest, last ?? undefined, last?.version ?? 0);
}

/** Whether stored presets in force still need an audit entry: a set nobody audited (never the absence of one that never existed). */
export function presetsUnaudited(current: PresetsSnapshot, last: AuditEntry | null): boolean {
  return last?.digest !== current.digest && (last !== null || current.version > 0);
}

/**
 * The entry for stored presets nobody audited: a direct put of the key (actor `etcd`), or, at start
 * with an empty trail, the first set the trail sees (a baseline). `before` is the set the trail last
 * recorded (or none, before any), when this process knows it (null: unknown, as for a put made while
 * no replica ran).
 */
export function presetsHandEditEntry(
  current: PresetsSnapshot,
  before: readonly PresetDefinition[] | null,
  last: AuditEntry | null,
  config: ConfigSnapshot,
  now: Date,
  starting: boolean,
): AuditEntry {
  if (!last && starting) return presetsSystemEntry('baseline', current, null, undefined, config.config, now);
  const entry = presetsSystemEntry('handEdit', current, before, last ?? undefined, config.config, now);
  const note =
    before === null
      ? 'the strategies key was put directly, not through the API; what changed is not known (the set before it was not seen by this replica)'
      : 'the strategies key was put directly, not through the API';
  return { ...entry, actor: HAND_EDIT_ACTOR, details: { ...entry.details, note } };
}
