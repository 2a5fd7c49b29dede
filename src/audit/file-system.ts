import * as fsp from 'node:fs/promises';

/**
 * The file operations the audit log uses, and nothing else: the seam through which tests inject
 * faults into the audit append (ENOSPC, EACCES, EIO). Separate from the config store's seam.
 */
export interface AuditFileSystem {
  /** The whole file; rejects with ENOENT when it does not exist. */
  readFile(file: string): Promise<Buffer>;
  /** Opens for appending (created when missing, mode 0600) or, with 'wx', creates a new file. */
  open(file: string, flags: 'a' | 'wx'): Promise<AuditFile>;
  truncate(file: string, size: number): Promise<void>;
}

export interface AuditFile {
  write(data: string): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

export const nodeAuditFileSystem: AuditFileSystem = {
  readFile: (file) => fsp.readFile(file),
  async open(file, flags) {
    const handle = await fsp.open(file, flags, 0o600);
    return {
      write: async (data) => {
        await handle.writeFile(data, 'utf8');
      },
      sync: () => handle.sync(),
      close: () => handle.close(),
    };
  },
  truncate: (file, size) => fsp.truncate(file, size),
};
