/**
 * Real-time signals (keepalived's SIGRTMIN+2 = JSON dump, SIGRTMIN+29 = stats and clear)
 * through hacheck's own addon (native/signal.c): Node's process.on() only knows the classic
 * signals. The handler writes a byte to a pipe; here the pipe is read on the event loop.
 */
import { Socket } from 'node:net';
import { loadAddon } from './addon.js';

interface SignalAddon {
  watch(signum: number): number;
  rtmin(): number;
}

function addon(): SignalAddon {
  return loadAddon<SignalAddon>('hacheck_signal');
}

/** SIGRTMIN of the C library (34 with glibc). */
export function sigrtmin(): number {
  return addon().rtmin();
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
    const fd = addon().watch(signum);
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
