import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EtcdAuthenticationFailedError, EtcdPermissionDeniedError, GRPCInvalidArgumentError } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { startFailure } from '../../src/cli/start-failures.js';
import { ControlPlaneError, resultData } from '../../src/client/http.js';
import { refusalBody } from '../../src/client/subscribe.js';
import { ConfigFileError, StoreRefusedError, StoreUnavailableError } from '../../src/config/errors.js';
import { LockHeldError } from '../../src/lock.js';
import { resolveLogSettings } from '../../src/log.js';
import { FeedError } from '../../src/runner/feed.js';
import { RuntimeDirInUseError, RuntimeDirNotWritableError } from '../../src/runtime-dir.js';
import { configLostWhileRunningError } from '../../src/store-etcd/config-judge.js';
import { UsageError } from '../../src/usage-error.js';
import { ROOT } from '../helpers/server.js';
import { stratctl } from '../helpers/stratctl.js';

const errno = (code: string, syscall: string) => Object.assign(new Error(`${syscall} ${code}`), { code, syscall });
const at = { host: '127.0.0.1', port: 8787, runtimeDir: '/srv/runtime' };

describe('serve: why a start failed -> exit code (one table)', () => {
  it.each([
    ['a usage error', new UsageError('--port: bad'), EXIT.usage, /--port: bad/],
    ['a feed that cannot be read', new FeedError('no such file'), EXIT.usage, /cannot open the feed: no such file/],
    [
      'an invalid config.yaml',
      new ConfigFileError('/srv/runtime/config.yaml', [{ line: 2, column: 22, message: 'Invalid strategy key: golden' }]),
      EXIT.config,
      /\/srv\/runtime\/config\.yaml is invalid: line 2, column 22: Invalid strategy key: golden\. golden is neither a static strategy nor a preset in \/srv\/runtime\/strategies\.yaml: .*name another strategy here\. The file was left as it is/,
    ],
    [
      "an invalid strategies.yaml: moving it away means no presets, not the audit trail's last config",
      new ConfigFileError(
        '/srv/runtime/strategies.yaml',
        [{ line: 3, column: 5, message: 'presets.gold_fast.name: must be text' }],
        'presets',
      ),
      EXIT.config,
      /^cannot start: \/srv\/runtime\/strategies\.yaml is invalid: line 3, column 5: presets\.gold_fast\.name: must be text\. The file was left as it is: fix it and start again \(moved away, it means no presets: the static strategies only, and a config that uses one of its presets is then refused in turn\)\.$/,
    ],
    [
      'a live holder of the runtime dir',
      new RuntimeDirInUseError('/srv/runtime', new LockHeldError('/srv/runtime/.lock', 4242, 'box'), 'serve'),
      EXIT.runtimeDirInUse,
      /process 4242 on box holds \/srv\/runtime\/\.lock/,
    ],
    ['a runtime dir that cannot be written', new RuntimeDirNotWritableError('/srv/runtime', 'EROFS'), EXIT.runtimeDirNotWritable, /EROFS/],
    ['a write refused under the runtime dir', errno('EACCES', 'open'), EXIT.runtimeDirNotWritable, /not writable/],
    ['a host that does not resolve', errno('ENOTFOUND', 'getaddrinfo'), EXIT.usage, /--host 127\.0\.0\.1 does not resolve/],
    [
      'an address this machine does not have',
      errno('EADDRNOTAVAIL', 'listen'),
      EXIT.usage,
      /--host 127\.0\.0\.1 is not an address of this machine/,
    ],
    ['the port in use', errno('EADDRINUSE', 'listen'), EXIT.portInUse, /127\.0\.0\.1:8787 is already in use/],
    ['a port this user may not bind', errno('EACCES', 'listen'), EXIT.unexpected, /listen EACCES/],
    [
      // As the etcd gateway reports them (EtcdGateway.unavailable): the store says it was refused access.
      'etcd refusing the user or password (a setting, not "try again")',
      new StoreUnavailableError(2, {
        cause: new EtcdAuthenticationFailedError('etcdserver: authentication failed, invalid user ID or password'),
        accessRefused: true,
        detail: 'read state on etcd://h:2379/scp/ failed (etcdserver: authentication failed, invalid user ID or password)',
      }),
      EXIT.usage,
      /cannot start: etcd refused the request \(read state on etcd:\/\/h:2379\/scp\/ failed .*authentication failed.*\); check CONTROL_PLANE_ETCD_USER \/ CONTROL_PLANE_ETCD_PASSWORD \(without them, an etcd run with --client-cert-auth takes the user from the CN of --etcd-cert\)/,
    ],
    [
      "etcd refusing the user's rights on the prefix",
      new StoreUnavailableError(2, {
        cause: new EtcdPermissionDeniedError('etcdserver: permission denied'),
        accessRefused: true,
        detail: 'read state on etcd://h:2379/scp/ failed (etcdserver: permission denied)',
      }),
      EXIT.usage,
      /permission denied\)\); check .* role on the store's prefix/,
    ],
    [
      'etcd refusing a call as invalid (not anticipated: 1, with its stack)',
      new StoreRefusedError('commit on etcd://h:2379/scp/: duplicate key given in txn request', {
        cause: new GRPCInvalidArgumentError('3 INVALID_ARGUMENT: etcdserver: duplicate key given in txn request'),
      }),
      EXIT.unexpected,
      /cannot start: etcd refused the request \(commit .*duplicate key given in txn request\); a retry would be refused the same way/,
    ],
    [
      'an empty etcd prefix that other processes run on (etcd lost its data): its own way out, not the generic "put a valid value back"',
      configLostWhileRunningError('etcd://h:2379/scp/config', { replicas: ['host-a:1:aaaa'], runners: ['r1', 'r2'] }),
      EXIT.config,
      /^cannot start: etcd:\/\/h:2379\/scp\/config is invalid: the key is missing and so is its audit trail, while API replica host-a:1:aaaa and runners r1, r2 run on this prefix: .*make one change through a running API replica .*\(to begin afresh, stop it first\)\.$/,
    ],
    ['anything else', new Error('surprise'), EXIT.unexpected, /cannot start: surprise/],
  ])('%s', (_what, err, code, message) => {
    const failure = startFailure(err, at);
    expect(failure.code).toBe(code);
    expect(failure.message).toMatch(message);
    expect(failure.unexpected).toBe(code === EXIT.unexpected);
  });
});

describe('log settings', () => {
  it('text on a terminal, json otherwise; flags win over the environment; a bad value is a usage error', () => {
    expect(resolveLogSettings({}, {}, true)).toEqual({ format: 'text', level: 'info' });
    expect(resolveLogSettings({}, {}, false)).toEqual({ format: 'json', level: 'info' });
    expect(resolveLogSettings({}, { CONTROL_PLANE_LOG_FORMAT: 'text', CONTROL_PLANE_LOG_LEVEL: 'DEBUG' }, false)).toEqual({
      format: 'text',
      level: 'debug',
    });
    expect(resolveLogSettings({ 'log-format': 'json' }, { CONTROL_PLANE_LOG_FORMAT: 'text' }, true).format).toBe('json');
    expect(() => resolveLogSettings({ 'log-level': 'loud' }, {}, true)).toThrow(UsageError);
    expect(() => resolveLogSettings({}, { CONTROL_PLANE_LOG_FORMAT: 'xml' }, true)).toThrow(
      /CONTROL_PLANE_LOG_FORMAT must be one of text, json/,
    );
  });
});

describe('stratctl: help, version, usage errors, completion (in-process)', () => {
  it('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(await stratctl(['--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('--help lists every command; <command> --help shows its usage; `help <command>` too', async () => {
    const top = await stratctl(['--help']);
    expect(top.code).toBe(0);
    for (const c of ['serve', 'runner', 'token', 'strategies', 'status', 'activate', 'config', 'completion'])
      expect(top.stdout).toMatch(new RegExp(`^ {2}${c} `, 'm'));
    for (const c of ['serve', 'runner', 'status', 'activate', 'strategies', 'token create', 'config set']) {
      const help = await stratctl([...c.split(' '), '--help']);
      expect(help.code, c).toBe(0);
      expect(help.stdout).toContain(`Usage: stratctl ${c}`);
    }
    expect((await stratctl(['serve', '--help'])).stdout).toMatch(/--log-format <format>[\s\S]*CONTROL_PLANE_LOG_FORMAT/);
    const helpStatus = await stratctl(['help', 'status']);
    expect(helpStatus.stdout).toContain('Usage: stratctl status');
    // The help asked for is no error (it exited 2); a command that does not exist says so (it printed the general help).
    expect(helpStatus.code).toBe(0);
    expect(await stratctl(['help', 'nosuch'])).toEqual({
      code: 2,
      stdout: '',
      stderr: "stratctl: unknown command 'nosuch'\nsee stratctl --help\n",
    });
    const helpHelp = await stratctl(['help', 'help']);
    expect(helpHelp.code).toBe(0);
    expect(helpHelp.stdout).toContain('Usage: stratctl [options] [command]');
    // Deeper: the words name a subcommand (commander's help took one word and ignored the rest).
    expect(await stratctl(['help', 'config', 'nope'])).toEqual({
      code: 2,
      stdout: '',
      stderr: "stratctl config: unknown command 'nope'\nsee stratctl config --help\n",
    });
    const helpConfigGet = await stratctl(['help', 'config', 'get']);
    expect(helpConfigGet.code).toBe(0);
    expect(helpConfigGet.stdout).toContain('Usage: stratctl config get');
  });

  it('usage errors: one line saying what is wrong, one pointing at --help, exit 2', async () => {
    const cases: [string[], string][] = [
      [['status', '--colour'], "stratctl status: unknown option '--colour'"],
      [['activate'], "stratctl activate: missing required argument 'strategy-key'"],
      [['activate', 'gold', 'range'], "stratctl activate: too many arguments for 'activate'. Expected 1 argument but got 2."],
      [['token'], 'stratctl token: a command is required: create, list, rotate, revoke'],
      [['token', 'create', '--name', 'x'], "stratctl token create: required option '--scope <scope>' not specified"],
      [['config', 'get', '--wait'], 'stratctl config get: --wait goes with config set'],
      [['status', '--reconnect-timeout-ms', '5'], 'stratctl status: --reconnect-timeout-ms goes with --watch'],
      [['serve', '--log-format', 'xml'], 'stratctl serve: --log-format must be one of text, json, not "xml"'],
    ];
    for (const [args, line] of cases) {
      const result = await stratctl(args);
      const command = line.slice(0, line.indexOf(':'));
      expect(result, args.join(' ')).toEqual({ code: 2, stdout: '', stderr: `${line}\nsee ${command} --help\n` });
    }
    const typo = await stratctl(['statu']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toBe("stratctl: unknown command 'statu'\n(Did you mean status?)\nsee stratctl --help\n");
    const bare = await stratctl([]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('Usage: stratctl [options] [command]');
  });

  it("a command's flags may come before it (and before its group); one it does not have is refused in its name", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'scp-cli-lead-'));
    try {
      const created = await stratctl(['--runtime-dir', dir, 'token', 'create', '--name', 'lead-bot', '--scope', 'read']);
      expect(created.code, created.stderr).toBe(0);
      expect(readFileSync(path.join(dir, 'tokens.yaml'), 'utf8')).toContain('lead-bot');
      for (const args of [
        ['token', '--runtime-dir', dir, 'list', '--json'],
        ['--json', 'token', 'list', '--runtime-dir', dir],
        [`--runtime-dir=${dir}`, 'token', 'list', '--json'],
      ]) {
        const listed = await stratctl(args);
        expect(listed.code, args.join(' ')).toBe(0);
        expect(JSON.parse(listed.stdout).map((t: { name: string }) => t.name)).toEqual(['lead-bot']);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // A port nothing listens on: the command says which URL it could not reach.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    const url = (p: number) => `http://127.0.0.1:${p}/graphql`;
    const before = await stratctl(['--url', url(port), 'status']);
    expect(before.code).toBe(EXIT.unreachable);
    expect(before.stderr).toContain(`cannot reach ${url(port)}`);
    // Given before and after: counts once, as given after it (twice on one side is refused: below).
    const both = await stratctl(['--url', url(1), 'status', '--url', url(port)]);
    expect(both.code).toBe(EXIT.unreachable);
    expect(both.stderr).toContain(`cannot reach ${url(port)}`);
    for (const [args, line] of [
      [['--no-runner', 'status'], "stratctl status: unknown option '--no-runner'"],
      [['--last', '3', 'status'], "stratctl status: unknown option '--last'"],
      [['--wait', 'config', 'get'], 'stratctl config get: --wait goes with config set'],
      [['--bogus', 'status'], "stratctl: unknown option '--bogus'"],
    ] as const) {
      const result = await stratctl([...args]);
      const command = line.slice(0, line.indexOf(':'));
      expect(result, args.join(' ')).toEqual({ code: 2, stdout: '', stderr: `${line}\nsee ${command} --help\n` });
    }
    const json = await stratctl(['--json', 'serve']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toEqual({ error: { code: 'USAGE', message: "stratctl serve: unknown option '--json'" } });
    // No command at all: the help on stderr, and under --json the failure as one object on stdout too.
    for (const args of [['--json'], ['--url', url(port), '--json']]) {
      const none = await stratctl(args);
      expect(none.code, args.join(' ')).toBe(2);
      expect(JSON.parse(none.stdout)).toEqual({
        error: { code: 'USAGE', message: 'stratctl: a command is required (stratctl --help lists them)' },
      });
      expect(none.stderr).toContain('Usage: stratctl [options] [command]');
    }
    expect((await stratctl([])).stdout).toBe('');
    // The leading flags are not listed among the program's options (the help says they may come first);
    // `--version` after a command still prints the version.
    const help = (await stratctl(['--help'])).stdout;
    expect(help).not.toMatch(/^ +--url/m);
    expect(help).toContain("A command's flags may also come before it");
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(await stratctl(['status', '--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('a value flag given twice on one side of its command is refused (exit 2), nothing written or sent: the last silently won', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'scp-cli-twice-'));
    // Nothing listens on port 9: a command that went ahead would say "cannot reach" (exit 5), not exit 2.
    const url = 'http://127.0.0.1:9/graphql';
    try {
      for (const [args, line] of [
        [['token', 'create', '--name', 'n', '--scope', 'read', '--scope', 'admin', '--runtime-dir', dir], 'stratctl token create: --scope'],
        [
          ['token', 'create', '--name', 'n', '--scope', 'read', '--expires-in', '1d', '--expires-in', '3650d', '--runtime-dir', dir],
          'stratctl token create: --expires-in',
        ],
        [
          ['token', 'create', '--name', 'n', '--scope', 'read', `--runtime-dir=${dir}`, '--runtime-dir', dir],
          'stratctl token create: --runtime-dir',
        ],
        [['--runtime-dir', dir, '--runtime-dir', dir, 'token', 'create', '--name', 'n', '--scope', 'read'], 'stratctl: --runtime-dir'],
        // Before the command at two levels (the top, then after the group's name) is twice too.
        [['--scope', 'read', 'token', '--scope', 'admin', 'create', '--name', 'n', '--runtime-dir', dir], 'stratctl token: --scope'],
        [
          ['--runtime-dir', dir, 'token', '--runtime-dir', dir, 'create', '--name', 'n', '--scope', 'read'],
          'stratctl token: --runtime-dir',
        ],
        [['status', '--url', url, '--url', url], 'stratctl status: --url'],
        [
          ['activate', 'gold', '--token', 'a-token-0123456789', '--token', 'b-token-0123456789', '--url', url],
          'stratctl activate: --token',
        ],
        [['activate', 'gold', '--if-version', '1', '--if-version', '2', '--url', url], 'stratctl activate: --if-version'],
      ] as const) {
        const result = await stratctl([...args]);
        const command = line.slice(0, line.indexOf(':'));
        expect(result, args.join(' ')).toEqual({
          code: 2,
          stdout: '',
          stderr: `${line} is given twice: give it once (the last one would have won, unsaid)\nsee ${command} --help\n`,
        });
      }
      expect(existsSync(path.join(dir, 'tokens.yaml'))).toBe(false);
      // The values are never echoed (one may be a token); under --json the failure is the one object on stdout.
      const json = await stratctl(['activate', 'gold', '--json', '--token', 'a-token-0123456789', '--token', 'b-token-0123456789']);
      expect(json.code).toBe(2);
      expect(JSON.parse(json.stdout)).toEqual({
        error: { code: 'USAGE', message: 'stratctl activate: --token is given twice: give it once (the last one would have won, unsaid)' },
      });
      expect(json.stdout + json.stderr).not.toContain('-token-0123456789');
      // A flag that takes no value given twice says the same twice: accepted.
      const listed = await stratctl(['token', 'list', '--json', '--json', '--runtime-dir', dir]);
      expect(listed.code, listed.stderr).toBe(0);
      expect(JSON.parse(listed.stdout)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('each flag says its own things: the etcd user beside the etcd credentials (not --audit-keep); --behind-tls-proxy what the limits key on', async () => {
    /** The help entry of `flag`: its line and the lines it wraps onto, as one line. */
    const entry = (help: string, flag: string) => {
      const lines = help.split('\n');
      const first = lines.findIndex((l) => l.startsWith(`  ${flag} `));
      expect(first, flag).toBeGreaterThanOrEqual(0);
      const more = lines.slice(first + 1).findIndex((l) => !/^ {4,}\S/.test(l));
      return lines
        .slice(first, first + 1 + more)
        .map((l) => l.trim())
        .join(' ');
    };
    const etcdUser = 'etcd user: CONTROL_PLANE_ETCD_USER / CONTROL_PLANE_ETCD_PASSWORD';
    for (const command of ['serve', 'runner', 'token create']) {
      const help = (await stratctl([...command.split(' '), '--help'])).stdout;
      expect(entry(help, '--etcd-key <pem>'), command).toContain(etcdUser);
      // Said once, where it belongs.
      expect(help.replace(/\s+/g, ' ').split(etcdUser).length, command).toBe(2);
      if (command !== 'token create') expect(entry(help, '--audit-keep <n>'), command).not.toContain('CONTROL_PLANE_ETCD_USER');
    }
    const proxy = entry((await stratctl(['serve', '--help'])).stdout, '--behind-tls-proxy');
    expect(proxy).toContain('no warning for a non-loopback --host');
    expect(proxy).toContain('the rate limits and the failed-auth limit key on the client address it forwards (X-Forwarded-For)');
    expect(proxy).toContain('CONTROL_PLANE_BEHIND_TLS_PROXY=1');
  });

  it('completion bash: a script bash completes commands, subcommands, flags and flag values with', async () => {
    const { code, stdout: script } = await stratctl(['completion', 'bash']);
    expect(code).toBe(0);
    const complete = (line: string) => {
      const words = line.split(' ');
      const probe = `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _stratctl; echo "\${COMPREPLY[*]}"`;
      return execFileSync('bash', ['-c', probe], { encoding: 'utf8' }).trim();
    };
    expect(complete('stratctl st')).toBe('store strategies status');
    expect(complete('stratctl store ')).toBe('migrate');
    expect(complete('stratctl token ')).toBe('create list rotate revoke');
    expect(complete('stratctl serve --log-f')).toBe('--log-format');
    expect(complete('stratctl serve --log-format ')).toBe('text json');
    expect(complete('stratctl config set --w')).toBe('--wait');
    expect(complete('stratctl audit --subject ')).toBe('config presets');
    expect(complete('stratctl completion ')).toBe('bash zsh');
    // A flag that takes a path (or any free value): nothing offered, so bash completes file names (-o default).
    expect(script).toMatch(/^complete -o default -F _stratctl stratctl$/m);
    for (const line of [
      'stratctl status --runtime-dir ',
      'stratctl --runtime-dir ',
      'stratctl serve --etcd-ca ',
      'stratctl runner --feed ',
    ])
      expect(complete(line), line).toBe('');
    // A flag's value is not read as a command: `--url status` leaves the root's commands to complete.
    expect(complete('stratctl --url status st')).toBe('store strategies status');
    expect((await stratctl(['completion', 'zsh'])).stdout).toMatch(/^autoload -U \+X bashcompinit && bashcompinit\n/);
    expect((await stratctl(['completion', 'fish'])).code).toBe(2);
  });

  it("completion bash: `npx stratctl <TAB>` (README's way) completes as stratctl does; anything else npx runs keeps its own completion", async () => {
    const { stdout: script } = await stratctl(['completion', 'bash']);
    /** What bash offers for `line` through npx's registered completion, after `before` (an npx completion of the user's) and the script. */
    const complete = (line: string, before = '') => {
      const words = line.split(' ');
      const probe = `${before}\n${script}\nspec=($(complete -p npx)); fn=\${spec[-2]}
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}
"$fn" npx '${words.at(-1)}' '${words.at(-2)}'; echo "\${COMPREPLY[*]}"`;
      return execFileSync('bash', ['-c', probe], { encoding: 'utf8' }).trim();
    };
    expect(complete('npx stratctl st')).toBe('store strategies status');
    expect(complete('npx stratctl activate --')).toBe('--if-version --wait --timeout-ms --url --token --runtime-dir --json --help');
    expect(complete('npx stratctl serve --log-format ')).toBe('text json');
    // Another package: nothing offered, so bash completes file names (-o default).
    expect(complete('npx eslint ')).toBe('');
    // An npx completion there before is chained to, not replaced; sourcing the script again keeps it.
    const mine = '_my_npx() { COMPREPLY=("mine:$2"); }; complete -F _my_npx npx';
    expect(complete('npx eslint --fi', mine)).toBe('mine:--fi');
    expect(complete('npx stratctl st', mine)).toBe('store strategies status');
    expect(complete('npx eslint --fi', `${mine}\n${script}`)).toBe('mine:--fi');
    // zsh: its own function for npx (words shifted, then _normal), chained to the one there before.
    const zsh = (await stratctl(['completion', 'zsh'])).stdout;
    expect(zsh).toMatch(/^compdef _stratctl_npx npx$/m);
    expect(zsh).not.toContain('complete -o default -F _stratctl_npx npx');
  });
});

describe('stratctl: a 401 or 403 is authentication or scope (exit 3), whatever its body', () => {
  it.each([
    [401, 'Authentication required', 'UNAUTHENTICATED'],
    [403, 'Forbidden', 'FORBIDDEN'],
  ])('HTTP %i with a page that is not GraphQL JSON (a proxy in front)', (status, message, code) => {
    const error = (() => {
      try {
        resultData('http://cp.example/graphql', status, '<html>no</html>');
      } catch (err) {
        return err as ControlPlaneError;
      }
    })();
    expect(error).toBeInstanceOf(ControlPlaneError);
    expect({ kind: error?.kind, message: error?.message, code: error?.code }).toEqual({ kind: 'auth', message, code });
  });

  it("a refused event stream's error is its first `next` event's data", () => {
    const body = ':\n\nevent: next\ndata: {"errors":[{"message":"Authentication required"}]}\n\nevent: complete\ndata:\n\n';
    expect(refusalBody('text/event-stream; charset=utf-8', body)).toBe('{"errors":[{"message":"Authentication required"}]}');
    expect(refusalBody('application/json', '{"errors":[]}')).toBe('{"errors":[]}');
  });
});
