import { errnoOf, type FileSystem } from './file-system.js';

/**
 * Reads a runtime file the stores serve from (config.yaml, strategies.yaml) as text; null when it
 * is missing. The one place they are opened for reading: how a runtime file is opened and checked
 * before it is read (O_NOFOLLOW, fstat, a size cap) changes here, for both.
 */
export async function readRuntimeFile(fs: FileSystem, file: string): Promise<string | null> {
  try {
    return (await fs.readFile(file)).toString('utf8');
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return null;
    throw err;
  }
}
