// A connected UDP socket for one check (keepalived udp_bind_connect / dns socket_state): being
// connected, the kernel reports an ICMP port/host unreachable for it as ECONNREFUSED /
// EHOSTUNREACH on the next receive, which Node emits as an 'error'.

import dgram from 'node:dgram';
import type { ConnOpts } from '../config/model/checkers.js';
import { CheckFailure, errReason, timeoutReason } from './common.js';

export interface UdpExchangeOptions {
  conn: ConnOpts;
  payload: Buffer;
  signal: AbortSignal;
  /** wait this long for a datagram (connect_timeout) */
  timeoutMs: number;
  /** a datagram arrived: return true to finish with it, false to keep waiting */
  accept: (msg: Buffer) => boolean;
}

/**
 * Send `payload` and wait for a datagram `accept` takes. Resolves with it, or with undefined
 * when nothing acceptable came within the timeout; rejects with CheckFailure on socket errors
 * (ECONNREFUSED for an ICMP port unreachable).
 */
export function udpExchange(o: UdpExchangeOptions): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket({ type: o.conn.family === 'inet6' ? 'udp6' : 'udp4' });
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (err: CheckFailure | undefined, msg?: Buffer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal.removeEventListener('abort', onAbort);
      try {
        sock.close();
      } catch {
        /* already closed */
      }
      if (err) reject(err);
      else resolve(msg);
    };
    const onAbort = () => finish(new CheckFailure('aborted'));
    sock.on('error', (e) => finish(new CheckFailure(errReason((e as NodeJS.ErrnoException).syscall === 'send' ? 'send' : 'recv', e))));
    sock.on('message', (m) => {
      if (o.accept(m)) finish(undefined, m);
    });
    if (o.signal.aborted) return onAbort();
    o.signal.addEventListener('abort', onAbort, { once: true });
    timer = setTimeout(() => finish(undefined), o.timeoutMs);
    const connect = () =>
      sock.connect(o.conn.connectPort, o.conn.connectIp, () => {
        if (settled) return;
        sock.send(o.payload, (e) => {
          if (e) finish(new CheckFailure(errReason('send', e)));
        });
      });
    try {
      if (o.conn.bindto || o.conn.bindPort) sock.bind({ address: o.conn.bindto, port: o.conn.bindPort ?? 0 }, connect);
      else connect();
    } catch (e) {
      finish(new CheckFailure(errReason('connect', e)));
    }
  });
}

