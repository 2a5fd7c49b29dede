import { type DocumentNode, type FragmentDefinitionNode, Kind, type OperationDefinitionNode } from 'graphql';
import type { Credentials } from '../../auth/identity.js';
import { Lru } from '../../graphql/lru.js';
import { rootFieldNodes } from '../../graphql/root-fields.js';

/**
 * Root query fields whose answers are a function of the read revision (store state, store
 * problem and connectivity, runner states and health) and the caller's identity, nothing else.
 */
export const CACHEABLE_ROOT_FIELDS: ReadonlySet<string> = new Set(['strategies', 'strategy', 'status', 'config', 'viewer', '__typename']);
/** Root query fields that read something the revision does not cover (the audit trail, the signal history): never cached. */
export const UNCACHED_ROOT_FIELDS: ReadonlySet<string> = new Set(['auditLog', 'configHistory', 'signals', '__schema', '__type']);

export const RESPONSE_CACHE_ENTRIES = 512;
/** Keys (the request body) and answers together, in characters/bytes: a small share of memory. */
export const RESPONSE_CACHE_BYTES = 4 * 1024 * 1024;
const MAX_CACHED_ANSWER_BYTES = 64 * 1024;

export interface CachedAnswer {
  readonly status: number;
  readonly contentType: string;
  /** The answer's text, sent as it is (sendReply), and its length in bytes (UTF-8). */
  readonly body: string;
  readonly length: number;
}

/** True when every root field the query selects (through fragments too) is in CACHEABLE_ROOT_FIELDS. */
export function isCacheableQuery(document: DocumentNode, operation: OperationDefinitionNode): boolean {
  if (operation.operation !== 'query') return false;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  // Only validated documents get here: every fragment spread names a fragment.
  return rootFieldNodes(operation.selectionSet, (name) => fragments.get(name)).every((field) =>
    CACHEABLE_ROOT_FIELDS.has(field.name.value),
  );
}

/** Who is asking, as far as an answer can differ: no token, or the token's name and scopes (never shared across identities). */
const callerKeys = new WeakMap<object, string>();

export function callerKey(credentials: Credentials): string | null {
  if (credentials.kind === 'none') return 'anonymous';
  if (credentials.kind === 'invalid') return null;
  const { identity } = credentials;
  let key = callerKeys.get(identity);
  if (key === undefined) {
    key = `token:${identity.name}:${[...identity.scopes].sort().join(',')}`;
    callerKeys.set(identity, key);
  }
  return key;
}

/** Callers whose answers are kept per request body (each with one answer per media type). */
const CALLERS_PER_BODY = 16;

interface Variant {
  readonly revision: number;
  readonly answer: CachedAnswer;
}

/**
 * Whole answers to cacheable queries, keyed by everything they depend on: the request body byte
 * for byte (query, variables, operation name), the caller, the media type answered and the read
 * revision they were computed at (an answer from another revision is never returned). Only
 * complete answers (200, no errors) are kept. Bounded (entries and bytes, second-chance LRU).
 * Lookups go body -> caller -> media type, so a hit builds no key string.
 */
export class ResponseCache {
  private readonly entries = new Lru<string, Map<string, Map<string, Variant>>>(RESPONSE_CACHE_ENTRIES, RESPONSE_CACHE_BYTES);
  private readonly cacheable = new WeakMap<OperationDefinitionNode, boolean>();

  get(body: string, caller: string, mediaType: string, revision: number): CachedAnswer | undefined {
    const found = this.entries.get(body)?.get(caller)?.get(mediaType);
    return found?.revision === revision ? found.answer : undefined;
  }

  set(body: string, caller: string, mediaType: string, revision: number, answer: CachedAnswer): void {
    if (answer.length > MAX_CACHED_ANSWER_BYTES) return;
    const callers = this.entries.get(body) ?? new Map<string, Map<string, Variant>>();
    const byType = callers.get(caller) ?? new Map<string, Variant>();
    byType.set(mediaType, { revision, answer });
    callers.delete(caller);
    callers.set(caller, byType);
    for (const oldest of callers.keys()) {
      if (callers.size <= CALLERS_PER_BODY) break;
      callers.delete(oldest);
    }
    let size = body.length;
    for (const [name, types] of callers) for (const { answer: a } of types.values()) size += name.length + a.length;
    this.entries.set(body, callers, size);
  }

  isCacheable(document: DocumentNode, operation: OperationDefinitionNode): boolean {
    let known = this.cacheable.get(operation);
    if (known === undefined) {
      known = isCacheableQuery(document, operation);
      this.cacheable.set(operation, known);
    }
    return known;
  }

  clear(): void {
    this.entries.clear();
  }
}
