import { Command, Option } from 'commander';
import { LIMIT_SETTINGS } from '../limit-settings.js';
import { UsageError } from '../usage-error.js';
import { PACKAGE_VERSION } from '../version.js';
import type { CommandContext } from './io.js';

/**
 * The stratctl command tree (commander): names, arguments, flags and help. Only this and commander
 * load up front; each command's code is imported when it runs, so `stratctl status` never loads the
 * server (yoga, Pothos) and `--help` loads nothing else at all.
 */

/** A command's flags as given on the command line, by their long names (`runtime-dir`, `no-runner`). */
export type Flags = Record<string, string | boolean | undefined>;

/** What an action gets: its flags, its positional arguments, the io; it returns the exit code. */
export type Action = (flags: Flags, args: string[], ctx: CommandContext, command: Command) => Promise<number>;

const CLIENT_HELP = `
Connection (flags win over environment variables):
  --url         CONTROL_PLANE_URL (http://127.0.0.1:8787/graphql)
  --token       CONTROL_PLANE_TOKEN, else <runtime-dir>/admin.token
  --runtime-dir CONTROL_PLANE_RUNTIME_DIR (./runtime)
A token you give (--token, CONTROL_PLANE_TOKEN) goes with every request, reads too; the
<runtime-dir>/admin.token goes with changes (and with reads where the server answers 401 without
one), and only to a loopback URL (localhost, 127.0.0.0/8, [::1]).

Exit codes: 0 ok, 1 unexpected, 2 invalid input or usage, 3 authentication or scope,
4 version conflict, 5 server unreachable, 6 --wait timed out, 7 try again later (rate limited,
config store unavailable).`;

export { PACKAGE_VERSION };

function clientOptions(command: Command): Command {
  return command
    .option('--url <url>', 'GraphQL endpoint')
    .option('--token <token>', 'bearer token')
    .option('--runtime-dir <dir>', 'where admin.token is')
    .option('--json', 'machine-readable output on stdout')
    .addHelpText('after', CLIENT_HELP);
}

function ifVersionOption(command: Command): Command {
  return command.option('--if-version <n>', 'refuse (exit 4) unless the config is still at version n');
}

function waitOptions(command: Command): Command {
  return command
    .option('--wait', 'answer once the runner has applied the change (exit 6 if it has not in time)')
    .option('--timeout-ms <ms>', 'how long --wait waits, 1 to 300000 (default 10000)');
}

function logOptions(command: Command): Command {
  return command
    .option('--log-format <format>', 'text | json   CONTROL_PLANE_LOG_FORMAT (text on a terminal, else json)')
    .option('--log-level <level>', 'trace | debug | info | warn | error | fatal | silent   CONTROL_PLANE_LOG_LEVEL (info)');
}

function runnerOptions(command: Command): Command {
  return command
    .option(
      '--feed <spec>',
      'market data: sim, sim:<seed> (seeded random walk), or csv:<file> (replay time,instrument,open,high,low,close[,volume][,spread])   CONTROL_PLANE_FEED (sim)',
    )
    .option('--heartbeat-ms <n>', 'runner heartbeat; STALE after 3 missed   CONTROL_PLANE_RUNNER_HEARTBEAT_MS (2000)');
}

/**
 * Where config, audit trail, tokens and runner states live (serve, runner, token). `--audit-keep`
 * for the stores the command writes the audit trail of: serve both (`file`), a runner etcd's only
 * (it audits hand edits there, not in audit.log), token neither (`none`: accepted unlisted, to be
 * refused in its name rather than ignored).
 */
function storeOptions(command: Command, { runs = false, audits }: { runs?: boolean; audits: 'file' | 'etcd' | 'none' }): Command {
  const etcdUser = 'etcd user: CONTROL_PLANE_ETCD_USER / CONTROL_PLANE_ETCD_PASSWORD';
  command
    .option('--store <store>', 'file, or etcd://host:port[,host:port...]/<prefix>   CONTROL_PLANE_STORE (file)')
    .option('--etcd-ca <pem>', "CA of the etcd members' certificates (turns TLS on)")
    .option('--etcd-cert <pem>', 'client certificate for etcd, with --etcd-key')
    .option(
      '--etcd-key <pem>',
      `${
        runs
          ? 'its key; the three files renewed in place are taken without a restart   CONTROL_PLANE_ETCD_TLS_RELOAD_MS (5000 ms between looks; 0: never)'
          : 'its key'
      }; ${etcdUser}`,
    );
  if (audits === 'none') return command.addOption(new Option('--audit-keep <n>').hideHelp());
  return command.option(
    '--audit-keep <n>',
    `audit entries kept per subject in etcd (10000)${
      audits === 'file' ? ", or in the file store's audit.log (all; older ones moved to audit.log.old)" : '; refused on the file store'
    }`,
  );
}

/** Every limit of DESIGN "Limits and hostile input" (src/limit-settings.ts), each with its environment variable and default. */
function limitOptions(command: Command): Command {
  for (const limit of LIMIT_SETTINGS) command.option(`--${limit.flag} <n>`, `${limit.describe}   ${limit.env} (${limit.defaultValue})`);
  return command;
}

/** The flags given on the command line (not defaults), under their long names, as the commands' settings resolvers take them. */
function givenFlags(command: Command): Flags {
  const flags: Flags = {};
  for (const option of command.options) {
    const key = option.attributeName();
    if (command.getOptionValueSource(key) !== 'cli' || !option.long) continue;
    flags[option.long.slice(2)] = option.negate ? true : (command.getOptionValue(key) as string | boolean);
  }
  return flags;
}

/** The flags of the commands under a group (their long names, as they are written), minus any two commands write differently. */
function descendantFlags(group: Command): Option[] {
  const byName = new Map<string, Option | null>();
  const visit = (command: Command) => {
    for (const sub of command.commands) {
      for (const option of sub.options) {
        if (!option.long) continue;
        const seen = byName.get(option.long);
        if (seen === undefined) byName.set(option.long, option);
        // `--last <n>` and `--last` would parse the words after them differently: such a flag goes after its command only.
        else if (
          seen !== null &&
          (seen.required !== option.required || seen.optional !== option.optional || seen.variadic !== option.variadic)
        )
          byName.set(option.long, null);
      }
      visit(sub);
    }
  };
  visit(group);
  return [...byName.values()].filter((o): o is Option => o !== null);
}

/**
 * Lets a command's flags come before it (`stratctl --url U status`, `stratctl --runtime-dir D token
 * list`), as in git or kubectl. Each group (the program, `token`, ...) accepts, unlisted in its help,
 * every flag of the commands under it, and hands the ones given to the command named next, as if
 * written after it; a flag that command does not have is refused in its name (`requireKnownLeadingFlags`).
 */
function forwardLeadingFlags(group: Command): void {
  for (const option of descendantFlags(group)) {
    if (!group.options.some((o) => o.long === option.long)) group.addOption(new Option(option.flags).hideHelp());
  }
  group.hook('preSubcommand', (parent, sub) => {
    for (const option of parent.options) {
      const key = option.attributeName();
      if (!option.hidden || parent.getOptionValueSource(key) !== 'cli') continue;
      const own = sub.options.find((o) => o.long === option.long);
      // Written after the command too: that one wins, as the later of two for one flag does.
      if (own) sub.setOptionValueWithSource(own.attributeName(), parent.getOptionValue(key), 'cli');
    }
  });
  for (const sub of group.commands) if (sub.commands.length > 0) forwardLeadingFlags(sub);
}

/**
 * A flag that takes a value, given twice where it is written (both before its command, or both
 * after it), is refused (exit 2), as `config set` refuses a key given twice: commander kept the last,
 * so `token create --scope read $EXTRA` with EXTRA="--scope admin" made an admin token, and two
 * `--expires-in` kept the longer, unsaid. In a script it is nearly always two variables. Given once
 * before and once after its command, it still counts once, as given after it (forwardLeadingFlags:
 * the two are separate options, each seen once). Before the command means anywhere before it: at the
 * top and again after a group's name (`stratctl --scope read token --scope admin create`) is twice,
 * though each group holds its own copy of the flag, so the groups share what they saw (`leading`).
 * The value is never echoed (it may be a token).
 */
function refuseRepeatedValueFlags(command: Command, leading = new Set<string>()): void {
  const group = command.commands.length > 0;
  for (const option of command.options) {
    if (!(option.required || option.optional) || !option.long) continue;
    const long = option.long;
    let given = false;
    command.on(`option:${option.name()}`, () => {
      if (group ? leading.has(long) : given)
        throw new UsageError(`${long} is given twice: give it once (the last one would have won, unsaid)`);
      if (group) leading.add(long);
      else given = true;
    });
  }
  for (const sub of command.commands) refuseRepeatedValueFlags(sub, leading);
}

/** `stratctl status --version` prints the version too, as it did while the program read its flags anywhere (unlisted: `stratctl --version` is the documented one). */
function versionEverywhere(group: Command): void {
  for (const sub of group.commands) {
    if (sub.commands.length > 0) versionEverywhere(sub);
    else {
      sub.version(PACKAGE_VERSION, '-V, --version');
      sub.options.find((o) => o.long === '--version')?.hideHelp();
    }
  }
}

/** A flag given before a command that does not have it: refused as if it had been written after it. */
function requireKnownLeadingFlags(command: Command): void {
  for (let group = command.parent; group; group = group.parent) {
    for (const option of group.options) {
      if (!option.hidden || group.getOptionValueSource(option.attributeName()) !== 'cli') continue;
      if (!command.options.some((o) => o.long === option.long)) throw new UsageError(`unknown option '${option.long}'`);
    }
  }
}

/** Builds the command tree; `run` is called with the chosen command's action, flags and arguments. */
export function buildProgram(run: (command: Command, load: () => Promise<Action>, flags: Flags, args: string[]) => Promise<void>): Command {
  const action = (load: () => Promise<Action>) =>
    async function (this: Command) {
      requireKnownLeadingFlags(this);
      await run(this, load, givenFlags(this), this.args);
    };

  const program = new Command('stratctl')
    .description('Operate the strategy control plane: its GraphQL API (serve), its runner, and the running system.')
    .version(PACKAGE_VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'this help')
    .showSuggestionAfterError(true)
    // A group's flags are read before the command it names, that command's after it (forwardLeadingFlags).
    .enablePositionalOptions()
    .addHelpText('after', "\nA command's flags may also come before it: stratctl --url http://host:8787/graphql status");

  const serve = logOptions(
    runnerOptions(
      storeOptions(
        program
          .command('serve')
          .summary('run the GraphQL API (and the embedded runner)')
          .description('Runs the GraphQL API (http://127.0.0.1:8787/graphql by default) with the runner embedded.')
          .option('--host <addr>', 'bind address   CONTROL_PLANE_HOST (127.0.0.1)')
          .option('--port <n>', 'port, 0 for any free   CONTROL_PLANE_PORT (8787)')
          .option('--runtime-dir <dir>', 'config and token dir   CONTROL_PLANE_RUNTIME_DIR (./runtime)')
          .option('--no-runner', 'API only   CONTROL_PLANE_RUNNER=off'),
        { runs: true, audits: 'file' },
      ),
    )
      .option('--production', 'no introspection, field suggestions or GraphiQL   NODE_ENV=production')
      .option('--reads-require-token', 'queries need a token too   CONTROL_PLANE_READS_REQUIRE_TOKEN=1')
      .option(
        '--auth-failures-per-minute <n>',
        'wrong tokens per client per minute; more are refused (429), never a valid token or none   CONTROL_PLANE_AUTH_FAILURES_PER_MINUTE (10)',
      )
      .option(
        '--behind-tls-proxy',
        'a TLS proxy is in front: no warning for a non-loopback --host; the rate limits and the failed-auth limit key on the client address it forwards (X-Forwarded-For)   CONTROL_PLANE_BEHIND_TLS_PROXY=1',
      ),
  );
  limitOptions(serve)
    .addHelpText(
      'after',
      `
The admin token is CONTROL_PLANE_TOKEN, or <runtime-dir>/admin.token (generated on first start).
Named tokens with scopes: <runtime-dir>/tokens.yaml (stratctl token --help), re-read on change.
Every accepted change is appended to <runtime-dir>/audit.log before it is answered.
SIGTERM, SIGINT or SIGHUP: in-flight requests finish (at most 10 s), then it exits 0.

Exit codes: 0 stopped cleanly, 1 unexpected, 2 bad usage, 73 runtime dir not writable,
75 runtime dir in use by another process (named), 78 config.yaml or strategies.yaml is invalid
(the file is left as it is), 98 port in use.`,
    )
    .action(action(async () => (await import('./serve.js')).serve));

  logOptions(
    runnerOptions(
      storeOptions(
        program
          .command('runner')
          .summary('run the strategy runner alone (beside serve --no-runner)')
          .description(
            'Runs the strategy runner on its own, beside an API started with "stratctl serve --no-runner".\n' +
              'The two share only the runtime directory: the runner follows config.yaml and publishes its state\n' +
              'to runner-state.json, which the API reports as status.runner.',
          )
          .option('--runtime-dir <dir>', 'config and state dir   CONTROL_PLANE_RUNTIME_DIR (./runtime)')
          .option('--runner-id <id>', "this runner's name in the fleet (default <host>:<pid>)")
          .option('--instruments <list>', "scan only these of the active strategy's instruments, e.g. EUR_USD,XAU_USD"),
        { runs: true, audits: 'etcd' },
      ),
    ),
  )
    .addHelpText(
      'after',
      `
An invalid config.yaml does not stop it: it reports the problem (status.runner.error) and starts
as soon as the file is fixed. Exit codes: 0 stopped cleanly (SIGTERM, SIGINT or SIGHUP: a stop,
not a reload), 1 unexpected, 2 bad usage or feed, 73 runtime dir not writable, 75 another runner
holds the runtime dir (named).`,
    )
    .action(action(async () => (await import('./runner.js')).runner));

  const token = program
    .command('token')
    .summary('create, list, rotate or revoke named API tokens (scopes read, operate, admin)')
    .description(
      'Named API tokens live in <runtime-dir>/tokens.yaml as SHA-256 digests (never the token). The server\n' +
        're-reads the file when it changes: no restart. Scopes: read (queries), operate (activateStrategy;\n' +
        "implies read), admin (updateConfig, rollbackConfig; implies both). A token's name is its actor in\n" +
        'the audit trail: "token rotate <name>" gives it a new secret, keeping its name and scope.',
    );
  const tokenLoad = async () => (await import('./token.js')).token;
  const runtimeDirOption = (command: Command) =>
    storeOptions(
      command.option('--runtime-dir <dir>', 'CONTROL_PLANE_RUNTIME_DIR (./runtime)').option('--json', 'machine-readable output on stdout'),
      { audits: 'none' },
    );
  runtimeDirOption(
    token
      .command('create')
      .description('create a token; prints it, once')
      .requiredOption('--name <name>', 'its name (a-z 0-9 . _ -)')
      .requiredOption('--scope <scope>', 'read | operate | admin')
      .option('--expires-in <duration>', 'refused after this long: 90d, 12h, 30m (default: never expires)')
      .option('--expires-at <time>', 'refused from this ISO 8601 time on, with its zone (2026-01-31T00:00:00Z)')
      .option('--no-expiry', 'never expires (the default; for scripts that always say which)'),
  ).action(action(tokenLoad));
  runtimeDirOption(token.command('list').description('names, scopes, creation and expiry times')).action(action(tokenLoad));
  runtimeDirOption(
    token
      .command('rotate')
      .summary('a new secret, same name and scope; prints it, once; the old one is refused from then on')
      .description(
        'a new secret, same name and scope; prints it, once; the old one is refused from then on. The new\n' +
          'secret gets the lifetime the old one was created with, counted from now (none if it had none),\n' +
          'unless --expires-in, --expires-at or --no-expiry says otherwise',
      )
      .argument('<name>', 'the token name')
      .option('--expires-in <duration>', 'refused after this long: 90d, 12h, 30m')
      .option('--expires-at <time>', 'refused from this ISO 8601 time on, with its zone')
      .option('--no-expiry', 'the new secret never expires, whatever the old one had'),
  ).action(action(tokenLoad));
  runtimeDirOption(token.command('revoke').description('refused from the next request on').argument('<name>', 'the token name')).action(
    action(tokenLoad),
  );

  const store = program
    .command('store')
    .summary('move a deployment between stores (file, etcd)')
    .description('Moves config, presets, tokens and the audit trail from one store to another.');
  store
    .command('migrate')
    .summary('copy config, presets, tokens and the audit trail from one store to another')
    .description(
      'Copies config, presets (strategies), tokens (hashed, as they are) and the audit trail from one\n' +
        'store to another, as stored: versions and digests stay, so history and rollback work the same\n' +
        'after the move. The source is checked and the target found empty before anything is written; a\n' +
        'runtime directory is locked meanwhile (stop its server first).\n' +
        'Stores: file (the --runtime-dir), file:<dir>, etcd://host:port[,...]/<prefix>.\n' +
        'e.g. stratctl store migrate --from file --to etcd://10.0.0.5:2379/trading',
    )
    .requiredOption('--from <store>', 'where the deployment is now')
    .requiredOption('--to <store>', 'where it goes')
    .option('--force', 'replace what the target holds (its config, presets, tokens and audit trail)')
    .option('--json', 'the report as one JSON object on stdout (a failure as {"error":{"code","message"}})')
    .option('--runtime-dir <dir>', 'the directory `file` means   CONTROL_PLANE_RUNTIME_DIR (./runtime)')
    .option('--etcd-ca <pem>', "CA of the etcd members' certificates (turns TLS on)")
    .option('--etcd-cert <pem>', 'client certificate for etcd, with --etcd-key')
    .option('--etcd-key <pem>', 'its key')
    .option('--from-etcd-ca <pem>', 'the same, for an etcd source only (over --etcd-ca)')
    .option('--from-etcd-cert <pem>', 'the same, for an etcd source only (over --etcd-cert)')
    .option('--from-etcd-key <pem>', 'the same, for an etcd source only (over --etcd-key)')
    .option('--to-etcd-ca <pem>', 'the same, for an etcd target only (a plain etcd to one over TLS)')
    .option('--to-etcd-cert <pem>', 'the same, for an etcd target only')
    .option('--to-etcd-key <pem>', 'the same, for an etcd target only')
    .option('--audit-keep <n>', 'audit entries per subject an etcd target keeps (10000): older ones are not copied')
    .addHelpText(
      'after',
      `
etcd user: CONTROL_PLANE_ETCD_USER / CONTROL_PLANE_ETCD_PASSWORD. Not moved: the admin token (each
host's CONTROL_PLANE_TOKEN or admin.token) and runner heartbeats.

Exit codes: 0 copied, 1 unexpected, 2 usage, an invalid source or a non-empty target (nothing written),
4 the target changed while it was written, 7 etcd unreachable (try again later), 73 the target
directory is not writable, 75 a runtime directory is in use by a running server or runner (named).`,
    )
    .action(action(async () => (await import('./store.js')).storeMigrate));

  clientOptions(
    program
      .command('strategies')
      .summary('list the strategies (* marks the active one)')
      .description(
        'Lists the strategies the system ships; * marks the active one. With a key: that strategy, with\n' +
          "its default tunables and the ones it runs with (defaults + the config's overrides).\nFilters (all given must match) go with the list.",
      )
      .argument('[key]', 'one strategy')
      .option('--instrument <name>', 'e.g. EUR_USD')
      .option('--risk-level <level>', 'low | medium | high')
      .option('--session <session>', 'any | london | ny | asia'),
  ).action(action(async () => (await import('./strategies.js')).strategies));

  clientOptions(
    program
      .command('status')
      .summary('show the active strategy and the config version')
      .description(
        'Shows the active strategy, the config version in force, any problem with the config file, and\n' +
          'what the runner has applied (its state, version, last scan, error).',
      )
      .option('--watch', 'then one line per change (config, runner), until Ctrl-C (exit 130); with --json, one JSON object per line')
      .option(
        '--reconnect-timeout-ms <ms>',
        'with --watch: how long to keep reconnecting when the server goes away before exiting 5 (default 60000; 0: exit at once)',
      ),
  ).action(action(async () => (await import('./status.js')).status));

  clientOptions(
    waitOptions(
      ifVersionOption(
        program
          .command('activate')
          .summary('make a strategy the active one')
          .description(
            'Makes a strategy the active one (needs a token with scope operate). The runner switches on its\n' +
              'next scan, without a restart. "stratctl strategies" lists the keys.',
          )
          .argument('<strategy-key>', 'e.g. gold'),
      ),
    ),
  ).action(action(async () => (await import('./activate.js')).activate));

  clientOptions(
    program
      .command('history')
      .summary('list the accepted config versions, newest first')
      .description(
        'Lists the accepted config versions, newest first (the last 100 are kept), with who made each change\n' +
          'and what it changed. "stratctl rollback <version>" re-applies one.',
      )
      .option('--last <n>', 'at most n versions, 1 to 100 (default 20)'),
  ).action(action(async () => (await import('./history.js')).history));

  clientOptions(
    program
      .command('audit')
      .summary('show the audit trail, newest first')
      .description('Shows the most recent audit entries, newest first: every accepted change, hand edits and recoveries.')
      .option('--last <n>', 'at most n entries, 1 to 800 (over 100 with a token: --token or CONTROL_PLANE_TOKEN; default 20)')
      .option('--subject <subject>', 'config | presets'),
  ).action(action(async () => (await import('./history.js')).audit));

  clientOptions(
    waitOptions(
      ifVersionOption(
        program
          .command('rollback')
          .summary("re-apply a past version's settings as a new version")
          .description(
            'Re-applies the settings of a past config version (see "stratctl history") as a new version,\n' +
              'validated and audited like any change (needs a token with scope admin). Rolling back to the\n' +
              'settings in force writes nothing.',
          )
          .argument('<version>', 'a version listed by stratctl history'),
      ),
    ),
  ).action(action(async () => (await import('./rollback.js')).rollback));

  const config = program
    .command('config')
    .summary('show (get) or change (set key=value ...) the runtime config')
    .description('Shows or changes the runtime config.');
  const hiddenSetOptions = (command: Command) => {
    // Given to `get`, these are refused with a message that says where they belong.
    for (const flag of ['--if-version <n>', '--wait', '--timeout-ms <ms>']) command.addOption(new Option(flag).hideHelp());
    return command;
  };
  clientOptions(
    hiddenSetOptions(
      config.command('get').description("prints the runtime config in force, in the file's snake_case (--json: as the API names it)"),
    ),
  ).action(action(async () => (await import('./config.js')).configGet));
  clientOptions(
    waitOptions(
      ifVersionOption(
        config
          .command('set')
          .summary('changes some settings in one validated write (needs a token with scope admin)')
          .description(
            'changes some settings in one validated write (needs a token with scope admin). Keys:\n' +
              '  active_strategy_key, trading_enabled, scan_interval_seconds,\n' +
              '  tunable_overrides.<strategy>.<tunable>\n' +
              'Values are YAML scalars (20, 0.5, true, gold); null removes an override.\n' +
              'e.g. stratctl config set scan_interval_seconds=15 tunable_overrides.momentum.lookback_bars=20',
          )
          .argument('<key=value...>', 'the settings to change'),
      ),
    ),
  ).action(action(async () => (await import('./config.js')).configSet));

  const preset = program
    .command('preset')
    .summary('list, add, change or delete presets (variants of the static strategies)')
    .description(
      'Presets live in <runtime-dir>/strategies.yaml: variants of the static strategies (the same signal\n' +
        'code, their own key, metadata and tunables), in force without a restart. Changing them needs a\n' +
        "token with scope admin; --if-version takes the preset set's version (preset list shows it).",
    );
  const presetLoad = (name: 'presetList' | 'presetSet' | 'presetDelete') => async () => (await import('./preset.js'))[name];
  clientOptions(preset.command('list').description('the presets in force (* marks the active one), as written')).action(
    action(presetLoad('presetList')),
  );
  clientOptions(
    preset
      .command('set')
      .summary('adds a preset or changes some of its fields, in one validated write')
      .description(
        'adds a preset or changes some of its fields, in one validated write. Keys (as in strategies.yaml):\n' +
          '  base, name, description, instruments, risk_level, session_preference, tunables.<tunable>\n' +
          'A new preset needs base and name. Values are YAML (8, 0.5, true, [XAU_USD]); null puts a field back\n' +
          "to the base's (or removes a tunable).\n" +
          "e.g. stratctl preset set gold_fast base=gold name='Gold (fast)' tunables.fast_ma_period=8",
      )
      .argument('<key>', 'the preset key (lower snake_case)')
      .argument('<key=value...>', 'the fields to set')
      .option('--if-version <n>', 'refuse (exit 4) unless the preset set is still at version n'),
  ).action(action(presetLoad('presetSet')));
  clientOptions(
    preset
      .command('delete')
      .description('deletes a preset; refused while the config uses it (active, or in tunable_overrides)')
      .argument('<key>', 'the preset key')
      .option('--if-version <n>', 'refuse (exit 4) unless the preset set is still at version n'),
  ).action(action(presetLoad('presetDelete')));

  program
    .command('completion')
    .summary('print a bash or zsh completion script')
    .description('Prints a completion script.\n  bash: source <(stratctl completion bash)\n  zsh:  source <(stratctl completion zsh)')
    .argument('[shell]', 'bash | zsh', 'bash')
    .action(action(async () => (await import('./completion.js')).completion));

  forwardLeadingFlags(program);
  versionEverywhere(program);
  refuseRepeatedValueFlags(program);
  return program;
}

/** A string flag's value, if it was given. */
export function stringFlag(flags: Flags, name: string): string | undefined {
  const value = flags[name];
  return typeof value === 'string' ? value : undefined;
}
