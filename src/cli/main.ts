import { type Command, CommanderError } from 'commander';
import { envSetting } from '../env-setting.js';
import { exitFlushMs } from '../log-exit.js';
import { UsageError } from '../usage-error.js';
import { EXIT } from './exit-codes.js';
import { type CliIo, commandContext, processIo } from './io.js';
import { printJsonError, wantsJson } from './json-output.js';
import { buildProgram } from './program.js';

/** `stratctl serve`, `stratctl token create`: the words that name a command. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Whether `serve` or `runner` would log in JSON (its --log-format, else CONTROL_PLANE_LOG_FORMAT,
 * else json off a terminal): its usage errors are then log lines too, so the one line that says why
 * the service does not start reaches a log shipper parsing the journal as JSON.
 */
function logsInJson(argv: readonly string[], io: CliIo): boolean {
  let flag: string | undefined;
  argv.forEach((arg, i) => {
    if (arg === '--log-format') flag = argv[i + 1];
    else if (arg.startsWith('--log-format=')) flag = arg.slice('--log-format='.length);
  });
  const format = (flag ?? envSetting(io.env, 'CONTROL_PLANE_LOG_FORMAT'))?.trim().toLowerCase();
  return format === undefined ? io.stderr.isTTY !== true : format === 'json';
}

/** One line saying what is wrong, one saying where to read more: never the whole help (under --json, also as JSON on stdout). */
function usageError(io: CliIo, command: Command, message: string, json: boolean, argv: readonly string[] = []): number {
  const path = commandPath(command);
  if (json) printJsonError(io, 'USAGE', `${path}: ${message}`);
  if (['stratctl serve', 'stratctl runner'].includes(path) && logsInJson(argv, io)) {
    io.stderr.write(
      `${JSON.stringify({ level: 60, time: Date.now(), exitCode: EXIT.usage, msg: `${path}: ${message} (see ${path} --help)` })}\n`,
    );
    return EXIT.usage;
  }
  io.stderr.write(`${path}: ${message}\nsee ${path} --help\n`);
  return EXIT.usage;
}

/**
 * Runs one stratctl command line (without `node` and the script) and resolves to its exit code.
 * Nothing here touches the process: output, environment and stop signals come through `io`, so
 * tests run commands in-process.
 */
export async function runCli(argv: readonly string[], ioOverrides: Partial<CliIo> = {}): Promise<number> {
  const io: CliIo = { ...processIo(), ...ioOverrides };
  // A stdout of the caller's own (tests) is written as given: the process's confirmed writes would go elsewhere.
  if (ioOverrides.stdout && !ioOverrides.writeConfirmed) io.writeConfirmed = undefined;
  if (ioOverrides.stdout && !ioOverrides.stdoutDiscarded) io.stdoutDiscarded = undefined;
  let exitCode: number = EXIT.ok;
  // Commander writes help to stderr when a group is called without its subcommand; held back, so a
  // group can answer with one line instead (the top level shows it: `stratctl` alone lists commands).
  let heldHelp = '';
  let failedIn: Command | undefined;
  const program = buildProgram(async (command, load, flags, args) => {
    failedIn = command;
    const action = await load();
    exitCode = await action(flags, args, commandContext(io), command);
  });
  // Every command writes through io, reports parse errors in our words, and never exits the process.
  const configure = (command: Command) => {
    command
      .exitOverride()
      .configureOutput({
        writeOut: (text) => io.stdout.write(text),
        writeErr: (text) => {
          heldHelp += text;
        },
        outputError: () => {}, // reported below, once, with the command's name
      })
      .configureHelp({ helpWidth: 100 });
    // Commander reports a parse error from the command it occurred in; remember which that was.
    if (command.commands.length > 0)
      command.hook('preSubcommand', (_parent, sub) => {
        failedIn = sub;
      });
    command.commands.forEach(configure);
  };
  configure(program);

  const json = wantsJson(argv);
  // `stratctl help config get`: commander's help takes one command name and ignored the rest, so
  // `help config nope` printed config's help, exit 0. The words are walked down the command tree.
  if (argv[0] === 'help' && argv.length > 2) {
    let at: Command = program;
    for (const name of argv.slice(1)) {
      const next = at.commands.find((c) => c.name() === name || c.aliases().includes(name));
      if (!next) return usageError(io, at, `unknown command '${name}'`, json);
      at = next;
    }
    io.stdout.write(at.helpInformation());
    return EXIT.ok;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (err) {
    const where = failedIn ?? program;
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.ok;
      if (err.code === 'commander.help') {
        // `stratctl help <command>`: the help asked for, written to stdout.
        if (err.exitCode === 0) return EXIT.ok;
        // `stratctl help <no such command>` printed the general help and exit 2 without saying why.
        if (where === program && argv[0] === 'help' && argv[1] === 'help') {
          io.stdout.write(program.helpInformation());
          return EXIT.ok;
        }
        if (where === program && argv[0] === 'help' && argv[1] !== undefined) {
          return usageError(io, program, `unknown command '${argv[1]}'`, json);
        }
        // A group called without its subcommand: `stratctl` shows its help, `stratctl token` says what is missing.
        if (where === program) {
          // Under --json a failure is one object on stdout, here too (`stratctl --json`).
          if (json) printJsonError(io, 'USAGE', 'stratctl: a command is required (stratctl --help lists them)');
          io.stderr.write(heldHelp);
        } else
          return usageError(
            io,
            where,
            `a command is required: ${where.commands
              .map((c) => c.name())
              .filter((n) => n !== 'help')
              .join(', ')}`,
            json,
          );
        return EXIT.usage;
      }
      return usageError(io, where, err.message.replace(/^error: /, ''), json, argv);
    }
    if (err instanceof UsageError) return usageError(io, where, err.message, json, argv);
    if (json) printJsonError(io, 'INTERNAL_ERROR', `${commandPath(where)}: unexpected error: ${(err as Error).message}`);
    io.stderr.write(`${commandPath(where)}: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT.unexpected;
  }
}

/**
 * Resolves once everything written to `stream` so far has gone out (or the stream failed), or after
 * `withinMs` if given: the stderr of serve and runner (log.ts exitFlushMs), whose reader may have
 * stalled. Waiting without a bound there kept a stopped server from ever exiting (SIGTERM, then
 * nothing: its log waited for a reader that never came back).
 */
const flushed = (stream: NodeJS.WriteStream, withinMs?: number) =>
  new Promise<void>((resolve) => {
    if (stream.writableLength === 0 || stream.destroyed) return resolve();
    stream.write('', () => resolve());
    if (withinMs !== undefined) setTimeout(resolve, withinMs).unref();
  });

/**
 * The process entry (dist/cli.js, bin/stratctl.js): runs the command line, then exits with its code
 * once its output has gone out. `process.exit` right after a large write dropped what a pipe had not
 * yet taken: `stratctl history --last 100 --json | jq` read 64 KiB of JSON, cut off, and stratctl
 * exited 0. A reader that goes away (EPIPE) is not a crash: the write is dropped, and a command that
 * runs until stopped (`status --watch | head -1`) hears it as a stop (processIo).
 */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<never> {
  // Any other write failure (a full disk, a closed stdout) fails the command: a script's
  // `stratctl status --json > state.json && ...` must not go on with an empty file. It is emitted on
  // a later tick than the write, often after the command has returned its code (it exited 0).
  let failed: NodeJS.ErrnoException | undefined;
  // grpc-js names an etcd member given by its IP as the TLS server name, and Node says once that RFC
  // 6066 does not allow that (DEP0123): a developer's notice, with a `node --trace-deprecation` hint,
  // in the middle of `stratctl token` or `store migrate` output. serve and runner log it (logProcessWarnings).
  const printers = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (warning: Error & { code?: string }) => {
    if (warning.code === 'DEP0123') return;
    for (const print of printers) print(warning);
  });
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') failed ??= err;
    });
  }
  const code = await runCli(argv);
  await Promise.all([flushed(process.stdout), flushed(process.stderr, exitFlushMs(process.stderr))]);
  await new Promise((resolve) => setImmediate(resolve));
  if (failed !== undefined && code === EXIT.ok) {
    if (!process.stderr.destroyed) process.stderr.write(`stratctl: the output could not be written (${failed.code ?? failed.message})\n`);
    process.exit(EXIT.unexpected);
  }
  process.exit(code);
}
