import { type DocumentNode, type GraphQLSchema, getOperationAST, type OperationDefinitionNode } from 'graphql';
import { Lru } from './lru.js';

/** A document as parse and validation left it: valid (with its operations), or refused. */
export type CheckedDocument = { readonly valid: true; readonly document: DocumentNode } | { readonly valid: false };

/** What checks a document: the envelop orchestrator's parse and validate (every plugin's rules). */
export interface DocumentChecker {
  readonly schema: GraphQLSchema;
  parse(source: string): DocumentNode;
  validate(schema: GraphQLSchema, document: DocumentNode): readonly unknown[];
}

export const DOCUMENT_CACHE_ENTRIES = 1_000;

const NO_OPERATION_NAME = Symbol('no operationName');

/** The key of a request's operationName among those a document is asked for: no name (the only operation) is not the empty name (which names none). */
export const operationKey = (operationName: string | undefined): string | symbol =>
  operationName === undefined ? NO_OPERATION_NAME : operationName;
/** Longer documents are checked every time: they are not what a client repeats, and the cache stays small. */
export const DOCUMENT_CACHE_MAX_CHARS = 16 * 1024;

/**
 * Parse and validation results by document text, bounded (LRU). Only what is the same for every
 * request is kept: the parsed document and whether it passed validation, whose rules are fixed when
 * the server starts (document limits, production mode). What depends on the request (variables,
 * credentials: the document's cost, scopes, list sizes) runs in execution, for every request, never
 * here: this cache is parse and validate only, so a rule moved out of validation stays per request.
 */
export class DocumentCache {
  private readonly entries: Lru<string, CheckedDocument>;
  private readonly operations = new WeakMap<DocumentNode, Map<string | symbol, OperationDefinitionNode | null>>();

  constructor(maxEntries = DOCUMENT_CACHE_ENTRIES) {
    this.entries = new Lru(maxEntries);
  }

  /**
   * The document for `source`, checked by `checker` on a miss (its hooks run then, as on any request).
   * `runnable`, on a miss, is the request's own test between parse and validation (yoga's path refuses
   * an operationName that names no operation there, before it validates): false, the document is
   * neither validated nor kept, and the answer is null.
   */
  check(source: string, checker: () => DocumentChecker, runnable?: (document: DocumentNode) => boolean): CheckedDocument | null {
    const cached = this.entries.get(source);
    if (cached) return cached;
    const { schema, parse, validate } = checker();
    let checked: CheckedDocument;
    try {
      const document = parse(source);
      if (runnable && !runnable(document)) return null;
      checked = validate(schema, document).length === 0 ? { valid: true, document } : { valid: false };
    } catch {
      checked = { valid: false };
    }
    if (source.length <= DOCUMENT_CACHE_MAX_CHARS) this.entries.set(source, checked);
    return checked;
  }

  /** The operation a request names (or the only one), null when there is no such single operation. */
  operation(document: DocumentNode, operationName: string | undefined): OperationDefinitionNode | null {
    let byName = this.operations.get(document);
    if (!byName) {
      byName = new Map();
      this.operations.set(document, byName);
    }
    const key = operationKey(operationName);
    let operation = byName.get(key);
    if (operation === undefined) {
      operation = getOperationAST(document, operationName) ?? null;
      // Names come from clients: only a few per document are remembered.
      if (byName.size < 16) byName.set(key, operation);
    }
    return operation;
  }
}

/** Characters of document text yoga's own parse caches hold at most, all entries together. */
export const PARSE_CACHE_MAX_CHARS = 2 * 1024 * 1024;

/**
 * A cache for yoga's parser (its `parserAndValidationCache`: parsed documents, and parse errors),
 * bounded like the fast lane's: documents over DOCUMENT_CACHE_MAX_CHARS are not kept, and the text
 * kept is at most PARSE_CACHE_MAX_CHARS. yoga's default kept 1,024 of any size for an hour: distinct
 * 64 KiB documents from a client without a token pinned ~130 MB of heap.
 */
export function boundedParseCache<V>(): { get(key: string): V | undefined; set(key: string, value: V): void; readonly size: number } {
  const lru = new Lru<string, V>(DOCUMENT_CACHE_ENTRIES, PARSE_CACHE_MAX_CHARS);
  return {
    get: (key) => lru.get(key),
    set: (key, value) => {
      if (key.length <= DOCUMENT_CACHE_MAX_CHARS) lru.set(key, value, key.length);
    },
    get size() {
      return lru.size;
    },
  };
}
