import path from 'node:path';
import { type FileSystem, nodeFileSystem } from '../../src/fs/file-system.js';

export type AuditStep = 'open' | 'append' | 'fsync';

function errnoError(code: string, step: string): NodeJS.ErrnoException {
  const err = new Error(`${code}: injected fault at audit ${step}`) as NodeJS.ErrnoException;
  err.code = code;
  return err;
}

/**
 * The real file system, with faults injected on demand at one step of an audit append (only
 * `audit.log` is affected). An `append` fault writes half the line first, as a full disk does, so
 * the cut-back is exercised.
 */
export function faultyAuditFs(base: FileSystem = nodeFileSystem) {
  let fault: { step: AuditStep; code: string; delayMs: number } | null = null;
  const failing = async (step: AuditStep) => {
    if (fault?.step !== step) return null;
    const { code, delayMs } = fault;
    // A slow failure (a disk that takes its time to say it is full): the renamed file stays on disk meanwhile.
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    return errnoError(code, step);
  };
  const fs: FileSystem = {
    ...base,
    async open(file, flags, mode) {
      if (flags !== 'a' || path.basename(file) !== 'audit.log') return base.open(file, flags, mode);
      const opening = await failing('open');
      if (opening) throw opening;
      const real = await base.open(file, flags, mode);
      return {
        write: async (data) => {
          if (fault?.step === 'append') {
            await real.write(data.slice(0, Math.floor(data.length / 2)));
            throw await failing('append');
          }
          await real.write(data);
        },
        sync: async () => {
          const syncing = await failing('fsync');
          if (syncing) throw syncing;
          await real.sync();
        },
        close: () => real.close(),
      };
    },
  };
  return {
    fs,
    /** Every audit append fails at `step` with `code` (after `delayMs`) until `heal()`. */
    fail(step: AuditStep, code: string, delayMs = 0) {
      fault = { step, code, delayMs };
    },
    heal() {
      fault = null;
    },
  };
}
