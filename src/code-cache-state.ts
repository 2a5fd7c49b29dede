// How this process's `serve` started with respect to V8's code cache (src/code-cache.ts), kept on
// globalThis: code-cache.ts sets it before the bundle runs, and the bundle's own copy of the
// modules (cli/serve.ts, which logs it) reads it there. No imports: the ES-module path loads this
// to read it, without loading the code-cache module itself.

export type CodeCacheState = 'used' | 'rejected by V8' | 'writing' | 'not used';

export interface CodeCacheOutcome {
  readonly state: CodeCacheState;
  /** Why it was not used (or V8 refused it), for an operator: what to do to get the faster start. */
  readonly reason?: string;
}

/** Under this symbol on globalThis (a test's preload reads it at exit too). */
export const CODE_CACHE_OUTCOME = Symbol.for('strategy-control-plane.code-cache');

export function setCodeCacheOutcome(outcome: CodeCacheOutcome): void {
  (globalThis as Record<symbol, unknown>)[CODE_CACHE_OUTCOME] = outcome;
}

/** How this start went, or undefined when the code cache was never looked at (not `node dist/cli.js serve`: tsx, tests in-process). */
export function codeCacheOutcome(): CodeCacheOutcome | undefined {
  return (globalThis as Record<symbol, unknown>)[CODE_CACHE_OUTCOME] as CodeCacheOutcome | undefined;
}

/** The start's log line, told: a field for machines, a clause for people. Nothing when the cache was never looked at. */
export function codeCacheLogFields(outcome: CodeCacheOutcome | undefined): { fields: Record<string, string>; text: string } {
  if (!outcome || outcome.state === 'writing') return { fields: {}, text: '' };
  const fields: Record<string, string> = { codeCache: outcome.state, ...(outcome.reason && { codeCacheReason: outcome.reason }) };
  if (outcome.state === 'used') return { fields, text: "; started from V8's code cache" };
  return { fields, text: `; V8's code cache ${outcome.state}: ${outcome.reason ?? 'no reason recorded'}` };
}
