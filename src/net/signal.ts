/**
 * Real-time signals (keepalived's SIGRTMIN+2 = JSON dump, SIGRTMIN+29 = stats and clear)
 * through hacheck's own addon (native/signal.c): Node's process.on() only knows the classic
 * signals. The handler writes a byte to a pipe; here the pipe is read on the event loop.
 */
import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

interface SignalAddon {
  watch(signum: number): number;
  rtmin(): number;
}

let addon: SignalAddon | undefined;

function loadAddon(): SignalAddon {
  if (addon) return addon;
  // dist/src/net/ and src/net/ are both two levels below the repository root holding build/.
  const roots = [new URL('../../../', import.meta.url), new URL('../../', import.meta.url)].map((u) => fileURLToPath(u));
  const require = createRequire(import.meta.url);
  const tried: string[] = [];
  for (const r of roots) {
    for (const path of [`${r}build/Release/hacheck_signal.node`, `${r}build/Debug/hacheck_signal.node`]) {
      try {
        addon = require(path) as SignalAddon;
        return addon;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw new Error(`cannot load ${path}: ${(e as Error).message}`);
        tried.push(path);
      }
    }
  }
  throw new Error(`hacheck_signal addon not built (\`npm run install\` builds it); looked for ${tried.join(', ')}`);
}

/** SIGRTMIN of the C library (34 with glibc). */
export function sigrtmin(): number {
  return loadAddon().rtmin();
}

export interface SignalWatch {
  /** Stop delivering to the listener (the handler stays installed; bytes are drained and ignored). */
  close(): void;
}

const watched = new Map<number, Set<() => void>>();

/**
 * Call `listener` on the event loop each time signal `signum` arrives. Signals that arrive
 * together (before the loop reads the pipe) are coalesced into one call, as a pending signal
 * is coalesced by the kernel. Throws when the addon is missing or the signal is refused.
 */
export function onSignal(signum: number, listener: () => void): SignalWatch {
  let listeners = watched.get(signum);
  if (!listeners) {
    const fd = loadAddon().watch(signum);
    const set = new Set<() => void>();
    const sock = new Socket({ fd, readable: true, writable: false });
    sock.on('data', () => {
      for (const l of [...set]) l();
    });
    sock.on('error', () => undefined);
    // A daemon is kept alive by its own work, not by waiting for a signal.
    sock.unref();
    watched.set(signum, set);
    listeners = set;
  }
  const l = () => listener();
  listeners.add(l);
  return {
    close() {
      listeners.delete(l);
    },
  };
}
