// AF_UNIX datagram sockets (Node's dgram has none) through the unix-dgram addon, for
// syslog's /dev/log and systemd's $NOTIFY_SOCKET. Typed here: the package ships no types.
import { createRequire } from 'node:module';

export type ErrnoLike = Error & { code?: number | string };

/** The part of unix-dgram's socket that is used. */
export interface UnixDgramSocket {
  on(ev: 'error', f: (e: ErrnoLike) => void): unknown;
  on(ev: 'writable', f: () => void): unknown;
  connect(path: string): void;
  /** connected form: calls back synchronously; code 1 means EAGAIN (then 'writable' follows) */
  send(buf: Buffer, cb: (err?: ErrnoLike) => void): void;
  /** unconnected form: sendto(2) to `path` */
  send(buf: Buffer, offset: number, length: number, path: string, cb: (err?: ErrnoLike) => void): void;
  close(): void;
}
export interface UnixDgram {
  createSocket(type: 'unix_dgram'): UnixDgramSocket;
}

let unixDgram: UnixDgram | null | undefined;
/** The addon, loaded once; null when it is missing or does not load (callers then drop and count). */
export function loadUnixDgram(): UnixDgram | null {
  if (unixDgram === undefined) {
    try {
      unixDgram = createRequire(import.meta.url)('unix-dgram') as UnixDgram;
    } catch {
      unixDgram = null;
    }
  }
  return unixDgram;
}
