/**
 * Durable activations per second at 1, 8 and 32 concurrent writers: each a real HTTP mutation
 * that must be accepted; afterwards the version delta, the versions the answers carried and the
 * new lines in <runtime-dir>/audit.log must all agree.
 */
import { auditLines, type RunningServer, statusOf } from '../lib/control-plane.js';
import { activationOf, keepAlive, keyCycle, postGraphQL, QUERIES } from '../lib/http.js';
import { atLeast, type Row } from '../lib/report.js';
import { formatCount, formatMs, summarize } from '../lib/stats.js';

export interface WriterLevel {
  writers: number;
  accepted: number;
  perSecond: number;
  p50: number;
  p99: number;
  noOps: number;
  failures: string[];
  versionDelta: number;
  auditDelta: number;
  verified: boolean;
}

export async function durableWrites(
  ours: RunningServer,
  levels: readonly number[],
  seconds: number,
  progress: (l: string) => void,
): Promise<WriterLevel[]> {
  const next = keyCycle();
  const warm = keepAlive(1);
  for (let i = 0; i < 20; i++) await postGraphQL(ours.url, { query: QUERIES.activate, variables: { k: next() } }, warm);
  warm.destroy();

  const out: WriterLevel[] = [];
  for (const writers of levels) {
    const before = { version: (await statusOf(ours.url)).configVersion, audit: await auditLines(ours.runtimeDir) };
    const agent = keepAlive(writers);
    const latencies: number[] = [];
    const versions = new Set<number>();
    const failures: string[] = [];
    let accepted = 0;
    const t0 = performance.now();
    const deadline = t0 + seconds * 1000;
    await Promise.all(
      Array.from({ length: writers }, async () => {
        while (performance.now() < deadline) {
          const answer = await postGraphQL(ours.url, { query: QUERIES.activate, variables: { k: next() } }, agent).catch(
            (err: Error) => err,
          );
          if (answer instanceof Error) {
            failures.push(answer.message);
            continue;
          }
          const a = activationOf(answer);
          if (!a.ok) {
            failures.push(a.reason);
            continue;
          }
          accepted++;
          versions.add(a.version);
          latencies.push(answer.ms);
        }
      }),
    );
    const elapsed = (performance.now() - t0) / 1000;
    agent.destroy();
    const after = { version: (await statusOf(ours.url)).configVersion, audit: await auditLines(ours.runtimeDir) };
    const versionDelta = after.version - before.version;
    const auditDelta = after.audit - before.audit;
    const s = latencies.length ? summarize(latencies) : { p50: Number.NaN, p99: Number.NaN };
    const level: WriterLevel = {
      writers,
      accepted,
      perSecond: versions.size / elapsed,
      p50: s.p50,
      p99: s.p99,
      // An answer that repeats a version wrote nothing (a no-op: keys alternate, so only reordering can cause one).
      noOps: accepted - versions.size,
      failures,
      versionDelta,
      auditDelta,
      verified: failures.length === 0 && versionDelta === versions.size && auditDelta === versions.size,
    };
    progress(
      `  ${writers} writer(s): ${formatCount(level.perSecond)} activations/s, ${accepted} accepted, version +${versionDelta}, audit +${auditDelta}, ${failures.length} refused`,
    );
    out.push(level);
  }
  return out;
}

export function writeRows(levels: readonly WriterLevel[]): Row[] {
  return levels.map((l) => ({
    figure: `durable activations/s, ${l.writers} writer${l.writers === 1 ? '' : 's'}`,
    ours:
      `${formatCount(l.perSecond)}/s (p50 ${formatMs(l.p50)} / p99 ${formatMs(l.p99)} ms; ${l.accepted} accepted` +
      `${l.noOps ? `, ${l.noOps} no-op` : ''}, version +${l.versionDelta}, audit +${l.auditDelta}` +
      `${l.failures.length ? `, ${l.failures.length} REFUSED` : ''}${l.verified ? ', verified' : ', MISMATCH'})`,
    target: l.writers === 32 ? '>= 1,000/s, each with its audit line' : '',
    verdict: !l.verified ? 'failed' : l.writers === 32 ? atLeast(l.perSecond, 1000) : 'no target',
  }));
}
