import { EXIT } from './cli/exit-codes.js';
import { SERVE_HELP, serve } from './cli/serve.js';
import { UsageError } from './settings.js';

const HELP = `Usage: stratctl <command> [options]

Commands:
  serve        run the GraphQL API (and the embedded runner)

Run "stratctl <command> --help" for a command's options.
`;

const commands: Record<string, { run: (argv: string[]) => Promise<number>; help: string }> = {
  serve: { run: serve, help: SERVE_HELP },
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(HELP);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`stratctl: unknown command "${name}"\n\n${HELP}`);
    return EXIT.usage;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    const usage = err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    if (usage) {
      process.stderr.write(`stratctl ${name}: ${(err as Error).message}\n\n${command.help}`);
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
