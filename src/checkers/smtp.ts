// SMTP_CHECK (keepalived check_smtp.c): connect, expect a "220 " greeting, send
// "HELO <helo_name>", expect "250 ", send "QUIT" and wait for any reply line. Each step is
// bounded by connect_timeout. As keepalived's smtp_get_status(), a reply code is exactly three
// digits followed by a space or the end of the line (so a "220-" continuation line fails).

import type { SmtpCheck } from '../config/model/checkers.js';
import { CheckFailure, errReason, failureResult, pair, tcpConnect, timeoutReason, type CheckFn } from './common.js';
import type net from 'node:net';

/** keepalived smtp_get_status(): the code of a reply line, -1 when malformed. */
export function smtpStatus(line: string): number {
  const m = /^([0-9]{3})( |$)/.exec(line);
  return m ? Number(m[1]) : -1;
}

/** Read one line (up to '\n', which is dropped) within timeoutMs; the rest of the read is discarded. */
function readLine(sock: net.Socket, signal: AbortSignal, timeoutMs: number, what: string, label: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const finish = (err: CheckFailure | undefined, line?: string) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      sock.removeListener('data', onData);
      sock.removeListener('end', onEnd);
      sock.removeListener('error', onError);
      if (err) reject(err);
      else resolve(line!);
    };
    const onData = (c: Buffer) => {
      buf += c.toString('latin1');
      // keepalived SMTP_BUFF_MAX
      if (buf.length > 512) return finish(new CheckFailure(`${what} overflow`, `Buffer overflow reading from server ${label}`));
      const nl = buf.indexOf('\n');
      if (nl >= 0) finish(undefined, buf.slice(0, nl));
    };
    const onEnd = () => finish(new CheckFailure(`${what} closed`, `Read failure from server ${label}`));
    const onError = (e: Error) => finish(new CheckFailure(errReason(what, e), `Read failure from server ${label}`));
    const onAbort = () => finish(new CheckFailure('aborted'));
    const timer = setTimeout(() => finish(new CheckFailure(`${what} ${timeoutReason(timeoutMs)}`, `Read timeout from server ${label}`)), timeoutMs);
    sock.on('data', onData);
    sock.once('end', onEnd);
    sock.once('error', onError);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

export function smtpCheck(chk: Pick<SmtpCheck, 'conn' | 'heloName'>): CheckFn {
  const label = pair(chk.conn.connectIp, chk.conn.connectPort);
  const t = chk.conn.connectTimeoutMs;
  return async (signal) => {
    let sock: net.Socket;
    try {
      sock = await tcpConnect(chk.conn, signal);
    } catch (e) {
      const f = failureResult(e, 'connect');
      const detail = /timeout/.test(f.reason ?? '') ? `Connection timeout to server ${label}` : `Error connecting to server ${label}`;
      return { ...f, detail };
    }
    try {
      const banner = await readLine(sock, signal, t, 'banner', label);
      const b = smtpStatus(banner);
      if (b !== 220) throw new CheckFailure(`banner ${b < 0 ? 'malformed' : b}`, `Bad greeting banner from server ${label}`);
      sock.write(`HELO ${chk.heloName}\r\n`);
      const helo = await readLine(sock, signal, t, 'helo', label);
      const h = smtpStatus(helo);
      if (h !== 250) throw new CheckFailure(`helo ${h < 0 ? 'malformed' : h}`, `Bad HELO response from server ${label}`);
      sock.write('QUIT\r\n');
      // keepalived waits for the QUIT reply but does not look at it
      await readLine(sock, signal, t, 'quit', label);
      return { ok: true };
    } catch (e) {
      return failureResult(e, 'smtp');
    } finally {
      sock.destroy();
    }
  };
}
