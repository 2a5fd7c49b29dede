/**
 * One group commit's disk work, as the server's file store does it, for the bench's floors: in the
 * bench process, on a worker thread of the bench process, and behind a bare node:http server (the
 * plain peer's durable route).
 */
import fs from 'node:fs';
import path from 'node:path';

/**
 * One group commit's disk work, with the calls the server's I/O thread makes (synchronous, in the
 * same order): the config's mode read, the config held open (so the rename does not free it) and
 * linked to a second name (put back from it if the group fails), a temp file written and fsync'd, the file read back just before the rename (the hand-edit check),
 * the rename, the directory fsync'd, then one audit line appended and fsync'd, the second name
 * removed. Returns the held
 * file, closed by the caller after the timing (the server lets it go after its answer).
 * Self-contained (node:fs passed in, paths joined by hand): it also runs, as its source text, in a
 * worker thread.
 */
export function groupWriteOnce(fs: typeof import('node:fs'), dir: string, i: number): number {
  const target = `${dir}/config.yaml`;
  const mode = fs.statSync(target).mode & 0o777;
  const held = fs.openSync(target, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  const aside = `${target}.${i}.aside.tmp`;
  fs.linkSync(target, aside);
  const tmpFile = `${target}.${i}.tmp`;
  const fd = fs.openSync(tmpFile, 'wx', mode);
  fs.writeFileSync(fd, `active_strategy_key: gold\nversion: ${i}\n`);
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  fs.readFileSync(target, 'utf8');
  fs.renameSync(tmpFile, target);
  const d = fs.openSync(dir, 'r');
  fs.fsyncSync(d);
  fs.closeSync(d);
  const audit = fs.openSync(`${dir}/audit.log`, 'a', 0o600);
  fs.fstatSync(audit);
  fs.writeFileSync(audit, `{"version":${i},"operation":"activateStrategy"}\n`);
  fs.fsyncSync(audit);
  fs.closeSync(audit);
  fs.unlinkSync(aside);
  return held;
}

/** `groupWriteOnce` in this process, timed (ms); the held file closed after the timing, as the server lets it go after its answer. */
export function timedGroupWrite(dir: string, i: number): number {
  const t0 = performance.now();
  const held = groupWriteOnce(fs, dir, i);
  const ms = performance.now() - t0;
  fs.closeSync(held);
  return ms;
}

/**
 * A worker thread's source (`new Worker(source, { eval: true })`) that does `groupWriteOnce` in
 * `dir` for each number it is sent, answers with that number, then closes the held file: as the
 * file store's I/O thread is asked and answers by message.
 */
export function groupWriteWorkerSource(dir: string): string {
  return `const fs = require('node:fs'); const { parentPort } = require('node:worker_threads');
     const once = ${groupWriteOnce.toString()};
     parentPort.on('message', (i) => { const held = once(fs, ${JSON.stringify(dir)}, i); parentPort.postMessage(i); fs.closeSync(held); });`;
}

/** Puts a small config.yaml in `dir` (made if missing) for `groupWriteOnce`; returns `dir`. */
export function groupFloorDirIn(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.yaml'), 'active_strategy_key: gold\nversion: 0\n');
  return dir;
}
