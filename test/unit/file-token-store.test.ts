import { createHash } from 'node:crypto';
import { chmod } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileTokenStore } from '../../src/auth/file-token-store.js';
import { createToken, TOKENS_FILE } from '../../src/auth/token-file.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';

const digest = (token: string) => createHash('sha256').update(token).digest('hex');

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
