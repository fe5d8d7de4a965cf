// DNS_CHECK (keepalived check_dns.c): one query over UDP with a random ID, RD set, for `name`
// (default the root) and `type` (default SOA) class IN; the server is up when a response with
// the same ID, QR set and RCODE 0 (NOERROR) comes back within connect_timeout. As keepalived,
// the answer section is not inspected (an empty NOERROR answer passes).
//
// The packet is built by hand: a query is ~20 lines of RFC 1035 §4.1 and keepalived's exact
// bytes (one question, RD, no EDNS) matter more than a resolver library's defaults; the
// well-kept 'dns-packet' would add a dependency for no gain.

import { randomInt } from 'node:crypto';
import type { DnsCheck } from '../config/model/checkers.js';
import { failureResult, timeoutReason, type CheckFn } from './common.js';
import { udpExchange } from './udpsock.js';

/** RFC 1035 §3.2.2 / RFC 3596 / RFC 4034 TYPE values of the types DNS_CHECK knows. */
export const DNS_TYPE_CODES: Record<string, number> = { A: 1, NS: 2, CNAME: 5, SOA: 6, MX: 15, TXT: 16, AAAA: 28, RRSIG: 46, DNSKEY: 48 };

/** keepalived dns_make_query(): header (RD) + one question. */
export function buildDnsQuery(id: number, name: string, type: string): Buffer {
  const labels: Buffer[] = [];
  // each dot-separated part becomes a label; "" and "." are the root
  if (name !== '' && name !== '.') {
    for (const part of name.replace(/\.$/, '').split('.')) {
      const b = Buffer.from(part, 'latin1');
      labels.push(Buffer.from([Math.min(b.length, 63)]), b.subarray(0, 63));
    }
  }
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id & 0xffff, 0);
  h.writeUInt16BE(0x0100, 2); // RD (RFC 1035 §4.1.1)
  h.writeUInt16BE(1, 4); // QDCOUNT
  const tail = Buffer.alloc(5);
  tail.writeUInt8(0, 0); // root label
  tail.writeUInt16BE(DNS_TYPE_CODES[type] ?? 6, 1);
  tail.writeUInt16BE(1, 3); // class IN
  return Buffer.concat([h, ...labels, tail]);
}

/** What keepalived's dns_recv_thread() makes of a datagram. */
export type DnsVerdict = { kind: 'ignore' } | { kind: 'ok' } | { kind: 'rcode'; rcode: number };

export function judgeDnsResponse(id: number, msg: Buffer): DnsVerdict {
  if (msg.length < 12) return { kind: 'ignore' };
  if (msg.readUInt16BE(0) !== (id & 0xffff)) return { kind: 'ignore' };
  const flags = msg.readUInt16BE(2);
  if (!(flags & 0x8000)) return { kind: 'ignore' }; // QR = 0: a query, not a response
  const rcode = flags & 0x000f;
  return rcode ? { kind: 'rcode', rcode } : { kind: 'ok' };
}

export function dnsCheck(chk: Pick<DnsCheck, 'conn' | 'name' | 'dnsType'>): CheckFn {
  return async (signal) => {
    const id = randomInt(0, 0x10000);
    const query = buildDnsQuery(id, chk.name, chk.dnsType);
    let verdict = { kind: 'ignore' } as DnsVerdict;
    try {
      const msg = await udpExchange({
        conn: chk.conn,
        payload: query,
        signal,
        timeoutMs: chk.conn.connectTimeoutMs,
        accept: (m) => (verdict = judgeDnsResponse(id, m)).kind !== 'ignore',
      });
      if (!msg) return { ok: false, reason: `read ${timeoutReason(chk.conn.connectTimeoutMs)}`, detail: 'read timeout from socket' };
      const v = verdict as DnsVerdict;
      if (v.kind === 'rcode') return { ok: false, reason: `rcode ${v.rcode}`, detail: `read error occurred. (rcode = ${v.rcode})` };
      return { ok: true };
    } catch (e) {
      const f = failureResult(e, 'recv');
      return { ...f, detail: `failed to read socket; ${f.reason}` };
    }
  };
}
