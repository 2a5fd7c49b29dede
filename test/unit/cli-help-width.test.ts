import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';

/** runCli's help width (configureHelp({ helpWidth: 100 })): commander re-wraps any longer description line. */
const HELP_WIDTH = 100;

describe('stratctl --help: descriptions are printed as written', () => {
  it('no description line is over the help width, so none is re-wrapped (an example split mid-command, a lone word on a line)', () => {
    const over: string[] = [];
    const walk = (command: Command, path: string) => {
      for (const line of command.description().split('\n')) if (line.length > HELP_WIDTH) over.push(`${path}: ${line}`);
      for (const sub of command.commands) walk(sub, `${path} ${sub.name()}`);
    };
    walk(
      buildProgram(async () => {}),
      'stratctl',
    );
    expect(over).toEqual([]);
  });

  it("a group's list of commands has one line per command (a summary), never a whole multi-line description", () => {
    const multiLine: string[] = [];
    const walk = (command: Command, path: string) => {
      for (const sub of command.commands) {
        if ((sub.summary() || sub.description()).includes('\n')) multiLine.push(`${path} ${sub.name()}`);
        walk(sub, `${path} ${sub.name()}`);
      }
    };
    walk(
      buildProgram(async () => {}),
      'stratctl',
    );
    expect(multiLine).toEqual([]);
  });
});
