import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DRAIN_MS } from '../../src/http/listen.js';
import { ROOT, spawnProcess, startTestServer } from '../helpers/server.js';

// What the image and the unit promise, read from the files as written. `npm run image:dry-run`
// (scripts/image-dry-run.sh) runs the Dockerfile's steps, CMD and HEALTHCHECK for real.
const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const unit = readFileSync(path.join(ROOT, 'docs/strategy-control-plane.service'), 'utf8');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
const instructions = dockerfile
  .replace(/\\\n\s*/g, ' ')
  .split('\n')
  .filter((l) => /^[A-Z]+ /.test(l));
const stage = (name: string) => {
  const start = instructions.findIndex((l) => l.startsWith('FROM ') && l.endsWith(` AS ${name}`));
  const end = instructions.findIndex((l, i) => i > start && l.startsWith('FROM '));
  return instructions.slice(start, end === -1 ? undefined : end);
};

describe('Dockerfile', () => {
  it('builds in one stage (npm ci runs prepare) and runs production dependencies only, without install scripts, in another', () => {
    const build = stage('build');
    const runtime = stage('runtime');
    expect(build.length).toBeGreaterThan(0);
    expect(build.some((l) => /^RUN .*npm ci(?! .*--omit)/.test(l))).toBe(true);
    expect(runtime.some((l) => /^RUN .*npm ci .*--omit=dev.*--ignore-scripts/.test(l))).toBe(true);
    expect(runtime).toContain('COPY --from=build /src/dist ./dist');
  });

  it('takes the commit /version names as a build argument of the build stage, before its npm ci; never into the runtime stage', () => {
    const build = stage('build');
    const arg = build.indexOf('ARG BUILD_COMMIT=');
    expect(arg).toBeGreaterThan(-1);
    expect(arg).toBeLessThan(build.findIndex((l) => /^RUN .*npm ci/.test(l)));
    // Read by the build only: not a setting of the image (no ARG or ENV of it where the server runs).
    expect(stage('runtime').filter((l) => l.includes('BUILD_COMMIT'))).toEqual([]);
    expect(dockerfile).toContain('docker build --build-arg BUILD_COMMIT=$(git rev-parse HEAD)');
  });

  it('every file a COPY takes from the build context is in the context (.dockerignore does not leave it out)', () => {
    // .dockerignore's patterns as written here: names at the root, and `*.ext`.
    const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    const excludes = (source: string) =>
      ignored.some((p) => (p.startsWith('*.') ? source.endsWith(p.slice(1)) : source === p || source.startsWith(`${p}/`)));
    const sources = instructions
      .filter((l) => l.startsWith('COPY ') && !l.startsWith('COPY --from='))
      .flatMap((l) => l.split(/\s+/).slice(1, -1));
    expect(sources).toEqual([
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'scripts',
      'src',
      'package.json',
      'package-lock.json',
      'bin',
    ]);
    // `COPY scripts` failed the build ("/scripts": not found) while .dockerignore still excluded it.
    expect(sources.filter(excludes)).toEqual([]);
  });

  it('runs as a non-root user, the runtime directory a volume, a HEALTHCHECK on /health, SIGTERM, serve on all interfaces', () => {
    const runtime = stage('runtime');
    const user = runtime.findIndex((l) => l.startsWith('USER '));
    expect(runtime[user]).toBe('USER node');
    const dir = /CONTROL_PLANE_RUNTIME_DIR=(\S+)/.exec(runtime.find((l) => l.startsWith('ENV ')) ?? '')?.[1];
    expect(dir).toBe('/var/lib/strategy-control-plane');
    expect(runtime).toContain(`VOLUME ["${dir}"]`);
    expect(runtime.find((l) => l.startsWith('HEALTHCHECK '))).toMatch(
      /CMD \[.*http:\/\/127\.0\.0\.1:' \+ \(\(process\.env\.CONTROL_PLANE_PORT \|\| ''\)\.trim\(\) \|\| 8787\) \+ '\/health/,
    );
    expect(runtime).toContain('EXPOSE 8787');
    expect(runtime).toContain('STOPSIGNAL SIGTERM');
    expect(runtime.at(-1)).toBe('CMD ["node", "--single-threaded-gc", "dist/cli.js", "serve", "--host", "0.0.0.0"]');
    expect(runtime.findIndex((l) => l.startsWith('CMD '))).toBeGreaterThan(user);
    expect(dockerfile).toMatch(/--stop-timeout 15/); // more than the 10 s drain
  });
});

describe('Dockerfile HEALTHCHECK, run as written', () => {
  const healthcheck = (): string[] => {
    const line = stage('runtime').find((l) => l.startsWith('HEALTHCHECK ')) ?? '';
    return JSON.parse(line.slice(line.indexOf('CMD [') + 4)) as string[];
  };
  const run = (env: Record<string, string>) =>
    new Promise<number | null>((resolve) => {
      const [command = '', ...args] = healthcheck();
      const child = spawn(command === 'node' ? process.execPath : command, args, { env: { ...process.env, ...env }, stdio: 'ignore' });
      child.once('exit', resolve);
    });

  it('asks /health on the port serve listens on (CONTROL_PLANE_PORT), not always on 8787', async () => {
    const server = await startTestServer();
    const port = new URL(server.origin).port;
    expect(port).not.toBe('8787');
    expect(await run({ CONTROL_PLANE_PORT: port })).toBe(0);
    // serve reads the port with blanks around it as written; the check did not (an invalid URL: unhealthy).
    expect(await run({ CONTROL_PLANE_PORT: ` ${port} ` })).toBe(0);
    // Nothing listens there any more: unhealthy.
    await server.close();
    expect(await run({ CONTROL_PLANE_PORT: port })).toBe(1);
  });
});

describe('systemd unit (docs/)', () => {
  const setting = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(unit)?.[1];
  it('simple service, restarted on failure, stopped with SIGTERM and more time than the drain', () => {
    expect(['simple', 'notify']).toContain(setting('Type'));
    expect(setting('Restart')).toBe('on-failure');
    expect(setting('KillSignal')).toBe('SIGTERM');
    expect(Number(setting('TimeoutStopSec'))).toBeGreaterThan(DRAIN_MS / 1000);
    expect(setting('ExecStart')).toMatch(/node --single-threaded-gc \S+\/dist\/cli\.js serve$/);
    expect(setting('StateDirectory')).toBe('strategy-control-plane');
    expect(unit).toContain('Environment=CONTROL_PLANE_RUNTIME_DIR=/var/lib/strategy-control-plane');
    expect(setting('User')).not.toBe('root');
  });
});

describe('the allocator setting (README, "Memory")', () => {
  // glibc reads MALLOC_MMAP_THRESHOLD_ only at process start, so every way of starting the server in
  // production sets it, and the bench measures the server as they run it.
  const runtimeEnv = stage('runtime').find((l) => l.startsWith('ENV ')) ?? '';

  it("the image, the unit and `npm start` fix malloc's mmap threshold at 128 KiB; an operator may set another", () => {
    expect(runtimeEnv).toMatch(/ MALLOC_MMAP_THRESHOLD_=131072( |$)/);
    expect(unit).toMatch(/^Environment=MALLOC_MMAP_THRESHOLD_=131072$/m);
    // An operator's value wins: systemd lets EnvironmentFile= settings override Environment=.
    expect(unit).toMatch(/^EnvironmentFile=-\/etc\/strategy-control-plane\/env$/m);
    expect(pkg.scripts.start).toMatch(
      /^MALLOC_MMAP_THRESHOLD_=\$\{MALLOC_MMAP_THRESHOLD_:-131072\} exec node --single-threaded-gc dist\/cli\.js serve$/,
    );
  });

  it('the bench starts its servers with the same setting', async () => {
    const { SERVER_ENV } = await import('../../bench/lib/processes.js');
    expect(SERVER_ENV.MALLOC_MMAP_THRESHOLD_).toBe(process.env.MALLOC_MMAP_THRESHOLD_ ?? '131072');
  });
});

describe('the collector setting (README, "Memory")', () => {
  // A V8 flag that only the command line sets (not NODE_OPTIONS, not the program itself), so every
  // way of starting the server in production passes it, and the bench runs the server the same way.
  const FLAG = '--single-threaded-gc';

  it("`npm start`, the image and the unit start node with V8's collector kept to the main thread", () => {
    expect(pkg.scripts.start).toContain(`exec node ${FLAG} dist/cli.js serve`);
    expect(stage('runtime').at(-1)).toMatch(new RegExp(`^CMD \\["node", "${FLAG}", "dist/cli\\.js", "serve"`));
    expect(unit).toMatch(new RegExp(`^ExecStart=/usr/bin/node ${FLAG} \\S+/dist/cli\\.js serve$`, 'm'));
  });

  it('the bench starts this server with the same flags (its peers and a separate runner without)', async () => {
    const { SERVER_NODE_FLAGS, serverCommand } = await import('../../bench/lib/processes.js');
    expect(SERVER_NODE_FLAGS).toEqual([FLAG]);
    const serve = serverCommand(['serve'], ['--cpu-prof']);
    expect(serve.args.slice(0, 3)).toEqual([FLAG, '--cpu-prof', 'dist/cli.js']);
    expect(serve.label).toBe(`node ${FLAG} dist/cli.js`);
  });

  it('node on this machine takes the flag (an unknown V8 flag would stop the server at its start)', async () => {
    const child = spawnProcess(process.execPath, [FLAG, '-e', 'process.stdout.write(String(process.execArgv))']);
    await child.closed;
    expect({ code: await child.exited, out: child.stdout(), err: child.stderr() }).toEqual({
      code: 0,
      out: `${FLAG},-e,process.stdout.write(String(process.execArgv))`,
      err: '',
    });
  });
});
