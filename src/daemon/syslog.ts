/**
 * syslog output as keepalived does it: keepalived calls glibc's openlog(ident, LOG_PID, facility)
 * and syslog(), which send one AF_UNIX SOCK_DGRAM datagram per message to /dev/log in the
 * traditional BSD form (RFC 3164 section 4.1, as glibc writes it for the local socket):
 *
 *   <PRI>Mmm dd hh:mm:ss IDENT[PID]: MESSAGE
 *
 * e.g. `<30>Nov 21 06:10:08 Keepalived_vrrp[1234]: (VI_1) Entering MASTER STATE`.
 * PRI = facility * 8 + severity (RFC 3164 section 4.1.1); the facility is LOG_DAEMON unless
 * -S/--log-facility names another; the ident is the keepalived process the message would have
 * come from (Keepalived, Keepalived_vrrp, Keepalived_healthcheckers).
 *
 * Pure part: facility/severity/ident mapping and the datagram text. Shell: SyslogStream, a
 * pino destination that sends each record with a non-blocking sendto(2) through the
 * `unix-dgram` addon (Node's dgram has no AF_UNIX). A send never waits: when /dev/log is
 * absent, nobody listens (the syslog daemon restarts) or its queue is full, the message is
 * dropped and counted; the next message tries again with the path, so a restarted syslog
 * daemon's new socket is picked up without reconnect logic.
 */
import { constants as osConstants } from 'node:os';
import { loadUnixDgram, type ErrnoLike, type UnixDgramSocket } from '../net/unix-dgram.js';

/** Where glibc's syslog() sends (_PATH_LOG). */
export const DEFAULT_SYSLOG_SOCKET = '/dev/log';

/** syslog facility codes (RFC 3164 section 4.1.1, <syslog.h> LOG_* >> 3). */
export const FACILITY = {
  user: 1,
  daemon: 3,
  local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
} as const;

/** syslog severities (RFC 3164 section 4.1.1, <syslog.h> LOG_*). */
export const SEVERITY = { crit: 2, err: 3, warning: 4, notice: 5, info: 6, debug: 7 } as const;

/**
 * The facility keepalived's -S takes: 0..7 and local0..local7 are LOG_LOCAL0..7, `user` and
 * `daemon` are LOG_USER and LOG_DAEMON; no -S means LOG_DAEMON. undefined for anything else.
 */
export function parseFacility(s: string | undefined): number | undefined {
  if (s === undefined) return FACILITY.daemon;
  const m = /^(?:local)?([0-7])$/.exec(s);
  if (m) return FACILITY.local0 + Number(m[1]);
  if (s === 'user') return FACILITY.user;
  if (s === 'daemon') return FACILITY.daemon;
  return undefined;
}

/** pino level (10 trace … 60 fatal) to syslog severity: keepalived logs err, warning, info and debug. */
export function severityOf(pinoLevel: number): number {
  if (pinoLevel >= 50) return SEVERITY.err;
  if (pinoLevel >= 40) return SEVERITY.warning;
  if (pinoLevel >= 30) return SEVERITY.info;
  return SEVERITY.debug;
}

export type SyslogIdent = 'Keepalived' | 'Keepalived_vrrp' | 'Keepalived_healthcheckers';

/**
 * The keepalived process that would have logged this record: hacheck is one process, keepalived
 * three, and syslog filters (rsyslog `programname`, journalctl -t) select on the ident.
 * A `subsystem` binding ('vrrp' | 'check' | 'core') decides; otherwise the fields the record
 * carries: virtual/real server or checker fields are the checker process's, VRRP instance,
 * group, script, track file and notify FIFO fields the VRRP process's, the rest the parent's.
 */
export function identOf(rec: Readonly<Record<string, unknown>>): SyslogIdent {
  switch (rec.subsystem) {
    case 'vrrp': return 'Keepalived_vrrp';
    case 'check': case 'checker': case 'healthcheckers': case 'ipvs': return 'Keepalived_healthcheckers';
    case 'core': return 'Keepalived';
  }
  if ('vs' in rec || 'rs' in rec || 'checker' in rec || rec.component === 'ipvs') return 'Keepalived_healthcheckers';
  if ('instance' in rec || 'vrid' in rec || 'group' in rec || 'script' in rec || 'trackFile' in rec || 'fifo' in rec) return 'Keepalived_vrrp';
  return 'Keepalived';
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/** glibc's strftime("%h %e %T") in local time, C locale: `Nov  1 06:10:08` (day padded with a space). */
export function syslogTimestamp(d: Date): string {
  return `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** One datagram as glibc's syslog() sends it with LOG_PID (no trailing newline). */
export function formatSyslog(facility: number, severity: number, date: Date, ident: string, pid: number, msg: string): string {
  return `<${facility * 8 + severity}>${syslogTimestamp(date)} ${ident}[${pid}]: ${msg}`;
}

/** The datagram for one pino JSON line; undefined when the line is not a pino record. */
export function recordToSyslog(line: string, facility: number, pid: number): string | undefined {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof o !== 'object' || o === null || typeof o.level !== 'number') return undefined;
  const date = new Date(typeof o.time === 'number' ? o.time : Date.now());
  return formatSyslog(facility, severityOf(o.level), date, identOf(o), pid, typeof o.msg === 'string' ? o.msg : String(o.msg ?? ''));
}

// ---- shell -------------------------------------------------------------------------------

/** unix-dgram reports -errno; name it (ENOENT, ECONNREFUSED …). */
function errnoName(e: ErrnoLike): string {
  if (typeof e.code === 'string' && e.code !== '' && Number.isNaN(Number(e.code))) return e.code;
  const n = Math.abs(Number(e.code));
  const hit = Object.entries(osConstants.errno).find(([, v]) => v === n);
  return hit ? hit[0] : String(e.message ?? e.code);
}

export interface SyslogOptions {
  /** facility code (FACILITY.*); default LOG_DAEMON */
  facility?: number;
  /** socket path; default $HACHECK_SYSLOG_SOCKET or /dev/log (the variable is for tests) */
  path?: string;
  pid?: number;
  /** messages kept while the syslog daemon's queue is full (default 10000); more are dropped */
  maxPending?: number;
  /** close the idle socket after this long (ms); the next message opens one again */
  idleCloseMs?: number;
  /** called (once per outage) when sending starts failing */
  onDown?(path: string, error: string): void;
  /** called when sending works again, with the number of messages lost meanwhile */
  onUp?(path: string, dropped: number): void;
}

export interface SyslogStats {
  sent: number;
  dropped: number;
  /** messages waiting for the syslog daemon to drain its queue */
  pending: number;
  lastError?: string;
}

/**
 * A pino destination (write(line)) sending each record to the syslog socket, connected as
 * glibc's openlog() does. The socket is non-blocking: where glibc's syslog() would block
 * because the syslog daemon's queue is full (net.unix.max_dgram_qlen datagrams), messages wait
 * here in order (up to maxPending) and go out when the socket is writable again. A send that
 * fails because the peer went away (syslog daemon restarted: ECONNREFUSED) reconnects once and
 * resends, as glibc does; when that fails too the message is dropped and counted.
 * The addon's socket holds a referenced poll handle, so it is closed after `idleCloseMs`
 * without messages and by close(); a process never stays up for its syslog socket.
 */
export class SyslogStream {
  readonly path: string;
  private readonly facility: number;
  private readonly pid: number;
  private readonly maxPending: number;
  private sock?: UnixDgramSocket;
  private congested = false;
  private readonly queue: Buffer[] = [];
  private idle?: NodeJS.Timeout;
  private closed = false;
  private down = false;
  private droppedWhileDown = 0;
  private readonly counts = { sent: 0, dropped: 0, lastError: undefined as string | undefined };

  constructor(private readonly o: SyslogOptions = {}) {
    this.path = o.path ?? (process.env.HACHECK_SYSLOG_SOCKET || DEFAULT_SYSLOG_SOCKET);
    this.facility = o.facility ?? FACILITY.daemon;
    this.pid = o.pid ?? process.pid;
    this.maxPending = o.maxPending ?? 10_000;
  }

  get stats(): SyslogStats {
    return { ...this.counts, pending: this.queue.length };
  }

  /** pino calls this with one JSON line (or several, newline-separated). */
  write(chunk: string): boolean {
    for (const line of chunk.split('\n')) {
      if (!line) continue;
      const text = recordToSyslog(line, this.facility, this.pid);
      if (text !== undefined) this.send(text);
    }
    return true;
  }

  /** Send one ready-made datagram; never throws, never waits. */
  send(text: string): void {
    if (this.closed) return this.fail('closed');
    const buf = Buffer.from(text, 'utf8');
    if (this.congested) this.enqueue(buf);
    else if (this.transmit(buf) === 'congested') this.queue.unshift(buf);
    this.armIdle();
  }

  private enqueue(buf: Buffer): void {
    if (this.queue.length >= this.maxPending) this.fail('EAGAIN');
    else this.queue.push(buf);
  }

  /** Open and connect the socket; the errno name when that fails. */
  private connect(): string | undefined {
    if (this.sock) return undefined;
    const lib = loadUnixDgram();
    if (!lib) return 'unix-dgram addon not available';
    let err: ErrnoLike | undefined;
    let s: UnixDgramSocket;
    try {
      s = lib.createSocket('unix_dgram');
    } catch (e) {
      return errnoName(e as ErrnoLike);
    }
    s.on('error', (e) => (err = e)); // unix-dgram reports connect failures as events, synchronously
    s.on('writable', () => this.drain(s));
    s.connect(this.path);
    if (err) {
      this.release(s);
      return errnoName(err);
    }
    this.sock = s;
    return undefined;
  }

  /** One send; on a dead peer reconnect and try once more. 'congested': not sent, try later. */
  private transmit(buf: Buffer, retry = true): 'ok' | 'congested' | 'failed' {
    const cerr = this.connect();
    if (cerr !== undefined) {
      this.fail(cerr);
      return 'failed';
    }
    let err: ErrnoLike | undefined;
    try {
      this.sock!.send(buf, (e) => (err = e));
    } catch (e) {
      err = e as ErrnoLike;
    }
    if (!err) {
      this.ok();
      return 'ok';
    }
    if (err.code === 1) {
      this.congested = true;
      return 'congested';
    }
    this.closeSocket();
    if (retry) return this.transmit(buf, false);
    this.fail(errnoName(err));
    return 'failed';
  }

  /** The socket is writable again: send what waited, in order, until it fills up again. */
  private drain(s: UnixDgramSocket): void {
    if (s !== this.sock) return;
    this.congested = false;
    while (this.queue.length > 0 && !this.closed) {
      const buf = this.queue.shift()!;
      if (this.transmit(buf) === 'congested') {
        this.queue.unshift(buf);
        break;
      }
    }
    this.armIdle();
  }

  private ok(): void {
    this.counts.sent++;
    if (this.down) {
      this.down = false;
      const lost = this.droppedWhileDown;
      this.droppedWhileDown = 0;
      this.o.onUp?.(this.path, lost);
    }
  }

  private fail(why: string): void {
    this.counts.dropped++;
    this.counts.lastError = why;
    if (this.closed) return;
    this.droppedWhileDown++;
    if (!this.down) {
      this.down = true;
      this.o.onDown?.(this.path, why);
    }
  }

  private armIdle(): void {
    if (!this.sock) return;
    if (this.idle) this.idle.refresh();
    else {
      this.idle = setTimeout(() => {
        this.idle = undefined;
        if (this.queue.length > 0) this.armIdle();
        else this.closeSocket();
      }, this.o.idleCloseMs ?? 1000);
      this.idle.unref();
    }
  }

  private release(s: UnixDgramSocket): void {
    try {
      s.close();
    } catch {
      // already closed: nothing left to release
    }
  }

  private closeSocket(): void {
    clearTimeout(this.idle);
    this.idle = undefined;
    this.congested = false;
    const s = this.sock;
    this.sock = undefined;
    if (s) this.release(s);
  }

  /** Send what can still go without waiting, then release the socket; later messages are dropped. */
  close(): void {
    if (this.closed) return;
    if (this.sock && this.congested) this.drain(this.sock);
    this.closed = true;
    for (; this.queue.length > 0; this.queue.shift()) this.fail('closed');
    this.closeSocket();
  }
}
