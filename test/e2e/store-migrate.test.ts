import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Range } from 'etcd3';
import { describe, expect, it, vi } from 'vitest';
import { createToken } from '../../src/auth/token-file.js';
import type { StoreSettings } from '../../src/store-settings.js';
import { describeWithEtcd, type EtcdCluster, freePort, makeTlsFiles, startEtcd } from '../helpers/etcd.js';
import { freshPrefix, keysUnder, rawClient } from '../helpers/etcd-stores.js';
import { ACTIVATE, UPSERT } from '../helpers/presets.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { spawnServer, spawnStratctl, startTestServer, TEST_TOKEN, type TestServer } from '../helpers/server.js';
import { stratctl } from '../helpers/stratctl.js';
import { waitUntil } from '../helpers/wait.js';

const STATE = `{
  status { activeStrategyKey configVersion configDigest presetsVersion strategiesError { message } }
  strategies { key source base }
  configHistory(last: 100) { version digest operation actor config { activeStrategyKey scanIntervalSeconds version } }
  auditLog(last: 100) { subject version digest operation }
}`;
const ROLLBACK = 'mutation($to: Int!) { rollbackConfig(toVersion: $to) { rolledBackTo config { activeStrategyKey version } } }';
const PRESETS_TEXT = '# presets, moved as text\nversion: 2\npresets:\n  gold_fast:\n    base: gold\n    name: Gold (fast)\n';

const etcdStore = (cluster: EtcdCluster, prefix: string): StoreSettings => ({ kind: 'etcd', url: cluster.url(prefix), tls: {} });

async function state(server: TestServer) {
  const res = await server.gql(STATE);
  expect(res.body.errors).toBeUndefined();
  return res.body.data as Record<string, any>;
}

/** A file deployment with some history: three changes, a named token, a presets file; its server stopped. */
async function fileDeployment() {
  const dir = await tempRuntimeDir();
  const server = await startTestServer({ runtimeDir: dir, runner: false });
  await server.gql('mutation { activateStrategy(strategyKey: "gold") { configVersion } }');
  await server.gql('mutation { updateConfig(input: { scanIntervalSeconds: 15 }) { config { version } } }');
  await server.gql('mutation { activateStrategy(strategyKey: "range") { configVersion } }');
  const token = await createToken(dir, 'ci-bot', 'operate');
  await writeFile(path.join(dir, 'strategies.yaml'), PRESETS_TEXT);
  await server.store.refresh(); // the hand-written presets are in force and audited (one PRESETS entry)
  const before = await state(server);
  await server.close();
  return { dir, token, before };
}

const files = async (dir: string) => (await readdir(dir)).filter((f) => !f.startsWith('.')).sort();

/** As a serve killed while a write had `name` taken away leaves it: the old file under its aside name, the new one under the paired temp name, not yet linked. */
async function killedInTheWindow(dir: string, name: string, newText: string) {
  const stem = path.join(dir, `.${name}.999999999.0123456789ab`);
  const { rename } = await import('node:fs/promises');
  await rename(path.join(dir, name), `${stem}.aside.tmp`);
  await writeFile(`${stem}.tmp`, newText);
}

describe('stratctl store migrate from a directory a write was killed in (file to file)', () => {
  it('puts back a config.yaml and strategies.yaml a killed write had set aside, then moves them: not `presets: none`, not "holds no config"', async () => {
    const { dir, before } = await fileDeployment();
    const config = await readFile(path.join(dir, 'config.yaml'), 'utf8');
    await killedInTheWindow(dir, 'strategies.yaml', PRESETS_TEXT.replace('Gold (fast)', 'Gold (faster)'));
    await killedInTheWindow(dir, 'config.yaml', config.replace('range', 'gold'));
    const target = path.join(await tempRuntimeDir(), 'moved');
    const moved = await stratctl(['store', 'migrate', '--from', `file:${dir}`, '--to', `file:${target}`]);
    expect(moved.stderr).toBe('');
    expect(moved.code).toBe(0);
    // What the source's own next start would have put back: the files as they were before the killed write.
    expect(await readFile(path.join(target, 'strategies.yaml'), 'utf8')).toBe(PRESETS_TEXT);
    expect(await readFile(path.join(target, 'config.yaml'), 'utf8')).toBe(config);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const server = await startTestServer({ runtimeDir: target, runner: false });
    try {
      const after = await state(server);
      expect(after.status).toEqual(before.status);
      expect(after.strategies).toEqual(before.strategies);
    } finally {
      await server.close();
    }
  });
});

describeWithEtcd('stratctl store migrate (real etcd)', () => {
  it('file -> etcd -> file: config text, presets text, hashed tokens and the audit trail move as stored; history and rollback work after each move', async () => {
    const cluster = await startEtcd({ lifetime: 'file' });
    const { dir, token, before } = await fileDeployment();
    expect(before.status.configVersion).toBe(4);
    // The presets are in force before the move, so the states compared below include them.
    expect(before.status).toMatchObject({ presetsVersion: 2, strategiesError: null });
    expect(before.strategies.at(-1)).toEqual({ key: 'gold_fast', source: 'PRESET', base: 'gold' });
    const prefix = freshPrefix();

    const toEtcd = await stratctl(['store', 'migrate', '--from', 'file', '--runtime-dir', dir, '--to', cluster.url(prefix)]);
    expect(toEtcd.stderr).toBe('');
    expect(toEtcd.code).toBe(0);
    expect(toEtcd.stdout).toContain(`copied file:${dir} -> ${cluster.url(prefix)}/`);
    expect(toEtcd.stdout).toContain(`config: version 4 (${before.status.configDigest})\n`);
    expect(toEtcd.stdout).toContain('tokens: 1');
    expect(toEtcd.stdout).toContain('audit entries: 4 config, 1 presets');

    // As stored: the same texts (so the same digests), the same token digest, one key per audit entry.
    const client = rawClient(cluster);
    expect(await client.get(`/${prefix}/config`).string()).toBe(await readFile(path.join(dir, 'config.yaml'), 'utf8'));
    expect(await client.get(`/${prefix}/strategies`).string()).toBe(PRESETS_TEXT);
    const tokenFile = await readFile(path.join(dir, 'tokens.yaml'), 'utf8');
    const record = JSON.parse((await client.get(`/${prefix}/tokens/ci-bot`).string()) ?? '{}');
    expect(tokenFile).toContain(`sha256: ${record.sha256}`);
    expect(await keysUnder(client, prefix, 'audit/config/')).toEqual(
      [1, 2, 3, 4].map((v) => `/${prefix}/audit/config/${String(v).padStart(16, '0')}`),
    );

    // A replica on etcd reports what the file server did: version, digest, history, trail; the token works.
    const onEtcd = await startTestServer({ runtimeDir: await tempRuntimeDir(), store: etcdStore(cluster, prefix), runner: false });
    expect(await state(onEtcd)).toEqual(before);
    const viewer = await onEtcd.gql('{ viewer { name scope } }', undefined, token);
    expect(viewer.body.data?.viewer).toEqual({ name: 'ci-bot', scope: 'OPERATE' });
    const rolled = await onEtcd.gql(ROLLBACK, { to: 3 });
    expect(rolled.body.data?.rollbackConfig).toEqual({ rolledBackTo: 3, config: { activeStrategyKey: 'gold', version: 5 } });
    // A preset changed on etcd (the stored text edited in place, comment kept) moves back with its entry.
    const renamed = await onEtcd.gql(
      'mutation { upsertPreset(input: { key: "gold_fast", base: "gold", name: "Gold (faster)" }, expectedVersion: 2) { presetsVersion } }',
    );
    expect(renamed.body.data?.upsertPreset).toEqual({ presetsVersion: 3 });
    const presetsOnEtcd = await client.get(`/${prefix}/strategies`).string();
    expect(presetsOnEtcd).toBe(PRESETS_TEXT.replace('version: 2', 'version: 3').replace('Gold (fast)', 'Gold (faster)'));
    const afterEtcd = await state(onEtcd);
    await onEtcd.close();

    // And back, into a fresh directory: the etcd deployment's state, rollback included.
    const back = await tempRuntimeDir();
    const toFile = await stratctl(['store', 'migrate', '--from', cluster.url(prefix), '--to', `file:${back}`]);
    expect(toFile.stderr).toBe('');
    expect(toFile.code).toBe(0);
    expect(toFile.stdout).toContain('audit entries: 5 config, 2 presets');
    expect(await files(back)).toEqual(['audit.log', 'config.yaml', 'strategies.yaml', 'tokens.yaml']);
    expect(await readFile(path.join(back, 'config.yaml'), 'utf8')).toBe(await client.get(`/${prefix}/config`).string());
    expect(await readFile(path.join(back, 'strategies.yaml'), 'utf8')).toBe(presetsOnEtcd);
    expect(await readFile(path.join(back, 'tokens.yaml'), 'utf8')).toContain(`sha256: ${record.sha256}`);
    const onFile = await startTestServer({ runtimeDir: back, runner: false });
    expect(await state(onFile)).toEqual(afterEtcd);
    expect((await onFile.gql('{ viewer { name } }', undefined, token)).body.data?.viewer).toEqual({ name: 'ci-bot' });
    const again = await onFile.gql(ROLLBACK, { to: 2 });
    expect(again.body.data?.rollbackConfig).toEqual({ rolledBackTo: 2, config: { activeStrategyKey: 'gold', version: 6 } });

    // The prefix moved out of is marked, as a directory is: a replica left enabled there refuses to
    // serve the old config beside the new deployment (it started, and took writes the copy lacked).
    expect(toFile.stdout).toContain(
      `marked the source as moved (${cluster.url(prefix)}/moved): serve, runners and stratctl token refuse it from now on`,
    );
    expect(JSON.parse((await client.get(`/${prefix}/moved`).string()) ?? 'null')).toMatchObject({ to: `file:${back}` });
    const stale = spawnServer(await tempRuntimeDir(), ['--no-runner', '--store', cluster.url(prefix)], { CONTROL_PLANE_TOKEN: TEST_TOKEN });
    await expect(stale).rejects.toThrow(/process exited \(78\)/);
    const refusal = await stale.catch((err: Error) => err.message);
    expect(refusal).toContain(`the deployment was moved out of it to file:${back}`);
    expect(refusal).not.toContain('was cut short');
    // stratctl token too: a token made there is one no server reads (it printed one, exit 0).
    const stale2 = await stratctl(['store', 'migrate', '--from', cluster.url(prefix), '--to', `file:${await tempRuntimeDir()}`, '--json']);
    expect(stale2.code).toBe(2);
    expect(JSON.parse(stale2.stdout).error.message).toContain(`the deployment was moved out of it to file:${back} at `);
    expect(JSON.parse((await client.get(`/${prefix}/moved`).string()) ?? 'null')).toMatchObject({ to: `file:${back}` });
    const late = await stratctl(['token', 'create', '--name', 'late', '--scope', 'read', '--store', cluster.url(prefix)]);
    expect(late.code).toBe(2);
    expect(late.stdout).toBe('');
    expect(late.stderr).toContain(
      `stratctl token create: ${cluster.url(prefix)} takes no tokens: the deployment was moved out of it to file:${back}`,
    );
    expect(await client.get(`/${prefix}/tokens/late`).string()).toBeNull();
    // Moved back in (over the old data: --force), the mark goes and a replica serves it.
    await onFile.close();
    const home = await stratctl(['store', 'migrate', '--from', `file:${back}`, '--to', cluster.url(prefix), '--force']);
    expect(home.code, home.stderr).toBe(0);
    expect(await client.get(`/${prefix}/moved`).string()).toBeNull();
    const served = await startTestServer({ runtimeDir: await tempRuntimeDir(), store: etcdStore(cluster, prefix), runner: false });
    expect((await state(served)).status.configVersion).toBe(6);
  });

  it('the directory moved out of is marked: serve, a runner and stratctl token refuse it, naming where it went; moving back in clears the mark', async () => {
    const cluster = await startEtcd({ lifetime: 'file' });
    const { dir, before } = await fileDeployment();
    const prefix = freshPrefix();
    const moved = await stratctl(['store', 'migrate', '--from', `file:${dir}`, '--to', cluster.url(prefix)]);
    expect(moved.code, moved.stderr).toBe(0);
    const mark = path.join(dir, 'moved.json');
    expect(moved.stdout).toContain(`marked the source as moved (${mark}): serve, runners and stratctl token refuse it from now on`);
    expect(JSON.parse(await readFile(mark, 'utf8'))).toMatchObject({ to: `${cluster.url(prefix)}/`, by: 'stratctl store migrate' });
    const why = `the deployment in ${dir} was moved to ${cluster.url(prefix)}/ by stratctl store migrate at `;
    // A unit left enabled on the old host: it would serve the old config, and its runner trade on it.
    for (const args of [['serve', '--port', '0'], ['runner']]) {
      const child = spawnStratctl([...args, '--runtime-dir', dir], { CONTROL_PLANE_TOKEN: TEST_TOKEN });
      expect(await child.exited, args[0]).toBe(78);
      expect(child.stderr()).toContain(`cannot start: ${why}`);
      expect(child.stderr()).toContain(`or remove ${mark} to serve this directory's copy as it is.`);
    }
    const token = await stratctl(['token', 'create', '--name', 'late', '--scope', 'read', '--runtime-dir', dir]);
    expect(token.code).toBe(2);
    expect(token.stderr).toContain(why);
    expect(await readFile(path.join(dir, 'tokens.yaml'), 'utf8')).not.toContain('late');
    // Nor is the stale copy migrated anywhere: a second deployment, and the mark rewritten to point at it.
    const markText = await readFile(mark, 'utf8');
    const fork = await tempRuntimeDir();
    const again = await stratctl(['store', 'migrate', '--from', `file:${dir}`, '--to', `file:${fork}`]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`the deployment was moved out of it to ${cluster.url(prefix)}/ at `);
    expect(again.stderr).toContain(
      `migrate from ${cluster.url(prefix)}/ instead (if this copy is the one to keep, remove the mark first: ${mark}); nothing was written`,
    );
    expect(await readFile(mark, 'utf8')).toBe(markText);
    expect(existsSync(path.join(fork, 'config.yaml'))).toBe(false);

    // Moved back in (the directory is not empty: --force): the mark goes, and the directory serves again.
    const back = await stratctl(['store', 'migrate', '--from', cluster.url(prefix), '--to', `file:${dir}`, '--force']);
    expect(back.code, back.stderr).toBe(0);
    expect(existsSync(mark)).toBe(false);
    const server = await startTestServer({ runtimeDir: dir, runner: false });
    expect(await state(server)).toEqual(before);
  });

  it('moved back into a directory (--force) that held a kept presets set: the set goes with the rest of what was there', async () => {
    const cluster = await startEtcd({ lifetime: 'file' });
    const { dir, before } = await fileDeployment();
    // What a server there left from an edit it kept out (the set then in force), the edit since undone by hand.
    const kept = path.join(dir, '.strategies.kept.yaml');
    await writeFile(kept, PRESETS_TEXT);
    const prefix = freshPrefix();
    const moved = await stratctl(['store', 'migrate', '--from', `file:${dir}`, '--to', cluster.url(prefix)]);
    expect(moved.code, moved.stderr).toBe(0);
    const back = await stratctl(['store', 'migrate', '--from', cluster.url(prefix), '--to', `file:${dir}`, '--force']);
    expect(back.code, back.stderr).toBe(0);
    expect(existsSync(kept)).toBe(false);
    const server = await startTestServer({ runtimeDir: dir, runner: false });
    expect(await state(server)).toEqual(before);
  });

  it('etcd -> etcd between a plain etcd and one over TLS: each end takes its own TLS files (--to-etcd-*); one set for both could not', async () => {
    const plain = await startEtcd({ lifetime: 'file' });
    const tls = await makeTlsFiles(await tempRuntimeDir());
    const secure = await startEtcd({ tls });
    const { dir, before } = await fileDeployment();
    const from = plain.url(freshPrefix());
    expect((await stratctl(['store', 'migrate', '--from', `file:${dir}`, '--to', from])).code).toBe(0);
    const prefix = freshPrefix();
    const to = secure.url(prefix);
    const files = { ca: tls.caFile, cert: tls.clientCertFile, key: tls.clientKeyFile };
    // An etcd flag for a file end, or a certificate without its key, is refused naming the end's flag.
    const onFile = await stratctl(['store', 'migrate', '--from', `file:${dir}`, '--to', to, '--from-etcd-ca', files.ca]);
    expect({ code: onFile.code, stderr: onFile.stderr }).toEqual({
      code: 2,
      stderr:
        'stratctl store migrate: --from-etcd-ca applies only to an etcd source (--from etcd://...)\nsee stratctl store migrate --help\n',
    });
    const half = await stratctl(['store', 'migrate', '--from', from, '--to', to, '--to-etcd-cert', files.cert]);
    expect(half.code).toBe(2);
    expect(half.stderr).toContain('--to: --to-etcd-cert and --to-etcd-key go together');
    const missing = await stratctl(['store', 'migrate', '--from', from, '--to', to, '--to-etcd-ca', `${files.ca}.gone`]);
    expect({ code: missing.code, stderr: missing.stderr }).toEqual({
      code: 2,
      stderr: `stratctl store migrate: --to-etcd-ca ${files.ca}.gone: ENOENT\nsee stratctl store migrate --help\n`,
    });
    const moved = await stratctl([
      'store',
      'migrate',
      '--from',
      from,
      '--to',
      to,
      '--to-etcd-ca',
      files.ca,
      '--to-etcd-cert',
      files.cert,
      '--to-etcd-key',
      files.key,
    ]);
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stdout).toContain(`copied ${from}/ -> ${to}/`);
    const served = await startTestServer({
      runtimeDir: await tempRuntimeDir(),
      store: { kind: 'etcd', url: to, tls: { caFile: files.ca, certFile: files.cert, keyFile: files.key } },
      runner: false,
    });
    expect((await state(served)).status).toEqual(before.status);
  });

  it('one store named twice (localhost and 127.0.0.1; a directory and a symlink to it) is refused, exit 2, nothing written; the store still serves', async () => {
    const cluster = await startEtcd({ lifetime: 'file' });
    const client = rawClient(cluster);
    const { dir, before } = await fileDeployment();
    const prefix = freshPrefix();
    const first = await stratctl(['store', 'migrate', '--from', `file:${dir}`, '--to', cluster.url(prefix)]);
    expect(first.code, first.stderr).toBe(0);
    const stored = async () => Object.entries(await client.getAll().prefix(`/${prefix}/`).strings()).sort();
    const kept = await stored();
    expect(kept.map(([key]) => key)).toContain(`/${prefix}/config`);
    // Another URL for the same member: etcd's cluster ID says it is the same store, whatever the text.
    const other = cluster.url(prefix).replace('127.0.0.1', 'localhost');
    expect(other).not.toBe(cluster.url(prefix));
    const self = await stratctl(['store', 'migrate', '--from', cluster.url(prefix), '--to', other, '--force']);
    expect(self.stderr).toMatch(
      new RegExp(`--from and --to name the same store: both reach etcd cluster [0-9]+, prefix /${prefix}/; nothing was written`),
    );
    expect(self.code).toBe(2);
    expect(self.stdout).toBe('');
    expect(await stored()).toEqual(kept);
    expect(await client.get(`/${prefix}/moved`).string()).toBeNull();
    // Another prefix of the same cluster is another store.
    const copy = await stratctl(['store', 'migrate', '--from', cluster.url(prefix), '--to', other.replace(prefix, freshPrefix())]);
    expect(copy.code, copy.stderr).toBe(0);
    await client.delete().key(`/${prefix}/moved`);
    const served = await startTestServer({ runtimeDir: await tempRuntimeDir(), store: etcdStore(cluster, prefix), runner: false });
    expect((await state(served)).status).toEqual(before.status);
    await served.close();

    // A directory and a symlink to it: one directory (was: refused by its own lock, blaming "another stratctl serve").
    // (The directory was moved out of to etcd above: its mark must stay as it is.)
    const link = path.join(await tempRuntimeDir(), 'link');
    await symlink(dir, link);
    const mark = await readFile(path.join(dir, 'moved.json'), 'utf8');
    const viaLink = await stratctl(['store', 'migrate', '--from', `file:${link}`, '--to', `file:${dir}`, '--force']);
    expect(viaLink.stderr).toContain('--from and --to name the same store');
    expect(viaLink.code).toBe(2);
    expect(await readFile(path.join(dir, 'moved.json'), 'utf8')).toBe(mark);
  });

  it('a move into a directory cut short leaves it marked: serve refuses it (78) instead of starting afresh from the defaults; a re-run with --force completes it', async () => {
    const cluster = await startEtcd({ lifetime: 'file' });
    const { dir, before } = await fileDeployment();
    const prefix = freshPrefix();
    expect((await stratctl(['store', 'migrate', '--from', `file:${dir}`, '--to', cluster.url(prefix)])).code).toBe(0);
    // A target whose config.yaml cannot be written (here a directory stands in its place): the move
    // stops after the trail and the presets, before the config, as a kill or a full disk would.
    const target = await tempRuntimeDir();
    await mkdir(path.join(target, 'config.yaml'));
    const cut = await stratctl(['store', 'migrate', '--from', cluster.url(prefix), '--to', `file:${target}`, '--force']);
    expect(cut.code).toBe(1);
    expect(await files(target)).toEqual(['audit.log', 'config.yaml', 'migrating.json', 'strategies.yaml', 'tokens.yaml']);
    await rm(path.join(target, 'config.yaml'), { recursive: true });

    const serve = spawnStratctl(['serve', '--port', '0', '--runtime-dir', target], { CONTROL_PLANE_TOKEN: TEST_TOKEN });
    expect(await serve.exited).toBe(78);
    expect(serve.stderr()).toContain(`cannot start: a stratctl store migrate into ${target} from ${cluster.url(prefix)}/, started at `);
    expect(serve.stderr()).toContain('did not finish: run it again with --force to complete it');
    expect(await files(target)).not.toContain('config.yaml');

    const again = await stratctl(['store', 'migrate', '--from', cluster.url(prefix), '--to', `file:${target}`]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(
      `file:${target} is not empty (a migration that did not finish, strategies.yaml, tokens.yaml, audit.log); nothing was written`,
    );
    // A kill mid-write leaves the trail's temp file (up to the whole trail): the re-run clears it.
    const torn = path.join(target, '.audit.log.999999999.0123456789ab.tmp');
    await writeFile(torn, '{"half": ');
    const done = await stratctl(['store', 'migrate', '--from', cluster.url(prefix), '--to', `file:${target}`, '--force']);
    expect(done.code, done.stderr).toBe(0);
    expect(await files(target)).toEqual(['audit.log', 'config.yaml', 'strategies.yaml', 'tokens.yaml']);
    expect(existsSync(torn)).toBe(false);
    const server = await startTestServer({ runtimeDir: target, runner: false });
    expect(await state(server)).toEqual(before);
  });

  it('a store a migration into was cut short is refused as a source (exit 2, naming the mark, nothing written): it holds part of that copy over the old config', async () => {
    const cluster = await startEtcd({ lifetime: 'file' });
    // A directory as a move into it leaves it when killed after the trail: the mark written first,
    // the new trail in place, the old deployment's config.yaml not yet replaced.
    const { dir } = await fileDeployment();
    const mark = path.join(dir, 'migrating.json');
    await writeFile(mark, `${JSON.stringify({ from: 'file:/srv/big', at: '2026-12-05T07:00:00.000Z', by: 'stratctl store migrate' })}\n`);
    const prefix = freshPrefix();
    const fromDir = await stratctl(['store', 'migrate', '--from', `file:${dir}`, '--to', cluster.url(prefix)]);
    expect(fromDir.code).toBe(2);
    expect(fromDir.stdout).toBe('');
    expect(fromDir.stderr).toContain(
      `file:${dir}: a stratctl store migrate into it from file:/srv/big, started at 2026-12-05T07:00:00.000Z, did not finish (the mark: ${mark})`,
    );
    expect(fromDir.stderr).toContain('run that migration again with --force to complete it');
    expect(fromDir.stderr).toContain('nothing was written');
    const client = rawClient(cluster);
    expect(await client.getAll().prefix(`/${prefix}/`).keys()).toEqual([]);
    expect(existsSync(path.join(dir, 'moved.json'))).toBe(false);
    expect(existsSync(mark)).toBe(true);

    // An etcd prefix with its mark: refused for that reason, not as one holding no config.
    const source = freshPrefix();
    await rm(mark);
    expect((await stratctl(['store', 'migrate', '--from', `file:${dir}`, '--to', cluster.url(source)])).code).toBe(0);
    await client.put(`/${source}/migrating`).value(JSON.stringify({ from: 'file:/srv/big', startedAt: '2026-12-05T07:00:00.000Z' }));
    const target = await tempRuntimeDir();
    const fromEtcd = await stratctl(['store', 'migrate', '--from', cluster.url(source), '--to', `file:${target}`]);
    expect(fromEtcd.code).toBe(2);
    expect(fromEtcd.stderr).toContain(
      `${cluster.url(source)}/: a stratctl store migrate into it from file:/srv/big, started at 2026-12-05T07:00:00.000Z, did not finish (the mark: ${cluster.url(source)}/migrating)`,
    );
    expect(fromEtcd.stderr).not.toContain('holds no config');
    expect(await files(target)).toEqual([]);
    expect(await client.get(`/${source}/moved`).string()).toBeNull();
  });

  it("etcd -> file keeps the trail in version order when the hosts' clocks disagree: the newest config is audited, history reads the same, no recovery entry", async () => {
    const cluster = await startEtcd({ lifetime: 'file' });
    const prefix = freshPrefix();
    const onEtcd = await startTestServer({ runtimeDir: await tempRuntimeDir(), store: etcdStore(cluster, prefix), runner: false });
    for (const key of ['gold', 'range', 'momentum_v2', 'gold'])
      await onEtcd.gql('mutation($k: String!) { activateStrategy(strategyKey: $k) { configVersion } }', { k: key });
    await onEtcd.close();
    // Version 5 written by a replica whose clock runs 0.6 s behind the one that wrote version 4.
    const client = rawClient(cluster);
    const key = (v: number) => `/${prefix}/audit/config/${String(v).padStart(16, '0')}`;
    const v4 = JSON.parse((await client.get(key(4)).string()) ?? '{}');
    const v5 = JSON.parse((await client.get(key(5)).string()) ?? '{}');
    await client.put(key(5)).value(JSON.stringify({ ...v5, time: new Date(Date.parse(v4.time) - 600).toISOString() }));
    const onEtcdAgain = await startTestServer({ runtimeDir: await tempRuntimeDir(), store: etcdStore(cluster, prefix), runner: false });
    const before = await state(onEtcdAgain);
    await onEtcdAgain.close();
    expect(before.configHistory.map((h: { version: number }) => h.version)).toEqual([5, 4, 3, 2, 1]);

    const target = await tempRuntimeDir();
    const moved = await stratctl(['store', 'migrate', '--from', cluster.url(prefix), '--to', `file:${target}`]);
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stdout).toContain(`config: version 5 (${before.status.configDigest})\n`);
    expect(moved.stdout).not.toContain('not audited yet');
    const trail = (await readFile(path.join(target, 'audit.log'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(trail.filter((e) => e.subject === 'CONFIG').map((e) => e.version)).toEqual([1, 2, 3, 4, 5]);
    const onFile = await startTestServer({ runtimeDir: target, runner: false });
    // (The etcd replica lists auditLog by time, so the skewed v5 sits below v4 there; history is by version on both.)
    const { auditLog, ...after } = await state(onFile);
    const { auditLog: _, ...was } = before;
    expect(after).toEqual(was);
    expect(auditLog.map((e: { version: number }) => e.version)).toEqual([5, 4, 3, 2, 1]);
  });

  it('the source not marked as moved after a whole copy (its etcd user may read, not write): says the copy is done and not to start the source, exit 1, not "nothing was written"', async () => {
    const cluster = await startEtcd(); // its own: auth goes on
    const { dir, before } = await fileDeployment();
    const prefix = freshPrefix();
    expect((await stratctl(['store', 'migrate', '--from', `file:${dir}`, '--to', cluster.url(prefix)])).code).toBe(0);
    // The source's user has Read on its prefix (as a read-only or full disk stands for a directory):
    // everything of the move goes but the source's `moved` mark.
    const admin = rawClient(cluster);
    await admin.user('root').create('root-password');
    await admin.user('root').addRole('root');
    await admin.role('scp-ro').create();
    await admin.role('scp-ro').grant({ permission: 'Read', range: Range.prefix(`/${prefix}/`) });
    await admin.user('ro').create('ro-password');
    await admin.user('ro').addRole('scp-ro');
    await admin.auth.authEnable();
    admin.close();

    const target = await tempRuntimeDir();
    const moved = await stratctl(['store', 'migrate', '--from', cluster.url(prefix), '--to', `file:${target}`], {
      CONTROL_PLANE_ETCD_USER: 'ro',
      CONTROL_PLANE_ETCD_PASSWORD: 'ro-password',
    });
    expect(moved.code).toBe(1);
    expect(moved.stdout).toContain(`copied ${cluster.url(prefix)}/ -> file:${target}`);
    expect(moved.stdout).not.toContain('marked the source as moved');
    expect(moved.stderr).toContain(`copied to file:${target}, but the source could not be marked as moved (`);
    expect(moved.stderr).toContain(`do not start serve or runners on ${cluster.url(prefix)}/`);
    expect(moved.stderr).toContain(`mark it by hand once it can be written: etcdctl put /${prefix}/moved '{"to":"file:${target}"}'`);
    expect(moved.stderr).not.toMatch(/nothing was written|could not be written|try again later/);
    // The copy is whole and serves as the source did.
    const onFile = await startTestServer({ runtimeDir: target, runner: false });
    expect(await state(onFile)).toEqual(before);

    // Under --json: the error and, with it, what was copied (a script must know the copy is whole).
    const jsonTarget = await tempRuntimeDir();
    const movedJson = await stratctl(['store', 'migrate', '--json', '--from', cluster.url(prefix), '--to', `file:${jsonTarget}`], {
      CONTROL_PLANE_ETCD_USER: 'ro',
      CONTROL_PLANE_ETCD_PASSWORD: 'ro-password',
    });
    expect(movedJson.code).toBe(1);
    expect(JSON.parse(movedJson.stdout)).toEqual({
      error: {
        code: 'SOURCE_NOT_MARKED',
        message: expect.stringContaining(`copied to file:${jsonTarget}, but the source could not be marked as moved (`),
        report: expect.objectContaining({
          from: `${cluster.url(prefix)}/`,
          to: `file:${jsonTarget}`,
          markedMoved: null,
          summary: expect.objectContaining({ configVersion: before.status.configVersion }),
        }),
      },
    });
  });

  it('refuses a non-empty target (exit 2, nothing written) unless --force, which replaces what is there', async () => {
    const cluster = await startEtcd({ lifetime: 'file' });
    const { dir, before } = await fileDeployment();
    const prefix = freshPrefix();
    // The target already holds a longer history of its own, and a token.
    const other = await startTestServer({ runtimeDir: await tempRuntimeDir(), store: etcdStore(cluster, prefix), runner: false });
    for (const s of [11, 12, 13, 14, 15, 16])
      await other.gql('mutation($s: Int!) { updateConfig(input: { scanIntervalSeconds: $s }) { config { version } } }', { s });
    await other.services.tokens.create('old-bot', 'read');
    const theirs = await state(other);
    await other.close();
    const client = rawClient(cluster);
    const keysBefore = await client.getAll().prefix(`/${prefix}/`).strings();

    const refused = await stratctl(['store', 'migrate', '--from', `file:${dir}`, '--to', cluster.url(prefix)]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('is not empty (config, 1 tokens/ keys, 7 audit/ keys); nothing was written. Give --force');
    expect(refused.stdout).toBe('');
    // Under --json the refusal is one JSON object on stdout, the exit code the same.
    const refusedJson = await stratctl(['store', 'migrate', '--json', '--from', `file:${dir}`, '--to', cluster.url(prefix)]);
    expect(refusedJson.code).toBe(2);
    expect(JSON.parse(refusedJson.stdout)).toEqual({ error: { code: 'USAGE', message: expect.stringContaining('is not empty') } });
    expect(await client.getAll().prefix(`/${prefix}/`).strings()).toEqual(keysBefore);
    expect(theirs.status.configVersion).toBe(7);

    const forced = await stratctl(['store', 'migrate', '--from', `file:${dir}`, '--to', cluster.url(prefix), '--force']);
    expect(forced.stderr).toBe('');
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain('replaced (--force): config, 1 tokens/ keys, 7 audit/ keys');
    // Versions 5..7 of the old history are gone with it: the trail is the source's, whole.
    expect(await keysUnder(client, prefix, 'audit/')).toHaveLength(5);
    expect(await keysUnder(client, prefix, 'tokens/')).toEqual([`/${prefix}/tokens/ci-bot`]);
    const onEtcd = await startTestServer({ runtimeDir: await tempRuntimeDir(), store: etcdStore(cluster, prefix), runner: false });
    expect(await state(onEtcd)).toEqual(before);
    await onEtcd.close();

    // The same for a file target: refused without --force, replaced with it.
    const target = await tempRuntimeDir();
    const local = await startTestServer({ runtimeDir: target, runner: false });
    await local.gql('mutation { activateStrategy(strategyKey: "momentum_v2") { configVersion } }');
    await local.close();
    const configBefore = await readFile(path.join(target, 'config.yaml'), 'utf8');
    const refusedFile = await stratctl(['store', 'migrate', '--from', cluster.url(prefix), '--to', `file:${target}`]);
    expect(refusedFile.code).toBe(2);
    expect(refusedFile.stderr).toContain('is not empty (config.yaml, audit.log)');
    expect(await readFile(path.join(target, 'config.yaml'), 'utf8')).toBe(configBefore);
    const forcedFile = await stratctl(['store', 'migrate', '--from', cluster.url(prefix), '--to', `file:${target}`, '--force']);
    expect(forcedFile.code).toBe(0);
    const onFile = await startTestServer({ runtimeDir: target, runner: false });
    expect(await state(onFile)).toEqual(before);
  });

  it('--force cut short after clearing leaves the prefix marked: serve refuses it (78) and says to migrate again, never serves the old config over part of the new trail nor starts it afresh', async () => {
    // etcd refuses any request over 32 KiB: the clearing transaction passes, the first batch of the trail does not.
    const cluster = await startEtcd({ extraArgs: ['--max-request-bytes=32768'] });
    const prefix = freshPrefix();
    const old = await startTestServer({ runtimeDir: await tempRuntimeDir(), store: etcdStore(cluster, prefix), runner: false });
    await old.gql('mutation { activateStrategy(strategyKey: "momentum_v2") { configVersion } }');
    await old.close();
    const dir = await tempRuntimeDir();
    const source = await startTestServer({ runtimeDir: dir, runner: false });
    for (let s = 10; s < 80; s++)
      await source.gql('mutation($s: Int!) { updateConfig(input: { scanIntervalSeconds: $s }) { config { version } } }', { s });
    await source.close();

    const cut = await stratctl(['store', 'migrate', '--from', `file:${dir}`, '--to', cluster.url(prefix), '--force']);
    expect(cut.code).not.toBe(0);
    const client = rawClient(cluster);
    // The old deployment's config went with the clearing, in the same transaction as its trail and tokens.
    expect(await client.get(`/${prefix}/config`).string()).toBeNull();
    const serve = spawnServer(await tempRuntimeDir(), ['--no-runner', '--store', cluster.url(prefix)], { CONTROL_PLANE_TOKEN: TEST_TOKEN });
    await expect(serve).rejects.toThrow(/process exited \(78\)/);
    const message = await serve.catch((err: Error) => err.message);
    expect(message).toContain('a `stratctl store migrate` into it from');
    expect(message).toContain('did not finish');
    expect(message).toContain('if a `stratctl store migrate` into it was cut short, run it again with --force');
    // Without --force the target is not empty: the unfinished migration is named among what is there.
    const again = await stratctl(['store', 'migrate', '--from', `file:${dir}`, '--to', cluster.url(prefix)]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('a migration that did not finish');
    expect(message).not.toContain('The file was left as it is');
    // stratctl token refuses it too: the re-run with --force would delete a token made there.
    const token = await stratctl(['token', 'create', '--name', 'early', '--scope', 'read', '--store', cluster.url(prefix), '--json']);
    expect(token.code).toBe(2);
    expect(JSON.parse(token.stdout)).toMatchObject({ error: { code: 'BAD_USER_INPUT' } });
    expect(JSON.parse(token.stdout).error.message).toMatch(/takes no tokens: a `stratctl store migrate` into it from .* did not finish/);
    expect(await client.get(`/${prefix}/tokens/early`).string()).toBeNull();
  });

  it('--force onto a deployment that still runs (a live runner on the prefix) is refused, exit 75, nothing written; once stopped it goes', async () => {
    const cluster = await startEtcd({ lifetime: 'file' });
    const { dir } = await fileDeployment();
    const prefix = freshPrefix();
    // A live deployment on the target: a server with its runner, publishing under a lease.
    const live = await startTestServer({ runtimeDir: await tempRuntimeDir(), store: etcdStore(cluster, prefix), runner: {} });
    await vi.waitFor(() => expect(live.services.runners.views().some((v) => v.health === 'RUNNING')).toBe(true), { timeout: 10_000 });
    const client = rawClient(cluster);
    const config = async () => (await client.get(`/${prefix}/config`).string()) ?? '';
    const configBefore = await config();
    const refused = await stratctl(['store', 'migrate', '--from', `file:${dir}`, '--to', cluster.url(prefix), '--force']);
    expect(refused.code).toBe(75);
    expect(refused.stderr).toMatch(
      /is in use: 1 runner\(s\) still run on it \(.+\); nothing was written\. Stop its runners and API replicas first/,
    );
    expect(await config()).toBe(configBefore);
    // Stopped cleanly, its state says so (listed until its lease runs out): the move goes.
    await live.close();
    const forced = await stratctl(['store', 'migrate', '--from', `file:${dir}`, '--to', cluster.url(prefix), '--force']);
    expect(forced.stderr).toBe('');
    expect(forced.code).toBe(0);
  });

  it('--force onto a prefix an API replica still serves (no runner) is refused, exit 75, naming it; once it stops, the move goes', async () => {
    const cluster = await startEtcd({ lifetime: 'file' });
    const { dir } = await fileDeployment();
    const prefix = freshPrefix();
    const replica = await startTestServer({ runtimeDir: await tempRuntimeDir(), store: etcdStore(cluster, prefix), runner: false });
    const client = rawClient(cluster);
    const registered = await keysUnder(client, prefix, 'replicas/');
    expect(registered).toHaveLength(1);
    expect(registered[0]).toMatch(new RegExp(`^/${prefix}/replicas/.+:${process.pid}:[0-9a-f]{8}$`));
    const configBefore = await client.get(`/${prefix}/config`).string();
    const refused = await stratctl(['store', 'migrate', '--from', `file:${dir}`, '--to', cluster.url(prefix), '--force']);
    expect(refused.code).toBe(75);
    expect(refused.stderr).toContain(`is in use: 1 API replica(s) still serve it (${registered[0]!.slice(`/${prefix}/replicas/`.length)})`);
    expect(refused.stderr).toContain('nothing was written. Stop its runners and API replicas first');
    expect(await client.get(`/${prefix}/config`).string()).toBe(configBefore);
    // A clean stop deletes its key at once (not when its lease would run out): the move goes.
    await replica.close();
    expect(await keysUnder(client, prefix, 'replicas/')).toEqual([]);
    const forced = await stratctl(['store', 'migrate', '--from', `file:${dir}`, '--to', cluster.url(prefix), '--force']);
    expect(forced.stderr).toBe('');
    expect(forced.code).toBe(0);
  });

  it('from an etcd prefix an API replica still serves: refused, exit 75, naming it, nothing written (the old deployment took writes the copy lacked); once it stops, the move goes', async () => {
    const cluster = await startEtcd({ lifetime: 'file' });
    const { dir } = await fileDeployment();
    const prefix = freshPrefix();
    expect((await stratctl(['store', 'migrate', '--from', `file:${dir}`, '--to', cluster.url(prefix)])).code).toBe(0);
    const replica = await startTestServer({ runtimeDir: await tempRuntimeDir(), store: etcdStore(cluster, prefix), runner: false });
    const registered = await keysUnder(rawClient(cluster), prefix, 'replicas/');
    expect(registered).toHaveLength(1);
    const back = await tempRuntimeDir();
    const refused = await stratctl(['store', 'migrate', '--from', cluster.url(prefix), '--to', `file:${back}`]);
    expect(refused.code, refused.stderr).toBe(75);
    expect(refused.stderr).toContain(`is in use: 1 API replica(s) still serve it (${registered[0]!.slice(`/${prefix}/replicas/`.length)})`);
    expect(refused.stderr).toContain('nothing was written. Stop them first');
    expect(await files(back)).toEqual([]);
    await replica.close();
    const moved = await stratctl(['store', 'migrate', '--from', cluster.url(prefix), '--to', `file:${back}`]);
    expect(moved.code, moved.stderr).toBe(0);
    expect(await files(back)).toContain('config.yaml');
  });

  it('a replica and runner the move did not count (their keys gone as lapsed leases leave them, while paused) go unready and ERROR on the mark, saying where the deployment went; changes are refused', async () => {
    const cluster = await startEtcd({ lifetime: 'file' });
    const { dir } = await fileDeployment();
    const prefix = freshPrefix();
    expect((await stratctl(['store', 'migrate', '--from', `file:${dir}`, '--to', cluster.url(prefix)])).code).toBe(0);
    // A heartbeat every 60 s: its key, deleted below, is not put back before the move.
    const replica = await startTestServer({
      runtimeDir: await tempRuntimeDir(),
      store: etcdStore(cluster, prefix),
      runner: { heartbeatMs: 60_000 },
    });
    await expect.poll(async () => (await fetch(new URL('/ready', replica.url))).status).toBe(200);
    const runners = async () =>
      (await replica.gql('{ status { runners { state error appliedConfigVersion } } }')).body.data?.status.runners;
    await expect.poll(async () => (await runners())?.[0]?.state).toBe('RUNNING');
    const applied = (await runners())[0].appliedConfigVersion;
    // Their keys gone as lapsed leases leave them: the move does not see them.
    const raw = rawClient(cluster);
    for (const key of [...(await keysUnder(raw, prefix, 'replicas/')), ...(await keysUnder(raw, prefix, 'runners/'))])
      await raw.delete().key(key);
    const back = await tempRuntimeDir();
    const moved = await stratctl(['store', 'migrate', '--from', cluster.url(prefix), '--to', `file:${back}`]);
    expect(moved.code, moved.stderr).toBe(0);
    const words = `the deployment was moved out of it to file:${back}`;
    await expect.poll(async () => (await fetch(new URL('/ready', replica.url))).status).toBe(503);
    const ready = await (await fetch(new URL('/ready', replica.url))).json();
    // The replica's config, and its own runner once it has told it (below).
    expect(ready.reasons[0]).toContain(`config invalid: ${prefix}: invalid config\n  ${words}`);
    const status = await replica.gql('{ status { configError { message changesRefused } } }');
    expect(status.body.data?.status.configError).toEqual({ message: expect.stringContaining(words), changesRefused: true });
    const refused = await replica.gql('mutation { activateStrategy(strategyKey: "gold") { configVersion } }');
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('CONFIG_FILE_INVALID');
    expect(refused.body.errors?.[0]?.message).toContain(words);
    // The runner reports it (its key put back with the news), keeping the config it applied.
    await expect.poll(async () => (await runners())?.[0]?.state).toBe('ERROR');
    expect((await runners())[0]).toEqual({ state: 'ERROR', error: expect.stringContaining(words), appliedConfigVersion: applied });
    await replica.close();
  });

  it('a runner killed an hour ago (its key living out its 600 s lease, STALE) does not hold a move up: let through with a note, as target and as source', async () => {
    const cluster = await startEtcd({ lifetime: 'file' });
    const { dir } = await fileDeployment();
    const prefix = freshPrefix();
    expect((await stratctl(['store', 'migrate', '--from', `file:${dir}`, '--to', cluster.url(prefix)])).code).toBe(0);
    // What a SIGKILLed runner leaves: its last state, under a lease nobody keeps alive any more.
    const lastHeard = new Date(Date.now() - 3_600_000).toISOString();
    const dead = {
      id: 'acct-fx',
      host: 'trading-1',
      pid: 4242,
      instruments: null,
      feed: 'sim',
      startedAt: lastHeard,
      heartbeatAt: lastHeard,
      heartbeatIntervalMs: 1000,
      stopped: false,
      applied: null,
      lastScanAt: null,
      lastSignals: [],
      error: null,
    };
    const lease = rawClient(cluster).lease(600, { autoKeepAlive: false });
    await lease.put(`/${prefix}/runners/acct-fx`).value(JSON.stringify(dead));
    const note = new RegExp(
      `runner acct-fx on .+ let through: STALE since ${lastHeard.replace(/[.]/g, '\\.')} \\(no heartbeat for 3 intervals, taken for stopped\\); its key expires at \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z \\(delete runners/acct-fx to drop it sooner\\)`,
    );

    const other = await fileDeployment();
    const forced = await stratctl(['store', 'migrate', '--from', `file:${other.dir}`, '--to', cluster.url(prefix), '--force']);
    expect(forced.stderr).toBe('');
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(note);
    // --force clears the data keys, not the runners' heartbeats: as the source of the move back, it is still there.
    const back = await tempRuntimeDir();
    const moved = await stratctl(['store', 'migrate', '--from', cluster.url(prefix), '--to', `file:${back}`, '--json']);
    expect(moved.code, moved.stderr).toBe(0);
    expect(JSON.parse(moved.stdout).staleRunners).toEqual([
      { id: 'acct-fx', heartbeatAt: lastHeard, expiresAt: expect.any(String), store: `${cluster.url(prefix)}/` },
    ]);
    expect(await files(back)).toContain('config.yaml');
  });

  it('an etcd target keeps --audit-keep entries per subject: the oldest are left behind, and it says so', async () => {
    const cluster = await startEtcd({ lifetime: 'file' });
    const { dir, before } = await fileDeployment();
    const prefix = freshPrefix();
    const moved = await stratctl(['store', 'migrate', '--from', `file:${dir}`, '--to', cluster.url(prefix), '--audit-keep', '2']);
    expect(moved.code).toBe(0);
    expect(moved.stdout).toContain('audit entries: 2 config, 1 presets');
    expect(moved.stderr).toContain('the 2 oldest CONFIG audit entries were not copied: the target keeps 2 (--audit-keep)');
    expect(await keysUnder(rawClient(cluster), prefix, 'audit/config/')).toEqual(
      [3, 4].map((v) => `/${prefix}/audit/config/${String(v).padStart(16, '0')}`),
    );
    const onEtcd = await startTestServer({ runtimeDir: await tempRuntimeDir(), store: etcdStore(cluster, prefix), runner: false });
    expect((await state(onEtcd)).status).toEqual(before.status);
    const misplaced = await stratctl([
      'store',
      'migrate',
      '--from',
      cluster.url(prefix),
      '--to',
      `file:${await tempRuntimeDir()}`,
      '--audit-keep',
      '2',
    ]);
    expect(misplaced.code).toBe(2);
    expect(misplaced.stderr).toContain('--audit-keep applies only to an etcd target');
  });

  it('an invalid source is refused before anything is written; a store in use, etcd away and bad usage get their exit codes', async () => {
    const cluster = await startEtcd({ lifetime: 'file' });
    const client = rawClient(cluster);
    const prefix = freshPrefix();
    await client.put(`/${prefix}/config`).value('active_strategy_key: no_such_strategy\n');
    const target = await tempRuntimeDir();
    const invalid = await stratctl(['store', 'migrate', '--from', cluster.url(prefix), '--to', `file:${target}`]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('cannot be moved as it is');
    expect(invalid.stderr).toContain('Invalid strategy key: no_such_strategy');
    expect(invalid.stderr).toContain('nothing was written');
    expect(await files(target)).toEqual([]);

    const broken = await tempRuntimeDir();
    await writeFile(path.join(broken, 'config.yaml'), 'scan_interval_seconds: [\n');
    const emptyPrefix = freshPrefix();
    const invalidFile = await stratctl(['store', 'migrate', '--from', `file:${broken}`, '--to', cluster.url(emptyPrefix)]);
    expect(invalidFile.code).toBe(2);
    expect(invalidFile.stderr).toContain('config: line');
    expect(await client.getAll().prefix(`/${emptyPrefix}/`).keys()).toEqual([]);

    const nothing = await stratctl(['store', 'migrate', '--from', `file:${await tempRuntimeDir()}`, '--to', cluster.url(emptyPrefix)]);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('it holds no config (nothing to move)');

    // A mistyped file target: a new directory is made, not a whole new path.
    const { dir } = await fileDeployment();
    const typo = path.join(await tempRuntimeDir(), 'straegy', 'runtime');
    const mistyped = await stratctl(['store', 'migrate', '--from', `file:${dir}`, '--to', `file:${typo}`]);
    expect(mistyped.code).toBe(2);
    expect(mistyped.stderr).toContain(`its parent directory ${path.dirname(typo)} does not exist (a typo?); create it first`);
    expect(existsSync(path.dirname(typo))).toBe(false);
    const made = await stratctl(['store', 'migrate', '--from', `file:${dir}`, '--to', `file:${path.dirname(typo)}`]);
    expect(made.code).toBe(0);

    // A runtime directory a server runs on is not copied from (its later changes would be lost).
    // (`dir` was moved out of above, and is marked so: a server runs on a fresh deployment here.)
    const live = await fileDeployment();
    const running = await startTestServer({ runtimeDir: live.dir, runner: false });
    const inUse = await stratctl(['store', 'migrate', '--from', `file:${live.dir}`, '--to', cluster.url(emptyPrefix)]);
    expect(inUse.code).toBe(75);
    expect(inUse.stderr).toContain(`process ${process.pid}`);
    await running.close();

    // (From the one no server runs on now: `dir` was moved out of, and is refused as a stale copy.)
    const away = await stratctl(['store', 'migrate', '--from', `file:${live.dir}`, '--to', `etcd://127.0.0.1:${await freePort()}/scp`]);
    expect(away.code).toBe(7);
    expect(away.stderr).toContain('Config store unavailable');

    const same = await stratctl(['store', 'migrate', '--from', `file:${dir}`, '--to', `file:${dir}/`]);
    expect(same.code).toBe(2);
    expect(same.stderr).toContain('--from and --to name the same store');
    const badUrl = await stratctl(['store', 'migrate', '--from', `file:${dir}`, '--to', 'etcd://127.0.0.1:2379']);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toContain('--to: ');
    const missing = await stratctl(['store', 'migrate', '--from', `file:${dir}`]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("required option '--to <store>' not specified");
  });

  it('from an etcd prefix running a kept set (a put of strategies kept out): refused naming the kept-out key and the way out, not the config; once the set is put back, the move goes', async () => {
    const cluster = await startEtcd({ lifetime: 'file' });
    const client = rawClient(cluster);
    const prefix = freshPrefix();
    const server = await startTestServer({ runtimeDir: await tempRuntimeDir(), store: etcdStore(cluster, prefix), runner: false });
    await server.gql(UPSERT, { input: { key: 'gold_fast', base: 'gold', name: 'Gold (fast)' } });
    expect((await server.gql(ACTIVATE, { key: 'gold_fast' })).status).toBe(200);
    const inForceText = (await client.get(`/${prefix}/strategies`).string()) as string;
    await client.put(`/${prefix}/strategies`).value('version: 2\npresets: {}\n');
    await waitUntil(
      () => client.get(`/${prefix}/strategies.kept`).string(),
      (kept) => kept === inForceText,
      { what: 'the set in force kept' },
    );
    await server.close();

    const target = await tempRuntimeDir();
    const refused = await stratctl(['store', 'migrate', '--from', cluster.url(prefix), '--to', `file:${target}`]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      `/${prefix}/strategies is kept out: the config in force is invalid with it (active_strategy_key: Invalid strategy key: gold_fast)`,
    );
    expect(refused.stderr).toContain(
      `the deployment runs the presets kept at /${prefix}/strategies.kept (version 1), which a move does not copy`,
    );
    expect(refused.stderr).toContain(
      `put that set back into /${prefix}/strategies, or make the config stop using what /${prefix}/strategies removes`,
    );
    expect(refused.stderr).not.toContain('config: line');
    expect(await files(target)).toEqual([]);

    await client.put(`/${prefix}/strategies`).value(inForceText);
    const moved = await stratctl(['store', 'migrate', '--from', cluster.url(prefix), '--to', `file:${target}`]);
    expect(moved.stderr).toBe('');
    expect(moved.code).toBe(0);
    expect(await readFile(path.join(target, 'strategies.yaml'), 'utf8')).toBe(inForceText);
  });
});
