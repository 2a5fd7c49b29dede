import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli/program.js';
import { ROOT } from './helpers/server.js';

const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') || e.name.endsWith('.js') ? [path.join(dir, e.name)] : [],
  );
}

describe('every setting the code reads is in the README', () => {
  it('environment variables: every one read in src/, bin/ and the test helpers', () => {
    const read = new Set<string>();
    for (const file of [...files(path.join(ROOT, 'src')), ...files(path.join(ROOT, 'bin')), ...files(path.join(ROOT, 'test'))]) {
      const text = readFileSync(file, 'utf8');
      // `env.X`, `process.env.X`, and the names handed to a resolver as strings (`'CONTROL_PLANE_LOG_LEVEL'`).
      for (const m of text.matchAll(/\benv\.([A-Z][A-Z0-9_]+)/g)) read.add(m[1] as string);
      for (const m of text.matchAll(/'(CONTROL_PLANE_[A-Z0-9_]+)'/g)) read.add(m[1] as string);
    }
    expect(read.size).toBeGreaterThanOrEqual(14);
    expect([...read].filter((name) => !README.includes(name)).sort()).toEqual([]);
  });

  it('flags: every long option of every stratctl command', () => {
    const flags = new Set<string>();
    const walk = (command: Command) => {
      for (const option of command.options) if (option.long && !option.hidden) flags.add(option.long);
      command.commands.forEach(walk);
    };
    walk(buildProgram(async () => {}));
    expect(flags.size).toBeGreaterThanOrEqual(20);
    expect([...flags].filter((flag) => !new RegExp(`${flag}\\b`).test(README)).sort()).toEqual([]);
  });

  it("serve --help names every environment variable of README's Settings table (README: it lists the same)", () => {
    const table = README.slice(README.indexOf('## Settings'), README.indexOf('**Stopping.**'));
    const variables = [...new Set(table.match(/CONTROL_PLANE_[A-Z0-9_]+/g) ?? [])];
    expect(variables.length).toBeGreaterThanOrEqual(14);
    const serve = buildProgram(async () => {}).commands.find((c) => c.name() === 'serve');
    let help = '';
    serve?.configureOutput({ writeOut: (text) => (help += text) }).outputHelp();
    expect(variables.filter((name) => !help.includes(name)).sort()).toEqual([]);
  });
});
