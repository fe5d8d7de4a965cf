// UDP_CHECK (keepalived check_udp.c, layer4.c udp_bind_connect / udp_socket_state): send
// `payload` (default 32 bytes of "keepalived check - " repeated) on a connected socket, then
// wait connect_timeout. An ICMP port unreachable (ECONNREFUSED) fails the check. Without
// require_reply, silence until the timeout is success; with it, a reply is needed, its length
// and with reply data its length must be within min/max_reply_length and its first bytes must
// match (x nibbles in the config are wildcards).

import type { UdpCheck } from '../config/model/checkers.js';
import { failureResult, timeoutReason, type CheckFn } from './common.js';
import { udpExchange } from './udpsock.js';

/** keepalived UDP_BUFSIZE and set_buf(): the default payload. */
export function defaultUdpPayload(len = 32): Buffer {
  const s = 'keepalived check - ';
  return Buffer.from(s.repeat(Math.ceil(len / s.length)).slice(0, len), 'latin1');
}

/** keepalived check_udp_reply(): true when the reply is acceptable. */
export function udpReplyMatches(msg: Buffer, chk: Pick<UdpCheck, 'reply' | 'replyMask' | 'minReplyLength' | 'maxReplyLength'>): boolean {
  // keepalived only looks at the reply (lengths included) when reply data is configured
  if (!chk.reply) return true;
  if (msg.length < chk.minReplyLength || msg.length > chk.maxReplyLength) return false;
  const want = Buffer.from(chk.reply, 'hex');
  const mask = chk.replyMask ? Buffer.from(chk.replyMask, 'hex') : undefined;
  const n = Math.min(want.length, msg.length);
  for (let i = 0; i < n; i++) {
    const care = mask ? ~mask[i] & 0xff : 0xff;
    if ((msg[i] ^ want[i]) & care) return false;
  }
  return true;
}

export function udpCheck(chk: UdpCheck): CheckFn {
  const payload = chk.payload ? Buffer.from(chk.payload, 'hex') : defaultUdpPayload();
  return async (signal) => {
    let got: Buffer | undefined;
    try {
      // keepalived takes the first datagram, whatever it holds
      got = await udpExchange({ conn: chk.conn, payload, signal, timeoutMs: chk.conn.connectTimeoutMs, accept: () => true });
    } catch (e) {
      return failureResult(e, 'recv');
    }
    if (!got) return chk.requireReply ? { ok: false, reason: `reply ${timeoutReason(chk.conn.connectTimeoutMs)}` } : { ok: true };
    if (!chk.requireReply) return { ok: true };
    if (!udpReplyMatches(got, chk)) return { ok: false, reason: 'reply mismatch', detail: 'reply data mismatch' };
    return { ok: true };
  };
}
