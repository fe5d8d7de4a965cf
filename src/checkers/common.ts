// What every health checker shares: the result shape, keepalived's address formats for log
// lines, reason strings, and a TCP connect bounded by connect_timeout.

import net from 'node:net';
import type { ConnOpts } from '../config/model/checkers.js';

/** One run of a checker. `reason` is short and structured ("connect ECONNREFUSED", "timeout 3s"). */
export interface CheckResult {
  ok: boolean;
  reason?: string;
  /** MISC_CHECK misc_dynamic: the weight the exit code asks for (exit - 2) */
  weight?: number;
  /** keepalived's own wording of the failure where its log line carries it (SMTP, DNS, MISC) */
  detail?: string;
}

/** One run of a checker; must settle soon after `signal` aborts. */
export type CheckFn = (signal: AbortSignal) => Promise<CheckResult>;

/** keepalived inet_sockaddrtotrio(): "[10.0.0.2]:tcp:80". */
export function trio(ip: string, proto: string | undefined, port: number): string {
  return `[${ip}]:${proto ? proto.toLowerCase() : 'none'}:${port}`;
}

/** keepalived inet_sockaddrtopair(): "[10.0.0.2]:25". */
export function pair(ip: string, port: number): string {
  return `[${ip}]:${port}`;
}

/** "3s", "0.5s", "1.25s": a duration in ms as seconds, for reasons. */
export function secs(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))}s`;
}

export function timeoutReason(ms: number): string {
  return `timeout ${secs(ms)}`;
}

/** "connect ECONNREFUSED": the phase and the errno name (or the message when there is none). */
export function errReason(phase: string, e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return `${phase} ${err?.code ?? err?.message ?? String(e)}`;
}

/** A failure carrying its reason, thrown inside a check and turned into a CheckResult. */
export class CheckFailure extends Error {
  constructor(
    readonly reason: string,
    readonly detail?: string,
  ) {
    super(reason);
  }
}

export function failureResult(e: unknown, fallbackPhase = 'error'): CheckResult {
  if (e instanceof CheckFailure) return e.detail === undefined ? { ok: false, reason: e.reason } : { ok: false, reason: e.reason, detail: e.detail };
  return { ok: false, reason: errReason(fallbackPhase, e) };
}

/** Reject with CheckFailure('aborted') when the signal fires (the scheduler's hard bound). */
export function abortPromise(signal: AbortSignal): { promise: Promise<never>; dispose: () => void } {
  let onAbort: () => void = () => {};
  const promise = new Promise<never>((_, reject) => {
    onAbort = () => reject(new CheckFailure(abortReason(signal)));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  promise.catch(() => {});
  return { promise, dispose: () => signal.removeEventListener('abort', onAbort) };
}

function abortReason(signal: AbortSignal): string {
  const r = signal.reason as unknown;
  if (r instanceof CheckFailure) return r.reason;
  if (typeof r === 'string') return r;
  return 'aborted';
}

/**
 * Open a TCP connection as keepalived's tcp_bind_connect() does: from bindto/bind_port when
 * set, to connect_ip:connect_port, failing after connect_timeout. SO_MARK (fwmark) and
 * SO_BINDTODEVICE (bind_if) have no Node API and are not applied.
 */
export function tcpConnect(conn: ConnOpts, signal: AbortSignal, timeoutMs = conn.connectTimeoutMs): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const opts: net.TcpNetConnectOpts = { host: conn.connectIp, port: conn.connectPort, family: conn.family === 'inet6' ? 6 : 4, noDelay: true };
    if (conn.bindto) opts.localAddress = conn.bindto;
    if (conn.bindPort) opts.localPort = conn.bindPort;
    let sock: net.Socket;
    const done = (err?: CheckFailure) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      sock.removeListener('error', onError);
      sock.removeListener('connect', onConnect);
      if (err) {
        sock.destroy();
        reject(err);
      } else resolve(sock);
    };
    const onError = (e: Error) => done(new CheckFailure(errReason('connect', e)));
    const onConnect = () => done();
    const onAbort = () => done(new CheckFailure(abortReason(signal)));
    const timer = setTimeout(() => done(new CheckFailure(`connect ${timeoutReason(timeoutMs)}`)), timeoutMs);
    try {
      sock = net.connect(opts);
    } catch (e) {
      clearTimeout(timer);
      reject(new CheckFailure(errReason('connect', e)));
      return;
    }
    sock.once('error', onError);
    sock.once('connect', onConnect);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Read from a socket until it ends, with an idle bound of `idleMs` per read (keepalived
 * re-arms connect_timeout for every read). `onData` may return true to stop early.
 */
export function readUntilEnd(
  sock: net.Socket | import('node:tls').TLSSocket,
  signal: AbortSignal,
  idleMs: number,
  phase: string,
  onData: (chunk: Buffer) => boolean | void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => finish(new CheckFailure(`${phase} ${timeoutReason(idleMs)}`)), idleMs);
    };
    const finish = (err?: Error) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      sock.removeListener('data', onChunk);
      sock.removeListener('end', onEnd);
      sock.removeListener('error', onError);
      sock.removeListener('close', onEnd);
      if (err) reject(err);
      else resolve();
    };
    const onChunk = (c: Buffer) => {
      arm();
      if (onData(c) === true) finish();
    };
    const onEnd = () => finish();
    const onError = (e: Error) => finish(new CheckFailure(errReason(phase, e)));
    const onAbort = () => finish(new CheckFailure(abortReason(signal)));
    sock.on('data', onChunk);
    sock.once('end', onEnd);
    sock.once('close', onEnd);
    sock.once('error', onError);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    arm();
  });
}
