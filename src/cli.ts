import { EXIT } from './cli/exit-codes.js';
import { UsageError } from './settings.js';

interface Command {
  /** One line for the command list. */
  summary: string;
  /** Loaded on use, so `stratctl status` does not pay for the server's modules. */
  load: () => Promise<{ run: (argv: string[]) => Promise<number>; help: string }>;
}

// One entry per command; each module exports `run` and `help`.
const commands: Record<string, Command> = {
  serve: { summary: 'run the GraphQL API (and the embedded runner)', load: () => import('./cli/serve.js') },
  runner: { summary: 'run the strategy runner alone (beside serve --no-runner)', load: () => import('./cli/runner.js') },
  token: { summary: 'create, list or revoke named API tokens (scopes read, operate, admin)', load: () => import('./cli/token.js') },
  strategies: { summary: 'list the strategies (* marks the active one)', load: () => import('./cli/strategies.js') },
  status: { summary: 'show the active strategy and the config version', load: () => import('./cli/status.js') },
  activate: { summary: 'make a strategy the active one', load: () => import('./cli/activate.js') },
  config: { summary: 'show (get) or change (set key=value ...) the runtime config', load: () => import('./cli/config.js') },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length)) + 2;
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)} ${c.summary}`);
  return `Usage: stratctl <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun "stratctl <command> --help" for a command's options.\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) {
    process.stderr.write(`stratctl: unknown command "${name}"\n\n${usage()}`);
    return EXIT.usage;
  }
  const module = await command.load();
  try {
    return await module.run(rest);
  } catch (err) {
    const isUsage = err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    if (isUsage) {
      process.stderr.write(`stratctl ${name}: ${(err as Error).message}\n\n${module.help}`);
      return EXIT.usage;
    }
    process.stderr.write(`stratctl ${name}: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT.unexpected;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`stratctl: ${String(err)}\n`);
    process.exit(EXIT.unexpected);
  },
);
