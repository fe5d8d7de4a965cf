// PING_CHECK (keepalived check_ping.c): an ICMP / ICMPv6 echo request with 128 bytes of
// payload; up when the matching echo reply arrives within connect_timeout.
//
// keepalived uses an unprivileged "ping socket" (SOCK_DGRAM, IPPROTO_ICMP), which Node cannot
// open. hacheck uses one raw socket per address family from the `raw-socket` package (needs
// CAP_NET_RAW, which hacheck has as it manages IPVS), shared by every PING_CHECK: requests carry
// this process's identifier and a sequence number, and replies are matched on (source, id, seq).

import { createRequire } from 'node:module';
import { isMainThread } from 'node:worker_threads';
import type { PingCheck } from '../config/model/checkers.js';
import { canonicalIp } from '../ipvs/addr.js';
import { errReason, timeoutReason, type CheckFn } from './common.js';
import { internetChecksum } from '../util/checksum.js';

interface RawSocket {
  on(ev: 'message', cb: (buf: Buffer, source: string) => void): void;
  on(ev: 'error', cb: (e: Error) => void): void;
  send(buf: Buffer, offset: number, length: number, address: string, cb: (err: Error | null, bytes: number) => void): void;
  close(): void;
  pauseRecv?(): void;
}
interface RawModule {
  createSocket(o: { addressFamily: number; protocol: number }): RawSocket;
  AddressFamily: { IPv4: number; IPv6: number };
  Protocol: { ICMP: number; ICMPv6: number };
}

const require = createRequire(import.meta.url);
let raw: RawModule | undefined;
function rawModule(): RawModule {
  raw ??= require('raw-socket') as RawModule;
  return raw;
}

/** keepalived ICMP_BUFSIZE and set_buf() */
const PAYLOAD = (() => {
  const s = 'keepalived check - ';
  return Buffer.from(s.repeat(8).slice(0, 128), 'latin1');
})();

const ICMP_ECHO = 8;
const ICMP_ECHOREPLY = 0;
const ICMP6_ECHO_REQUEST = 128;
const ICMP6_ECHO_REPLY = 129;

/** An echo request (RFC 792 / RFC 4443 §4.1); for ICMPv6 the kernel fills in the checksum (it covers a pseudo-header). */
export function buildEcho(v6: boolean, id: number, seq: number): Buffer {
  const b = Buffer.alloc(8 + PAYLOAD.length);
  b[0] = v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
  b.writeUInt16BE(id, 4);
  b.writeUInt16BE(seq, 6);
  PAYLOAD.copy(b, 8);
  if (!v6) b.writeUInt16BE(internetChecksum(b), 2);
  return b;
}

/** The (id, seq) of an echo reply, or undefined. IPv4 raw sockets deliver the IP header too. */
export function parseEchoReply(v6: boolean, buf: Buffer): { id: number; seq: number } | undefined {
  let off = 0;
  if (!v6) {
    if (buf.length < 20) return undefined;
    off = (buf[0] & 0x0f) * 4;
  }
  if (buf.length < off + 8) return undefined;
  if (buf[off] !== (v6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY)) return undefined;
  return { id: buf.readUInt16BE(off + 4), seq: buf.readUInt16BE(off + 6) };
}

class Pinger {
  private sock?: RawSocket;
  private openError?: string;
  private seq = 0;
  private readonly id = process.pid & 0xffff;
  private pending = new Map<string, () => void>();

  constructor(private readonly v6: boolean) {}

  private socket(): RawSocket | undefined {
    if (this.sock || this.openError) return this.sock;
    try {
      const r = rawModule();
      this.sock = this.v6
        ? r.createSocket({ addressFamily: r.AddressFamily.IPv6, protocol: r.Protocol.ICMPv6 })
        : r.createSocket({ addressFamily: r.AddressFamily.IPv4, protocol: r.Protocol.ICMP });
      this.sock.on('message', (buf, src) => {
        const r = parseEchoReply(this.v6, buf);
        if (!r || r.id !== this.id) return;
        const k = `${canonicalIp(src)}/${r.seq}`;
        const cb = this.pending.get(k);
        if (cb) cb();
      });
      this.sock.on('error', () => {
        /* send errors are reported per request */
      });
    } catch (e) {
      this.openError = errReason('icmp socket', e);
    }
    return this.sock;
  }

  /** Close the socket (it is opened again on the next ping); requests in flight end at their timeout. */
  close(): void {
    this.sock?.close();
    this.sock = undefined;
    this.openError = undefined;
  }

  ping(ip: string, timeoutMs: number, signal: AbortSignal): Promise<{ ok: boolean; reason?: string }> {
    const sock = this.socket();
    if (!sock) return Promise.resolve({ ok: false, reason: this.openError ?? 'icmp socket unavailable' });
    // a sequence number not in flight to this address
    let seq = 0;
    for (let i = 0; i < 0x10000; i++) {
      this.seq = (this.seq + 1) & 0xffff;
      if (!this.pending.has(`${ip}/${this.seq}`)) {
        seq = this.seq;
        break;
      }
    }
    const key = `${ip}/${seq}`;
    return new Promise((resolve) => {
      const finish = (r: { ok: boolean; reason?: string }) => {
        if (this.pending.get(key) !== onReply) return;
        this.pending.delete(key);
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(r);
      };
      const onReply = () => finish({ ok: true });
      const onAbort = () => finish({ ok: false, reason: 'aborted' });
      const timer = setTimeout(() => finish({ ok: false, reason: `echo ${timeoutReason(timeoutMs)}` }), timeoutMs);
      this.pending.set(key, onReply);
      signal.addEventListener('abort', onAbort, { once: true });
      const pkt = buildEcho(this.v6, this.id, seq);
      sock.send(pkt, 0, pkt.length, ip, (err) => {
        if (err) finish({ ok: false, reason: errReason('send', err) });
      });
    });
  }
}

const pingers: { v4?: Pinger; v6?: Pinger } = {};

/** One echo request/reply exchange; `ip` is canonical. */
export type EchoFn = (v6: boolean, ip: string, timeoutMs: number, signal: AbortSignal) => Promise<{ ok: boolean; reason?: string }>;

/** This thread's raw sockets: the transport of the main thread. */
export const localEcho: EchoFn = (v6, ip, timeoutMs, signal) => {
  const p = v6 ? (pingers.v6 ??= new Pinger(true)) : (pingers.v4 ??= new Pinger(false));
  return p.ping(ip, timeoutMs, signal);
};

// raw-socket polls its socket on libuv's default loop (the main thread's), so a raw socket
// opened in a worker thread calls into the worker's isolate from the main thread, and a
// second worker cannot load the addon at all: a worker sends its echo requests through the
// main thread instead (src/checkers/worker.ts sets the transport).
let transport: EchoFn | undefined = isMainThread ? localEcho : undefined;

/** Where PING_CHECKs send their echo requests (a checker worker forwards them to the main thread). */
export function setEchoTransport(fn: EchoFn): void {
  transport = fn;
}

/** Close the shared raw sockets (they keep the event loop alive); the next PING_CHECK reopens them. */
export function closePingSockets(): void {
  pingers.v4?.close();
  pingers.v6?.close();
}

export function pingCheck(chk: Pick<PingCheck, 'conn'>): CheckFn {
  const v6 = chk.conn.family === 'inet6';
  const ip = canonicalIp(chk.conn.connectIp);
  return (signal) => {
    if (!transport) return Promise.resolve({ ok: false, reason: 'icmp socket unavailable in a worker thread' });
    return transport(v6, ip, chk.conn.connectTimeoutMs, signal);
  };
}
