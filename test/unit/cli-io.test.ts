import { describe, expect, it } from 'vitest';
import { type CliIo, commandContext } from '../../src/cli/io.js';

const capture = () => {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: { write: (t: string) => out.push(t) },
    stderr: { write: (t: string) => err.push(t) },
    env: {},
    onStopSignal: () => () => {},
    exit: (code) => {
      throw new Error(`exit ${code}: no stop signal is sent here`);
    },
  };
  return { ctx: commandContext(io), out, err };
};

describe('stratctl writes what a server sent back without letting the terminal act on it', () => {
  it('escape sequences, carriage return, C1 and bidi controls are written as \\u escapes (a hand-edited key reached the terminal raw)', () => {
    const { ctx, out, err } = capture();
    ctx.print('problem: unknown key "gold\u0000\u001b[31mRED" \r\u009b2J \u202eevil');
    ctx.warn('\u0007bell');
    expect(out.join('')).toBe('problem: unknown key "gold\\u0000\\u001b[31mRED" \\u000d\\u009b2J \\u202eevil\n');
    expect(err.join('')).toBe('\\u0007bell\n');
  });

  it('text, tabs, newlines and any other Unicode pass as they are; JSON output stays valid JSON', () => {
    const { ctx, out } = capture();
    ctx.print('a\tb\nc — Gold Trend ✓ 日本');
    ctx.print(JSON.stringify({ message: 'x\u007fy\u0085' }));
    expect(out[0]).toBe('a\tb\nc — Gold Trend ✓ 日本\n');
    expect(JSON.parse(out[1]!)).toEqual({ message: 'x\u007fy\u0085' });
  });
});
