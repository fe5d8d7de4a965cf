// TCP_CHECK (keepalived check_tcp.c): the real server is up when a TCP connection to
// connect_ip:connect_port completes within connect_timeout; the connection is closed at once.

import type { TcpCheck } from '../config/model/checkers.js';
import { failureResult, tcpConnect, type CheckFn } from './common.js';

export function tcpCheck(chk: Pick<TcpCheck, 'conn'>): CheckFn {
  return async (signal) => {
    try {
      const sock = await tcpConnect(chk.conn, signal);
      // keepalived closes the descriptor at once (a FIN, not a reset)
      sock.destroy();
      return { ok: true };
    } catch (e) {
      return failureResult(e, 'connect');
    }
  };
}
