/** The token typed into the page: in this tab's sessionStorage only (never localStorage, never a cookie). */
const KEY = 'strategy-control-plane.token';

type Listener = (token: string | null) => void;
const listeners = new Set<Listener>();

function read(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null; // storage disabled: the page stays read-only
  }
}

export const token = {
  get: read,
  set(value: string): void {
    try {
      sessionStorage.setItem(KEY, value);
    } catch {
      // storage disabled: nothing kept, the page stays read-only
    }
    for (const listener of listeners) listener(read());
  },
  clear(): void {
    try {
      sessionStorage.removeItem(KEY);
    } catch {
      // nothing was kept
    }
    for (const listener of listeners) listener(null);
  },
  onChange(listener: Listener): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};
