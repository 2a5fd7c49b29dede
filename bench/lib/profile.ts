/** Self time from a V8 .cpuprofile (node --cpu-prof), by function and by area (pure; unit-tested). */

export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

export interface SelfTime {
  name: string;
  ms: number;
  /** share of all samples, idle included */
  pct: number;
}

/** Where a frame's code lives: a package, a src/ folder, node's own modules, or V8's pseudo-frames. */
export function areaOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//g)?.at(-1);
  if (pkg) return pkg.slice('node_modules/'.length, -1);
  // node core by module family (streams, abort_controller, http...): which of node's own machinery the requests use.
  if (url.startsWith('node:')) return url.replace(/^node:(internal\/)?([^/]+).*$/, 'node:$1$2');
  const src = url.match(/\/(src|dist)\/(?:([^/]+)\/)?/);
  if (src) return src[2] && !src[2].includes('.') ? `${src[1]}/${src[2]}/` : `${src[1]}/ (top level)`;
  return url.replace(/^file:\/\//, '');
}

function shortLocation(url: string, line: number): string {
  if (!url) return '';
  const tail = url
    .replace(/^file:\/\//, '')
    .replace(/^.*node_modules\//, '')
    .replace(/^.*\/(src|dist|bench)\//, '$1/');
  return `${tail}:${line + 1}`;
}

export function summarizeProfile(profile: CpuProfile, top = 25): { totalMs: number; byFunction: SelfTime[]; byArea: SelfTime[] } {
  const totalMs = (profile.endTime - profile.startTime) / 1000;
  const hits = new Map<number, number>();
  if (profile.samples) for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  else for (const n of profile.nodes) hits.set(n.id, n.hitCount ?? 0);
  const totalHits = [...hits.values()].reduce((a, b) => a + b, 0);
  const msPerHit = totalHits ? totalMs / totalHits : 0;
  const fn = new Map<string, number>();
  const area = new Map<string, number>();
  for (const node of profile.nodes) {
    const h = hits.get(node.id) ?? 0;
    if (!h) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const key = `${functionName || '(anonymous)'} ${shortLocation(url, lineNumber)}`.trim();
    fn.set(key, (fn.get(key) ?? 0) + h);
    const a = areaOf(url, functionName);
    area.set(a, (area.get(a) ?? 0) + h);
  }
  const rank = (m: Map<string, number>, limit: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, h]) => ({ name, ms: h * msPerHit, pct: totalHits ? (100 * h) / totalHits : 0 }));
  return { totalMs, byFunction: rank(fn, top), byArea: rank(area, top) };
}
