// systemd's notify protocol (sd_notify(3)): READY=1, RELOADING=1, STOPPING=1 and WATCHDOG=1
// as datagrams to $NOTIFY_SOCKET. Sent from this process itself (unix-dgram: Node's dgram
// has no AF_UNIX), so systemd attributes them to the main PID without NotifyAccess=all
// races; an abstract socket name (`@…`, which unix-dgram cannot address) falls back to
// the systemd-notify tool.
//
// The watchdog ping runs on the event loop at half of WATCHDOG_USEC, as sd_watchdog_enabled(3)
// advises: a loop blocked long enough to make VRRP late also stops the pings, and systemd
// restarts the service (WatchdogSec= in the unit).

import { execFile } from 'node:child_process';
import { loadUnixDgram, type UnixDgramSocket } from '../net/unix-dgram.js';

export interface SdNotifyEnv {
  NOTIFY_SOCKET?: string;
  WATCHDOG_USEC?: string;
  WATCHDOG_PID?: string;
}

/** The watchdog ping interval in ms (half of WATCHDOG_USEC), or undefined when not asked for this process. */
export function watchdogIntervalMs(env: SdNotifyEnv, pid = process.pid): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!env.WATCHDOG_USEC || !Number.isFinite(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return undefined; // meant for another process
  return Math.max(1, Math.floor(usec / 2000));
}

export class SdNotifier {
  private timer?: NodeJS.Timeout;
  /** datagrams that could not be sent (logged once each by the caller's onError) */
  failures = 0;

  constructor(
    private readonly env: SdNotifyEnv = process.env,
    private readonly onError: (state: string, err: Error) => void = () => undefined,
  ) {}

  get enabled(): boolean {
    return !!this.env.NOTIFY_SOCKET;
  }

  notify(state: string): void {
    const path = this.env.NOTIFY_SOCKET;
    if (!path) return;
    const fail = (e: Error) => {
      this.failures++;
      this.onError(state, e);
    };
    const dgram = loadUnixDgram();
    if (path.startsWith('@') || !dgram) {
      execFile('systemd-notify', [`--pid=${process.pid}`, state], (err) => err && fail(err));
      return;
    }
    // one socket per message: an open unix-dgram socket would keep the process alive
    let s: UnixDgramSocket | undefined;
    try {
      s = dgram.createSocket('unix_dgram');
      s.on('error', fail);
      const buf = Buffer.from(state);
      s.send(buf, 0, buf.length, path, (err) => err && fail(err));
    } catch (e) {
      fail(e as Error);
    } finally {
      try {
        s?.close();
      } catch {
        /* already closed */
      }
    }
  }

  /** Start WATCHDOG=1 pings when systemd asked for them; returns the interval or undefined. */
  startWatchdog(): number | undefined {
    const ms = watchdogIntervalMs(this.env);
    if (!this.enabled || ms === undefined) return undefined;
    this.notify('WATCHDOG=1');
    this.timer = setInterval(() => this.notify('WATCHDOG=1'), ms);
    this.timer.unref();
    return ms;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
