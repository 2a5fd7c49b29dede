import { createHash } from 'node:crypto';
import { chmod, open, readFile, rename, stat, truncate, unlink } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileTokenStore } from '../../src/auth/file-token-store.js';
import { createToken, restoreToken, revokeToken, rotateToken, TOKENS_FILE } from '../../src/auth/token-file.js';
import { renamedAfterWritten, type SettleClock, WHOLE_READ_MS } from '../../src/fs/settle.js';
import { parseYaml } from '../../src/yaml/core.js';
import type { YamlParser } from '../../src/yaml/off-thread.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';

/** What the store says of a tokens.yaml taken as it stands after changing for `ms` (the config store's words). */
const KEPT_CHANGING = (ms: number) =>
  `tokens.yaml kept changing for ${ms} ms: taken as it stands; write a hand edit whole (a temp file, then a rename)`;

const digest = (token: string) => createHash('sha256').update(token).digest('hex');

/** A YAML parser for the store that notes every text it is given (each read of tokens.yaml), then calls `then`. */
function notingYaml(then: (text: string) => Promise<void> = async () => {}): YamlParser & { texts: string[] } {
  const texts: string[] = [];
  return {
    texts,
    async parse(text) {
      texts.push(text);
      await then(text);
      return parseYaml(text);
    },
    edit: () => Promise.reject(new Error('not used')),
    close: async () => {},
    running: false,
  };
}

/**
 * Settle clocks for a test that tears a read with a real write: the loop's durations (its bound, how
 * long it has waited) on a clock only its sleeps and the test move, so a CI host too busy to end a
 * read within the bound does not end the loop's retries; the file times against the real wall clock,
 * so a read the next write tore is told by the kernel's ctime. Each sleep also waits a moment of real
 * time (at most WHOLE_READ_MS / 5), so that a read between two writes comes in the end.
 */
function loopClock(): SettleClock & { advance(ms: number): void } {
  let mono = 0;
  return {
    wall: () => Date.now(),
    now: () => mono,
    sleep: async (ms) => {
      mono += ms;
      await new Promise((r) => setTimeout(r, Math.min(ms, WHOLE_READ_MS / 5)));
    },
    advance: (ms) => {
      mono += ms;
    },
  };
}

describe('tokens.yaml refused, then fixed', () => {
  it('says the refusal once at WARN and its end once at INFO, so the log tells when named tokens worked again', async () => {
    const dir = await tempRuntimeDir();
    const token = await createToken(dir, 'ci-deploy', 'admin');
    const file = path.join(dir, TOKENS_FILE);
    const warnings: string[] = [];
    const infos: string[] = [];
    const store = fileTokenStore(dir, { warn: (m) => warnings.push(m), info: (m) => infos.push(m) });
    try {
      expect(await store.find(digest(token))).toBeDefined();
      await chmod(file, 0o666); // world-writable: not trusted (checked on mode, so root too)
      expect(await store.find(digest(token))).toBeUndefined();
      expect(await store.find(digest(token))).toBeUndefined();
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/^named tokens refused until .*tokens\.yaml is fixed: /);
      expect(infos).toEqual([]);

      await chmod(file, 0o600);
      expect(await store.find(digest(token))).toBeDefined();
      expect(infos).toEqual([`named tokens are accepted again: ${file} is read`]);
      expect(warnings).toHaveLength(1);
    } finally {
      await store.close();
    }
  });
});

describe('tokens.yaml written by hand', () => {
  it('created in place in pieces (it was missing): read once whole, so its first half is never taken for a broken file', async () => {
    const dir = await tempRuntimeDir();
    // The text a whole tokens.yaml with one token has, written elsewhere.
    const source = await tempRuntimeDir();
    const token = await createToken(source, 'ops', 'read');
    const text = await readFile(path.join(source, TOKENS_FILE), 'utf8');
    const warnings: string[] = [];
    const store = fileTokenStore(dir, { warn: (m) => warnings.push(m), settle: { ms: 300, maxMs: 3000 } });
    try {
      expect(await store.find(digest(token))).toBeUndefined(); // missing: no named tokens
      const file = path.join(dir, TOKENS_FILE);
      const handle = await open(file, 'wx', 0o600);
      const half = text.indexOf('sha256:') + 'sha256: '.length + 10; // cut inside the digest: not a valid file
      await handle.write(text.slice(0, half), 0);
      const found = store.find(digest(token)); // a request in the middle of the edit
      await new Promise((r) => setTimeout(r, 50));
      await handle.write(text.slice(half), half);
      await handle.close();
      expect((await found)?.name).toBe('ops');
      expect(warnings).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('replaced by a rename (stratctl token revoke): read at once, never after a settle window', async () => {
    const dir = await tempRuntimeDir();
    const token = await createToken(dir, 'ops', 'read');
    const SETTLE_MS = 1500;
    const store = fileTokenStore(dir, { settle: { ms: SETTLE_MS, maxMs: 2 * SETTLE_MS } });
    try {
      // Just created, not seen before: its first look waits until it is still (it may be written in place).
      expect((await store.find(digest(token)))?.name).toBe('ops');
      expect(await revokeToken(dir, 'ops')).toBe(true);
      const t0 = Date.now();
      expect(await store.find(digest(token))).toBeUndefined();
      expect(Date.now() - t0).toBeLessThan(SETTLE_MS);
    } finally {
      await store.close();
    }
  });
  it('stratctl token create, rotate and revoke: each in force on the next look, never after a settle window', async () => {
    const dir = await tempRuntimeDir();
    const ops = await createToken(dir, 'ops', 'read');
    const SETTLE_MS = 1500;
    const store = fileTokenStore(dir, { settle: { ms: SETTLE_MS, maxMs: 2 * SETTLE_MS } });
    /** The store's answer for `token`, and how long it took when that was a settle window or more (late: false, sooner). */
    const find = async (token: string) => {
      const t0 = Date.now();
      const found = await store.find(digest(token));
      const ms = Date.now() - t0;
      return { name: found?.name, late: ms >= SETTLE_MS ? ms : false };
    };
    try {
      // Just created, not seen before: its first look waits until it is still (it may be written in place).
      expect((await find(ops)).name).toBe('ops');
      // Three rounds: a write and its rename mostly share a tick of the file clock, and each round
      // has three writes that must each be read at once.
      for (let i = 0; i < 3; i++) {
        const ci = await createToken(dir, `ci-${i}`, 'operate');
        expect(await find(ci)).toEqual({ name: `ci-${i}`, late: false });
        const rotated = await rotateToken(dir, `ci-${i}`);
        expect(await find(ci)).toEqual({ name: undefined, late: false });
        expect(await find(rotated?.token as string)).toEqual({ name: `ci-${i}`, late: false });
        expect(await revokeToken(dir, `ci-${i}`)).toBe(true);
        expect(await find(rotated?.token as string)).toEqual({ name: undefined, late: false });
      }
      expect((await find(ops)).name).toBe('ops');
    } finally {
      await store.close();
    }
  });

  it('created anew by vim while no look saw it missing: its first part is not taken for a file renamed into place', async () => {
    const dir = await tempRuntimeDir();
    const token = await createToken(dir, 'ops', 'read');
    const file = path.join(dir, TOKENS_FILE);
    const text = await readFile(file, 'utf8');
    const yaml = notingYaml();
    const warnings: string[] = [];
    const store = fileTokenStore(dir, { yaml, warn: (m) => warnings.push(m), settle: { ms: 1000, maxMs: 3000 } });
    try {
      expect((await store.find(digest(token)))?.name).toBe('ops');
      // vim: the file renamed to its backup, a new one created and a third of it written, all before
      // the store looks again (its first look after the edit is at a new inode, a third written).
      await rename(file, `${file}~`);
      const handle = await open(file, 'wx', 0o600);
      const third = text.indexOf('sha256:') + 'sha256: '.length + 10; // inside the digest: not a valid file
      await handle.write(text.slice(0, third), 0);
      const found = store.find(digest(token));
      await new Promise((r) => setTimeout(r, 300));
      await handle.write(text.slice(third), third);
      await handle.close();
      await unlink(`${file}~`);
      expect((await found)?.name).toBe('ops');
      expect(yaml.texts.filter((t) => t !== text)).toEqual([]);
      expect(warnings).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('replaced by stratctl token, then edited in place before any request read it: waits until still, like any edit in place', async () => {
    const dir = await tempRuntimeDir();
    const token = await createToken(dir, 'ops', 'read');
    const file = path.join(dir, TOKENS_FILE);
    const yaml = notingYaml();
    const warnings: string[] = [];
    const store = fileTokenStore(dir, { yaml, warn: (m) => warnings.push(m), settle: { ms: 1000, maxMs: 3000 } });
    try {
      expect((await store.find(digest(token)))?.name).toBe('ops');
      // stratctl replaces it (a new token); nobody asks; then an edit in place (the comment), in pieces.
      await createToken(dir, 'ci', 'operate');
      const text = `${await readFile(file, 'utf8')}# ci: the deploy pipeline\n`;
      const handle = await open(file, 'r+');
      await handle.truncate(0);
      const third = text.indexOf('sha256:') + 'sha256: '.length + 10;
      await handle.write(text.slice(0, third), 0);
      const found = store.find(digest(token));
      await new Promise((r) => setTimeout(r, 300));
      await handle.write(text.slice(third), third);
      await handle.close();
      expect((await found)?.name).toBe('ops');
      expect(yaml.texts.slice(1).filter((t) => t !== text)).toEqual([]);
      expect(warnings).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('gone missing (vim renames it away, then writes a new one): never taken for "no tokens" in the gap; removed, taken once it stayed missing', async () => {
    const dir = await tempRuntimeDir();
    const token = await createToken(dir, 'ops', 'read');
    const file = path.join(dir, TOKENS_FILE);
    const text = await readFile(file, 'utf8');
    const SETTLE_MS = 1000;
    const store = fileTokenStore(dir, { settle: { ms: SETTLE_MS, maxMs: 3 * SETTLE_MS } });
    try {
      expect((await store.find(digest(token)))?.name).toBe('ops');
      // vim: renamed to the backup; a request in the gap; the new file written in two pieces.
      await rename(file, `${file}~`);
      const found = store.find(digest(token));
      await new Promise((r) => setTimeout(r, 50));
      const handle = await open(file, 'wx', 0o600);
      const half = text.indexOf('sha256:') + 'sha256: '.length + 10;
      await handle.write(text.slice(0, half), 0);
      await new Promise((r) => setTimeout(r, 50));
      await handle.write(text.slice(half), half);
      await handle.close();
      await unlink(`${file}~`);
      expect((await found)?.name).toBe('ops');

      // Removed on purpose: no named tokens, once it has stayed missing for the window; then not waited for again.
      await unlink(file);
      let t0 = Date.now();
      expect(await store.find(digest(token))).toBeUndefined();
      expect(Date.now() - t0).toBeGreaterThanOrEqual(SETTLE_MS - 50);
      t0 = Date.now();
      expect(await store.find(digest(token))).toBeUndefined();
      expect(Date.now() - t0).toBeLessThan(SETTLE_MS);
    } finally {
      await store.close();
    }
  });
});

describe('tokens.yaml still changing past the settle bound', () => {
  // The writer's next piece lands the moment the store's read of the file is done, before it looks
  // at the file again: that read is torn, whatever the machine's timing. The YAML parser the store
  // takes (the step between its read and its look after it) is where the test writes that piece.
  it.each([
    [
      'its first piece (half a digest: invalid, every named token refused)',
      (whole: string) => whole.indexOf('sha256:') + 'sha256: '.length + 10,
    ],
    ['the moment after its truncate (empty: no named tokens)', () => 0],
  ])('a read of %s is not taken: read again until whole', async (_what, cutAt) => {
    const dir = await tempRuntimeDir();
    const token = await createToken(dir, 'ops', 'read');
    const file = path.join(dir, TOKENS_FILE);
    const whole = await readFile(file, 'utf8');
    const cut = cutAt(whole);
    const handle = await open(file, 'r+');
    await handle.truncate(0);
    if (cut > 0) await handle.write(whole.slice(0, cut), 0);
    const yaml = notingYaml(async (text) => {
      if (text === whole.slice(0, cut)) await handle.write(whole.slice(cut), cut);
    });
    const parsed = yaml.texts;
    const warnings: string[] = [];
    // Never still for the window (60 s): taken as it stands once the bound (300 ms) has passed.
    const store = fileTokenStore(dir, {
      yaml,
      warn: (m) => warnings.push(m),
      settle: { ms: 60_000, maxMs: 300 },
      settleClock: loopClock(),
    });
    try {
      expect((await store.find(digest(token)))?.name).toBe('ops');
      expect(parsed[0]).toBe(whole.slice(0, cut)); // the torn read came, and was not taken
      expect(parsed.at(-1)).toBe(whole);
      // Taken as it stands, and said (as the config store says it): nothing else (no refusal).
      expect(warnings).toEqual([KEPT_CHANGING(300)]);
    } finally {
      await handle.close();
      await store.close();
    }
  });

  it('says it kept changing once per spell: not again while edits in place go on, again after a rename into place ended it', async () => {
    const dir = await tempRuntimeDir();
    const ops = await createToken(dir, 'ops', 'read');
    const file = path.join(dir, TOKENS_FILE);
    const warnings: string[] = [];
    // Never still for the window (60 s): every edit in place is taken as it stands once the bound (100 ms) has passed.
    const store = fileTokenStore(dir, { warn: (m) => warnings.push(m), settle: { ms: 60_000, maxMs: 100 } });
    /** An edit in place (appended, as `echo >>` does): the same file, its content changed. */
    const editInPlace = async (comment: string) => {
      const handle = await open(file, 'a');
      await handle.write(`# ${comment}\n`);
      await handle.close();
    };
    try {
      expect((await store.find(digest(ops)))?.name).toBe('ops'); // just created: not seen before, taken past the bound
      expect(warnings).toEqual([KEPT_CHANGING(100)]);
      for (let i = 0; i < 3; i++) {
        await editInPlace(`edit ${i}`);
        expect((await store.find(digest(ops)))?.name).toBe('ops');
      }
      expect(warnings).toEqual([KEPT_CHANGING(100)]); // the same spell: said once
      // stratctl token writes it whole (renamed into place): read at once, still; the spell is over.
      const ci = await createToken(dir, 'ci', 'operate');
      expect((await store.find(digest(ci)))?.name).toBe('ci');
      expect(warnings).toEqual([KEPT_CHANGING(100)]);
      // Edited in place again: a new spell, said again.
      await editInPlace('again');
      expect((await store.find(digest(ci)))?.name).toBe('ci');
      expect(warnings).toEqual([KEPT_CHANGING(100), KEPT_CHANGING(100)]);
    } finally {
      await store.close();
    }
  });

  it('a spell ends when the file it took is found still since, even with no change to read: the next spell is said', async () => {
    const dir = await tempRuntimeDir();
    const ops = await createToken(dir, 'ops', 'read');
    const SETTLE_MS = 400;
    const warnings: string[] = [];
    // Injected clocks: on the real ones, a host that stalled the request 400 ms after the edit found it still (no spell to say).
    const v = virtualSettleClock(path.join(dir, TOKENS_FILE));
    const store = fileTokenStore(dir, { warn: (m) => warnings.push(m), settle: { ms: SETTLE_MS, maxMs: 50 }, settleClock: v.clock });
    try {
      await v.editInPlace();
      expect((await store.find(digest(ops)))?.name).toBe('ops');
      expect(warnings).toEqual([KEPT_CHANGING(50)]);
      // No more writes: a look once the file has been still for the window (not re-read: unchanged) ends the spell.
      v.advance(SETTLE_MS);
      expect((await store.find(digest(ops)))?.name).toBe('ops');
      expect(warnings).toEqual([KEPT_CHANGING(50)]);
      await v.editInPlace();
      expect((await store.find(digest(ops)))?.name).toBe('ops');
      expect(warnings).toEqual([KEPT_CHANGING(50), KEPT_CHANGING(50)]);
    } finally {
      await store.close();
    }
  });
});

/**
 * Injected settle clocks for a tokens.yaml the test writes: a monotonic clock that only the store's
 * sleeps and `advance` move (the durations measured), and a wall clock that puts each file time
 * (stamped by the kernel on the real clock) as far in the past as the monotonic clock moved since the
 * test's last write, plus 20 ms (so every read is one between two writes, src/fs/settle.ts
 * readWhole). `write` is a writer's turn: it runs in every sleep of the store, as a tool rewriting
 * the file without a pause does.
 */
function virtualSettleClock(file: string) {
  let mono = 0;
  let writtenAt = 0;
  let writes = 0;
  const state: { write?: () => Promise<void> } = {};
  const edit = async (text: string, flag: 'a' | 'r+' = 'a', at?: number) => {
    const handle = await open(file, flag);
    try {
      if (at === undefined) await handle.write(text);
      else await handle.write(text, at);
    } finally {
      await handle.close();
    }
    writtenAt = mono;
  };
  const clock: SettleClock = {
    wall: () => Date.now() + 20 + (mono - writtenAt),
    now: () => mono,
    sleep: async (ms) => {
      mono += ms;
      await state.write?.();
    },
  };
  return {
    clock,
    state,
    now: () => mono,
    advance: (ms: number) => {
      mono += ms;
    },
    /** An edit in place (appended, as `echo >>` does): the same file, its content changed. */
    editInPlace: () => edit(`# edit ${writes++}\n`),
    edit,
  };
}

describe('tokens.yaml rewritten in place without a pause, over many requests', () => {
  const SETTLE = { ms: 1_000, maxMs: 5_000 };

  it('a request during the spell takes the file at once (from a read between two writes), not after the bound again', async () => {
    const dir = await tempRuntimeDir();
    const ops = await createToken(dir, 'ops', 'read');
    const v = virtualSettleClock(path.join(dir, TOKENS_FILE));
    const warnings: string[] = [];
    const store = fileTokenStore(dir, { warn: (m) => warnings.push(m), settle: SETTLE, settleClock: v.clock });
    v.state.write = v.editInPlace; // never still: written again while the store waits
    try {
      await v.editInPlace();
      expect((await store.find(digest(ops)))?.name).toBe('ops');
      expect(v.now()).toBeGreaterThanOrEqual(SETTLE.maxMs); // the first request waits the bound
      expect(warnings).toEqual([KEPT_CHANGING(SETTLE.maxMs)]);
      for (const gap of [0, 0, 3_000]) {
        v.advance(gap); // within the window plus the bound since the last take: the same spell
        await v.editInPlace();
        const at = v.now();
        expect((await store.find(digest(ops)))?.name).toBe('ops');
        expect(v.now() - at).toBeLessThan(SETTLE.ms);
      }
      expect(warnings).toEqual([KEPT_CHANGING(SETTLE.maxMs)]); // one spell: said once
    } finally {
      await store.close();
    }
  });

  it('a spell no request saw end is over after the window plus the bound: a later edit in place waits until still, its first piece never taken', async () => {
    const dir = await tempRuntimeDir();
    const ops = await createToken(dir, 'ops', 'read');
    const file = path.join(dir, TOKENS_FILE);
    const v = virtualSettleClock(file);
    const yaml = notingYaml();
    const warnings: string[] = [];
    const store = fileTokenStore(dir, { yaml, warn: (m) => warnings.push(m), settle: SETTLE, settleClock: v.clock });
    try {
      v.state.write = v.editInPlace;
      await v.editInPlace();
      expect((await store.find(digest(ops)))?.name).toBe('ops'); // a spell, taken as it stands
      expect(warnings).toEqual([KEPT_CHANGING(SETTLE.maxMs)]);
      // The tool stops; the file stays still, and no request comes, for longer than the window plus the bound.
      v.state.write = undefined;
      v.advance(SETTLE.ms + SETTLE.maxMs + 1);
      // Edited in place again, in two pieces: the second one lands while the store waits.
      const whole = await readFile(file, 'utf8');
      const cut = whole.indexOf('sha256:') + 'sha256: '.length + 10; // half a digest: every named token refused
      await truncate(file, 0);
      await v.edit(whole.slice(0, cut), 'r+', 0);
      v.state.write = async () => {
        v.state.write = undefined;
        await v.edit(whole.slice(cut), 'r+', cut);
      };
      const at = v.now();
      const parsedBefore = yaml.texts.length;
      expect((await store.find(digest(ops)))?.name).toBe('ops');
      expect(yaml.texts.slice(parsedBefore)).toEqual([whole]); // the first piece was never read
      expect(v.now() - at).toBeGreaterThanOrEqual(SETTLE.ms); // waited until still for the window
      expect(v.now() - at).toBeLessThan(SETTLE.maxMs); // still: not taken as it stands
      expect(warnings).toEqual([KEPT_CHANGING(SETTLE.maxMs)]);
    } finally {
      await store.close();
    }
  });
});

describe('tokens.yaml torn deep into a spell', () => {
  it('a request more than twice the bound into a spell does not take a read of the first piece of an edit: read again until whole', async () => {
    const dir = await tempRuntimeDir();
    const token = await createToken(dir, 'ops', 'read');
    const file = path.join(dir, TOKENS_FILE);
    const whole = await readFile(file, 'utf8');
    const cut = whole.indexOf('sha256:') + 'sha256: '.length + 10; // half a digest: every named token refused
    let torn: { write(): Promise<unknown> } | undefined;
    const yaml = notingYaml(async (text) => {
      if (torn && text === whole.slice(0, cut)) await torn.write();
    });
    const warnings: string[] = [];
    // On the real monotonic clock, a CI host too busy to end one read within the bound made the read of the first piece the one taken.
    const clock = loopClock();
    // Never still for the window (60 s): taken as it stands past the bound (100 ms), the spell carried across requests.
    const store = fileTokenStore(dir, { yaml, warn: (m) => warnings.push(m), settle: { ms: 60_000, maxMs: 100 }, settleClock: clock });
    try {
      // A tool rewriting it in place (appending a line) while requests come, for more than twice the bound.
      do {
        const handle = await open(file, 'a');
        await handle.write('# again\n');
        await handle.close();
        expect((await store.find(digest(token)))?.name).toBe('ops');
        clock.advance(20);
      } while (clock.now() < 3 * 100);
      // Its next write, in two pieces: the second lands the moment the store's read of the first is done.
      const handle = await open(file, 'r+');
      await handle.truncate(0);
      await handle.write(whole.slice(0, cut), 0);
      torn = { write: () => handle.write(whole.slice(cut), cut) };
      try {
        const parsedBefore = yaml.texts.length;
        const at = clock.now();
        expect((await store.find(digest(token)))?.name).toBe('ops');
        // The torn read came, and was not taken: read again (between two writes, so perhaps more than once) until whole.
        const [first, ...then] = yaml.texts.slice(parsedBefore);
        expect(first).toBe(whole.slice(0, cut));
        expect(new Set(then)).toEqual(new Set([whole]));
        expect(clock.now() - at).toBeLessThan(100); // read again within another bound, not taken at its end whatever it held
      } finally {
        await handle.close();
      }
      expect(warnings).toEqual([KEPT_CHANGING(100)]); // one spell; no refusal
    } finally {
      await store.close();
    }
  });
});

describe('stratctl token writes tokens.yaml', () => {
  it('so that it shows it was renamed into place after it was written (ctime after mtime), even when write and rename share a clock tick', async () => {
    // A write and its rename mostly fall within one tick of the kernel's file clock (196 of 200
    // atomic writes here): without the times set back, ctime equals mtime and the file cannot be
    // told from one created anew and being written by hand.
    const dir = await tempRuntimeDir();
    const file = path.join(dir, TOKENS_FILE);
    const seen: { step: string; ctimeMs: number; mtimeMs: number; renamed: boolean }[] = [];
    const note = async (step: string) => {
      const s = await stat(file);
      seen.push({ step, ctimeMs: s.ctimeMs, mtimeMs: s.mtimeMs, renamed: renamedAfterWritten(s) });
    };
    for (let i = 0; i < 5; i++) {
      await createToken(dir, `t${i}`, 'read');
      await note(`create t${i}`);
      expect(await rotateToken(dir, `t${i}`)).not.toBeNull();
      await note(`rotate t${i}`);
    }
    for (let i = 0; i < 5; i++) {
      expect(await revokeToken(dir, `t${i}`)).toBe(true);
      await note(`revoke t${i}`);
    }
    expect(seen.filter((s) => !s.renamed)).toEqual([]);
    expect(seen).toHaveLength(15);
  });
});

describe('stratctl token never writes a tokens.yaml the server refuses', () => {
  it('an expiry that renders past year 9999 (asked of the store, not through the CLI flags): refused, nothing written, the file still read', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, TOKENS_FILE);
    await createToken(dir, 'keep', 'read');
    const before = await readFile(file, 'utf8');
    const past9999 = { expiresAt: new Date(8.64e15) };
    await expect(rotateToken(dir, 'keep', past9999)).rejects.toThrow(
      /^the new tokens\.yaml would be invalid \(tokens\.yaml: tokens\.0\.expires_at: must be an ISO 8601 time with its zone.*\): nothing written$/,
    );
    await expect(createToken(dir, 'later', 'read', past9999)).rejects.toThrow(/the new tokens\.yaml would be invalid .*: nothing written$/);
    expect(await readFile(file, 'utf8')).toBe(before);
    expect(await rotateToken(dir, 'keep')).not.toBeNull();
  });
});

describe('restoreToken (stratctl undoing a create or rotation whose secret stdout did not take)', () => {
  it('puts the previous record back in its place (or removes a created one) only while the record is the one written', async () => {
    const dir = await tempRuntimeDir();
    const file = path.join(dir, TOKENS_FILE);
    await createToken(dir, 'first', 'read');
    await createToken(dir, 'ci', 'operate');
    await createToken(dir, 'last', 'read');
    const before = await readFile(file, 'utf8');
    const rotated = await rotateToken(dir, 'ci');
    if (!rotated) throw new Error('ci was not rotated');
    // Another command rotated it again meanwhile: that rotation stands, nothing is changed.
    const again = await rotateToken(dir, 'ci');
    if (!again) throw new Error('ci was not rotated again');
    const after = await readFile(file, 'utf8');
    expect(await restoreToken(dir, 'ci', digest(rotated.token), rotated.previous)).toBe(false);
    expect(await readFile(file, 'utf8')).toBe(after);
    // The record there now (by its digest) is replaced by the one given, in its place: the file is as before, entry order included.
    expect(await restoreToken(dir, 'ci', digest(again.token), rotated.previous)).toBe(true);
    expect(await readFile(file, 'utf8')).toBe(before);
    const created = await createToken(dir, 'nobody', 'admin');
    expect(await restoreToken(dir, 'nobody', digest(created), undefined)).toBe(true);
    expect(await readFile(file, 'utf8')).toBe(before);
    expect(await restoreToken(dir, 'nobody', digest(created), undefined)).toBe(false);
  });
});
