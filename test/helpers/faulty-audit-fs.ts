import type { AuditFileSystem } from '../../src/audit/file-system.js';
import { nodeAuditFileSystem } from '../../src/audit/file-system.js';

export type AuditStep = 'open' | 'append' | 'fsync';

function errnoError(code: string, step: string): NodeJS.ErrnoException {
  const err = new Error(`${code}: injected fault at audit ${step}`) as NodeJS.ErrnoException;
  err.code = code;
  return err;
}

/**
 * The real audit file system, with faults injected on demand at one step of the append. An
 * `append` fault writes half the line first, as a full disk does, so the cut-back is exercised.
 */
export function faultyAuditFs() {
  let fault: { step: AuditStep; code: string } | null = null;
  const fs: AuditFileSystem = {
    readFile: (file) => nodeAuditFileSystem.readFile(file),
    truncate: (file, size) => nodeAuditFileSystem.truncate(file, size),
    async open(file, flags) {
      if (flags === 'a' && fault?.step === 'open') throw errnoError(fault.code, 'open');
      const real = await nodeAuditFileSystem.open(file, flags);
      if (flags !== 'a') return real;
      return {
        write: async (data) => {
          if (fault?.step === 'append') {
            await real.write(data.slice(0, Math.floor(data.length / 2)));
            throw errnoError(fault.code, 'append');
          }
          await real.write(data);
        },
        sync: async () => {
          if (fault?.step === 'fsync') throw errnoError(fault.code, 'fsync');
          await real.sync();
        },
        close: () => real.close(),
      };
    },
  };
  return {
    fs,
    /** Every audit append fails at `step` with `code` until `heal()`. */
    fail(step: AuditStep, code: string) {
      fault = { step, code };
    },
    heal() {
      fault = null;
    },
  };
}
