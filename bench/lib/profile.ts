/** Self time from a V8 .cpuprofile (node --cpu-prof), by function and by area (pure; unit-tested). */

export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }[];
  /** microseconds, on the monotonic clock `process.hrtime` reads too (so a window can be taken from another process) */
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface SelfTime {
  name: string;
  ms: number;
  /** share of the busy (not idle) samples */
  pct: number;
}

export interface ProfileSummary {
  /** the span summarised */
  spanMs: number;
  idleMs: number;
  busyMs: number;
  byFunction: SelfTime[];
  byArea: SelfTime[];
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

/**
 * Self time per function and per area. With `window` (µs, the profile's clock), only the samples
 * taken inside it count: the load, not the start-up before it.
 */
export function summarizeProfile(profile: CpuProfile, top = 25, window?: { from: number; to: number }): ProfileSummary {
  const from = window?.from ?? profile.startTime;
  const to = window?.to ?? profile.endTime;
  const hits = new Map<number, number>();
  let counted = 0;
  if (profile.samples && profile.timeDeltas) {
    let t = profile.startTime;
    profile.samples.forEach((id, i) => {
      t += profile.timeDeltas![i]!;
      if (t < from || t > to) return;
      hits.set(id, (hits.get(id) ?? 0) + 1);
      counted++;
    });
  } else {
    for (const n of profile.nodes) {
      hits.set(n.id, n.hitCount ?? 0);
      counted += n.hitCount ?? 0;
    }
  }
  const spanMs = (to - from) / 1000;
  const msPerHit = counted ? spanMs / counted : 0;
  const fn = new Map<string, number>();
  const area = new Map<string, number>();
  let idle = 0;
  for (const node of profile.nodes) {
    const h = hits.get(node.id) ?? 0;
    if (!h) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)' && !url) {
      idle += h;
      continue;
    }
    const key = `${functionName || '(anonymous)'} ${shortLocation(url, lineNumber)}`.trim();
    fn.set(key, (fn.get(key) ?? 0) + h);
    const a = areaOf(url, functionName);
    area.set(a, (area.get(a) ?? 0) + h);
  }
  const busy = counted - idle;
  const rank = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, h]) => ({ name, ms: h * msPerHit, pct: busy ? (100 * h) / busy : 0 }));
  return { spanMs, idleMs: idle * msPerHit, busyMs: busy * msPerHit, byFunction: rank(fn), byArea: rank(area) };
}
