/** The one table `npm run bench` prints and writes to bench/results.md (pure; unit-tested). */

export type Verdict = 'met' | 'NOT met' | 'no target' | 'failed';

/** A figure against a lower bound (req/s, activations/s, ratios). */
export function atLeast(value: number | null, min: number): Verdict {
  if (value === null || !Number.isFinite(value)) return 'failed';
  return value >= min ? 'met' : 'NOT met';
}

/** A figure against an upper bound (latencies, start times, memory). */
export function atMost(value: number | null, max: number): Verdict {
  if (value === null || !Number.isFinite(value)) return 'failed';
  return value <= max ? 'met' : 'NOT met';
}

/** Several conditions on one row: met only when every one is. */
export function allOf(...verdicts: Verdict[]): Verdict {
  if (verdicts.includes('failed')) return 'failed';
  if (verdicts.includes('NOT met')) return 'NOT met';
  return verdicts.length > 0 && verdicts.every((v) => v === 'met') ? 'met' : 'no target';
}

export interface Row {
  figure: string;
  ours: string;
  yoga?: string;
  mercurius?: string;
  plain?: string;
  target?: string;
  verdict: Verdict;
}

export const HEADERS = ['figure', 'this server', 'stock yoga', 'mercurius (jit)', 'plain node:http', 'target (issue 10)', 'verdict'];

function cells(row: Row): string[] {
  return [row.figure, row.ours, row.yoga ?? '', row.mercurius ?? '', row.plain ?? '', row.target ?? '', row.verdict];
}

/** Columns padded to their widest cell, two spaces apart, a dashed line under the headers. */
export function renderText(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cols: readonly string[]) =>
    widths
      .map((w, i) => (cols[i] ?? '').padEnd(w))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n') + '\n';
}

/** A GitHub-flavoured Markdown table; a `|` inside a cell is escaped. */
export function renderMarkdown(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const esc = (s: string) => s.replaceAll('|', '\\|');
  const line = (cols: readonly string[]) => `| ${headers.map((_, i) => esc(cols[i] ?? '')).join(' | ')} |`;
  return [line(headers), `|${headers.map(() => ' --- ').join('|')}|`, ...rows.map(line)].join('\n') + '\n';
}

export function tableText(rows: readonly Row[]): string {
  return renderText(HEADERS, rows.map(cells));
}

export function tableMarkdown(rows: readonly Row[]): string {
  return renderMarkdown(HEADERS, rows.map(cells));
}
