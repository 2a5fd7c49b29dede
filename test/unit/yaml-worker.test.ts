import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { isMap, parseDocument, type YAMLMap } from 'yaml';
import { duplicateKeys, MAX_PROBLEMS, PARSE_OPTIONS, parseYaml } from '../../src/yaml/core.js';
import { YamlDeadlineError, yamlWorker } from '../../src/yaml/off-thread.js';

const keys = (n: number, extra = '') => `${Array.from({ length: n }, (_, i) => `k${i}: ${i}`).join('\n')}\n${extra}`;

describe('duplicate keys', () => {
  it('are found, each at its line', () => {
    const result = parseYaml(keys(3, 'k1: again\nnested:\n  a: 1\n  a: 2\n'));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems).toEqual([
      { line: 4, column: 1, message: 'Map keys must be unique' },
      { line: 7, column: 3, message: 'Map keys must be unique' },
    ]);
  });

  it("10,000 keys: one pass, each key read once (the library's own check, which compares every pair, stays off)", () => {
    // Not timed (these machines are shared): the library's uniqueKeys check took ~630 ms on 10,000
    // keys against ~280 ms for the parse alone; what keeps ours linear is reading each key once.
    expect(PARSE_OPTIONS.uniqueKeys).toBe(false);
    const doc = parseDocument(keys(10_000, 'k42: again\n'), PARSE_OPTIONS);
    expect(isMap(doc.contents)).toBe(true);
    const map = doc.contents as YAMLMap;
    let reads = 0;
    map.items = map.items.map(
      (pair) =>
        new Proxy(pair, {
          get(target, property, receiver) {
            if (property === 'key') reads += 1;
            return Reflect.get(target, property, receiver);
          },
        }),
    );
    const found = duplicateKeys(doc);
    expect(found.map((node) => (node as { value?: unknown }).value)).toEqual(['k42']);
    // 10,001 pairs read once each, and the duplicate's key once more to report it.
    expect(reads).toBe(10_002);
  });

  it('generated: a document has a duplicate problem exactly when some map repeats a key', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e'), { maxLength: 6 }), (names) => {
        const result = parseYaml(names.map((n, i) => `${n}: ${i}`).join('\n'));
        const repeats = new Set(names).size !== names.length;
        expect(!result.ok && result.problems.some((p) => p.message.startsWith('Map keys must be unique'))).toBe(repeats);
      }),
      { seed: 14 },
    );
  });

  it(`reports at most ${MAX_PROBLEMS} problems, however many there are`, () => {
    const result = parseYaml(keys(1, 'k0: x\n'.repeat(500)));
    expect(!result.ok && result.problems.length).toBe(MAX_PROBLEMS + 1);
    expect(!result.ok && result.problems.at(-1)?.message).toBe(`... and ${500 - MAX_PROBLEMS} more problems`);
  });
});

describe('tags that make something other than plain data', () => {
  it('are refused at their line (they were quoted back as {} and {"0":104,...}); plain and core-tagged values pass', () => {
    const text =
      'name: !!binary aGVsbG8=\nwhen: !!timestamp 2001-12-14\nkeys: !!set {a, b}\nordered: !!omap [{a: 1}]\npairs: !!pairs [{a: 1}]\n';
    const result = parseYaml(text);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems.map((p) => [p.line, p.message.slice(0, p.message.indexOf(':'))])).toEqual([
      [1, 'YAML tag !!binary is not allowed here'],
      [2, 'YAML tag !!timestamp is not allowed here'],
      [3, 'YAML tag !!set is not allowed here'],
      [4, 'YAML tag !!omap is not allowed here'],
      [5, 'YAML tag !!pairs is not allowed here'],
    ]);
    const plain = parseYaml('name: !!str 2001-12-14\nn: !!int 3\nm: !!map {a: 1}\ns: !!seq [1]\nt: 2001-12-14\n');
    expect(plain.ok && plain.data).toEqual({ name: '2001-12-14', n: 3, m: { a: 1 }, s: [1], t: '2001-12-14' });
  });
});

describe('the parse worker', () => {
  it('parses off the event loop, and gives up a parse past its deadline; the next one gets a fresh worker', async () => {
    const yaml = yamlWorker();
    try {
      expect(await yaml.parse('a: 1')).toMatchObject({ ok: true, data: { a: 1 } });
      // Flow collections many thousands deep: seconds of work for the parser.
      const slow = `x:\n${Array.from({ length: 30_000 }, (_, i) => `  k${i}: [1, 2, {a: b}]`).join('\n')}`;
      await expect(yaml.parse(slow, { deadlineMs: 1 })).rejects.toBeInstanceOf(YamlDeadlineError);
      expect(await yaml.parse('b: [1, 2]')).toMatchObject({ ok: true, data: { b: [1, 2] } });
      expect(await yaml.edit('# kept\nb: 1 # also kept\n', [{ op: 'set', path: ['b'], value: 2 }])).toBe('# kept\nb: 2 # also kept\n');
    } finally {
      await yaml.close();
    }
  });

  it('stops its thread once idle for idleMs (a worker holds ~9 MB for nothing), and starts a fresh one for the next file', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const yaml = yamlWorker({ idleMs: 1_000 });
    try {
      expect(yaml.running).toBe(false);
      const first = yaml.parse('a: 1');
      const second = yaml.parse('b: 2');
      expect(await first).toMatchObject({ ok: true, data: { a: 1 } });
      vi.advanceTimersByTime(5_000); // still busy with the second: no idle timer runs yet
      expect(await second).toMatchObject({ ok: true, data: { b: 2 } });
      await new Promise((resolve) => setImmediate(resolve)); // the queue's bookkeeping after the answer (microtasks)
      expect(yaml.running).toBe(true);
      vi.advanceTimersByTime(999);
      expect(yaml.running).toBe(true);
      vi.advanceTimersByTime(1);
      expect(yaml.running).toBe(false);
      expect(await yaml.parse('c: [1]')).toMatchObject({ ok: true, data: { c: [1] } });
      expect(yaml.running).toBe(true);
    } finally {
      vi.useRealTimers();
      await yaml.close();
    }
  });
});

describe("the parser's words are said for the person who edits the file (the README helper session F4)", () => {
  const problems = (text: string) => {
    const result = parseYaml(text);
    return result.ok ? [] : result.problems.map((p) => p.message);
  };
  it('two documents, a file nested beyond reason, an alias: what to do, not which library call to make', () => {
    expect(problems('a: 1\n---\nb: 2\n')).toEqual([
      'the file holds more than one YAML document (a second "---" or "..."): a runtime file is one document',
    ]);
    expect(problems(`a: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`)).toEqual([
      'nested too deeply: lists and maps inside each other far beyond what any runtime file holds',
    ]);
    expect(problems('a: &x 1\nb: *x\n')).toEqual(['YAML aliases are not allowed here (*x): write the value out']);
  });
});
