// HTTP_GET and SSL_GET (keepalived check_http.c, check_ssl.c, lib/html.c).
//
// The request is written by hand over net/tls, not with an HTTP library, because the wire
// must be keepalived's: "GET <path> HTTP/1.0" (or 1.1 / 1.0 + "Connection: close" per
// http_protocol), its User-Agent and Host lines, and the response read raw until the server
// closes. The MD5 `digest` is of the bytes after the header as received (keepalived does not
// decode chunked or compressed bodies, so neither may we, or digests made by genhash would
// not match); Node's HTTP client always speaks HTTP/1.1 and decodes chunked bodies.
//
// Timing as keepalived: connect_timeout bounds the TCP connect, the TLS handshake and each
// read separately (keepalived re-arms it for every step); the scheduler adds a hard bound on
// the whole run so a server trickling bytes cannot hold a check forever.
//
// TLS: keepalived never calls SSL_CTX_set_verify, so certificates are not verified (a
// self-signed server passes); the SSL block's certificate/key are the client certificate and
// its ca only feeds the verify store. SNI is sent only with enable_sni / sni_name.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import type net from 'node:net';
import type { ConnOpts, Family, HttpCheck, HttpUrl } from '../config/model/checkers.js';
import type { SslConfig } from '../config/model/lvs.js';
import { CheckFailure, errReason, failureResult, readUntilEnd, tcpConnect, timeoutReason, type CheckFn, type CheckResult } from './common.js';

/** HTTP_STATUS_CODE_MIN..MAX (keepalived check_http.h) */
const STATUS_MIN = 100;
const STATUS_MAX = 599;
/** Body bytes kept for a regex match (keepalived matches a 4 KiB sliding buffer; this is plenty). */
const REGEX_BODY_CAP = 1 << 20;

export type HttpProtocol = '1.0' | '1.1' | '1.0C';

export interface TlsFiles {
  ca?: string;
  certificate?: string;
  key?: string;
  password?: string;
}

export interface HttpGetOptions {
  ip: string;
  port: number;
  family: Family;
  path: string;
  /** Host: header; absent = the address and port */
  virtualhost?: string;
  protocol: HttpProtocol;
  /** present = SSL_GET */
  tls?: { files?: TlsFiles; servername?: string };
  /** connect_timeout: bounds connect, handshake and each read */
  timeoutMs: number;
  bindto?: string;
  bindPort?: number;
  /** keep up to this many body bytes in `body` (default 0) */
  keepBody?: number;
}

export interface HttpGetResult {
  /** the end of the header ("\r\n\r\n") was seen */
  headerSeen: boolean;
  header: Buffer;
  /** 0 when the status line is not "HTTP/x.y NNN ..." */
  status: number;
  /** Content-Length, when the header has one */
  contentLength?: number;
  /** body bytes received */
  rxBytes: number;
  /** MD5 (hex) of the body bytes, capped at Content-Length as keepalived does */
  md5: string;
  body: Buffer;
}

/** The request line and headers keepalived sends (check_http.c request_template). */
export function buildRequest(o: Pick<HttpGetOptions, 'path' | 'virtualhost' | 'protocol' | 'ip' | 'port' | 'family'>): string {
  const minor = o.protocol === '1.1' ? 1 : 0;
  const close = o.protocol === '1.0' ? '' : 'Connection: close\r\n';
  let host: string;
  if (o.virtualhost) host = o.virtualhost;
  else host = `${o.family === 'inet6' ? `[${o.ip}]` : o.ip}:${o.port}`;
  return `GET ${o.path} HTTP/1.${minor}\r\nUser-Agent: KeepAliveClient\r\n${close}Host: ${host}\r\n\r\n`;
}

/** lib/html.c extract_status_code(): "HTTP/1.1 200 OK" → 200; 0 when malformed. */
export function extractStatusCode(header: string): number {
  const m = /^[^ \r]* ([0-9]{3}) /.exec(header);
  return m ? Number(m[1]) : 0;
}

/** lib/html.c extract_content_length(): the first "Content-Length:" (case as written). */
export function extractContentLength(header: string): number | undefined {
  const i = header.indexOf('Content-Length:');
  if (i < 0) return undefined;
  const m = /^[ \t]*([0-9]+)(\r|\n|$)/.exec(header.slice(i + 15));
  return m ? Number(m[1]) : undefined;
}

/** Parses a response as it streams in, as keepalived's http_process_response(). */
export class ResponseReader {
  private head: Buffer[] = [];
  private headLen = 0;
  private md5 = createHash('md5');
  private bodyParts: Buffer[] = [];
  private kept = 0;
  headerSeen = false;
  header = Buffer.alloc(0);
  status = 0;
  contentLength?: number;
  rxBytes = 0;

  constructor(private readonly keepBody = 0) {}

  push(chunk: Buffer): void {
    if (this.headerSeen) return this.body(chunk);
    this.head.push(chunk);
    this.headLen += chunk.length;
    const all = Buffer.concat(this.head, this.headLen);
    const end = all.indexOf('\r\n\r\n');
    if (end < 0) {
      this.head = [all];
      return;
    }
    this.headerSeen = true;
    this.header = all.subarray(0, end + 4);
    this.head = [];
    const text = this.header.toString('latin1');
    this.status = extractStatusCode(text);
    this.contentLength = extractContentLength(text);
    const rest = all.subarray(end + 4);
    if (rest.length) this.body(rest);
  }

  private body(chunk: Buffer): void {
    const cl = this.contentLength;
    const take = cl === undefined ? chunk.length : Math.max(0, Math.min(chunk.length, cl - this.rxBytes));
    if (take) this.md5.update(take === chunk.length ? chunk : chunk.subarray(0, take));
    if (this.kept < this.keepBody) {
      const k = chunk.subarray(0, Math.min(chunk.length, this.keepBody - this.kept));
      this.bodyParts.push(k);
      this.kept += k.length;
    }
    this.rxBytes += chunk.length;
  }

  result(): HttpGetResult {
    const r: HttpGetResult = {
      headerSeen: this.headerSeen,
      header: this.header,
      status: this.status,
      rxBytes: this.rxBytes,
      md5: this.md5.digest('hex'),
      body: Buffer.concat(this.bodyParts),
    };
    if (this.contentLength !== undefined) r.contentLength = this.contentLength;
    return r;
  }
}

const fileCache = new Map<string, Buffer>();
function readCached(path: string): Buffer {
  let b = fileCache.get(path);
  if (!b) {
    b = readFileSync(path);
    fileCache.set(path, b);
  }
  return b;
}

/** The TLS client options keepalived's SSL context amounts to. */
function tlsOptions(files: TlsFiles | undefined, servername: string | undefined, socket: net.Socket): tls.ConnectionOptions {
  const o: tls.ConnectionOptions = { socket, rejectUnauthorized: false };
  if (servername) o.servername = servername;
  try {
    if (files?.ca) o.ca = readCached(files.ca);
    if (files?.certificate) o.cert = readCached(files.certificate);
    if (files?.key) o.key = readCached(files.key);
  } catch (e) {
    throw new CheckFailure(errReason('ssl files', e));
  }
  if (files?.password) o.passphrase = files.password;
  return o;
}

function tlsHandshake(opts: tls.ConnectionOptions, signal: AbortSignal, timeoutMs: number): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    let s: tls.TLSSocket;
    const done = (err?: CheckFailure) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      s.removeListener('error', onError);
      if (err) {
        s.destroy();
        reject(err);
      } else resolve(s);
    };
    const onError = (e: Error) => done(new CheckFailure(errReason('tls', e)));
    const onAbort = () => done(new CheckFailure('aborted'));
    const timer = setTimeout(() => done(new CheckFailure(`tls ${timeoutReason(timeoutMs)}`)), timeoutMs);
    try {
      s = tls.connect(opts, () => done());
    } catch (e) {
      clearTimeout(timer);
      (opts.socket as net.Socket | undefined)?.destroy();
      reject(new CheckFailure(errReason('tls', e)));
      return;
    }
    s.once('error', onError);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** One GET the way keepalived does it; throws CheckFailure on connect/TLS/send/read errors. */
export async function httpGet(o: HttpGetOptions, signal: AbortSignal): Promise<HttpGetResult> {
  const conn: ConnOpts = { connectIp: o.ip, family: o.family, connectPort: o.port, connectTimeoutMs: o.timeoutMs };
  if (o.bindto) conn.bindto = o.bindto;
  if (o.bindPort) conn.bindPort = o.bindPort;
  const raw = await tcpConnect(conn, signal);
  let sock: net.Socket | tls.TLSSocket = raw;
  try {
    if (o.tls) sock = await tlsHandshake(tlsOptions(o.tls.files, o.tls.servername, raw), signal, o.timeoutMs);
    const reader = new ResponseReader(o.keepBody ?? 0);
    const reading = readUntilEnd(sock, signal, o.timeoutMs, 'read', (c) => void reader.push(c));
    sock.write(buildRequest(o));
    try {
      await reading;
    } catch (e) {
      // keepalived: a read error after data is "Read error with", a timeout "Timeout HTTP read"
      throw e instanceof CheckFailure ? e : new CheckFailure(errReason('read', e));
    }
    return reader.result();
  } finally {
    sock.destroy();
    raw.destroy();
  }
}

/** "200-299,404" */
export function fmtStatusRanges(r: [number, number][]): string {
  return r.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',');
}

/** PCRE2 option names that have a JavaScript RegExp flag; the others are ignored. */
const REGEX_FLAGS: Record<string, string> = { caseless: 'i', multiline: 'm', dotall: 's', utf: 'u' };

/** The url's regex as a JavaScript RegExp (PCRE syntax JS lacks fails to compile). */
export function compileUrlRegex(url: HttpUrl): RegExp | CheckFailure | undefined {
  if (url.regex === undefined) return undefined;
  const flags = [...new Set(url.regexOptions.map((o) => REGEX_FLAGS[o]).filter(Boolean))].join('');
  try {
    return new RegExp(url.regex, flags);
  } catch (e) {
    return new CheckFailure(`regex invalid: ${(e as Error).message}`);
  }
}

/** Judge one response against its url block (check_http.c http_handle_response). */
export function judgeResponse(url: HttpUrl, r: HttpGetResult, re?: RegExp): CheckResult {
  if (!r.headerSeen) return { ok: false, reason: 'no data received' };
  const inRange = url.statusCodes.some(([a, b]) => r.status >= a && r.status <= b);
  if (r.status < STATUS_MIN || r.status > STATUS_MAX || !inRange) {
    return { ok: false, reason: `status ${r.status} not in ${fmtStatusRanges(url.statusCodes)}` };
  }
  if (url.digest !== undefined && url.digest !== r.md5) return { ok: false, reason: 'digest mismatch', detail: `got ${r.md5}` };
  if (re) {
    const text = r.body.toString('latin1');
    const min = url.regexMinOffset ?? 0;
    const max = url.regexMaxOffset;
    re.lastIndex = 0;
    const m = re.exec(min ? text.slice(min) : text);
    const at = m ? m.index + min : -1;
    const matched = !!m && (max === undefined || at <= max);
    if (matched === url.regexNoMatch) return { ok: false, reason: url.regexNoMatch ? 'regex matched' : 'regex not matched' };
  }
  return { ok: true };
}

/** Where the Host: header and SNI name fall back to (keepalived http_request / ssl_connect). */
export interface HttpCheckContext {
  rsVirtualhost?: string;
  vsVirtualhost?: string;
  /** the global SSL { } block */
  ssl?: SslConfig;
}

/** HTTP_GET / SSL_GET: every url in order, one connection each; the first failure fails the run. */
export function httpCheck(chk: HttpCheck, ctx: HttpCheckContext = {}): CheckFn {
  const regexes = chk.urls.map((u) => compileUrlRegex(u));
  return async (signal) => {
    for (let i = 0; i < chk.urls.length; i++) {
      const url = chk.urls[i];
      const prefix = chk.urls.length > 1 ? `url ${url.path}: ` : '';
      const re = regexes[i];
      if (re instanceof CheckFailure) return { ok: false, reason: prefix + re.reason };
      const vhost = url.virtualhost ?? chk.virtualhost ?? ctx.rsVirtualhost ?? ctx.vsVirtualhost;
      const o: HttpGetOptions = {
        ip: chk.conn.connectIp,
        port: chk.conn.connectPort,
        family: chk.conn.family,
        path: url.path,
        protocol: chk.httpProtocol,
        timeoutMs: chk.conn.connectTimeoutMs,
      };
      if (vhost !== undefined) o.virtualhost = vhost;
      if (chk.conn.bindto) o.bindto = chk.conn.bindto;
      if (chk.conn.bindPort) o.bindPort = chk.conn.bindPort;
      if (re) o.keepBody = REGEX_BODY_CAP;
      if (chk.type === 'SSL_GET') {
        // ssl_connect(): SNI from sni_name, the url's, the checker's, the virtual server's virtualhost
        const sni = chk.enableSni ? (chk.sniName ?? url.virtualhost ?? chk.virtualhost ?? ctx.vsVirtualhost) : undefined;
        o.tls = {};
        if (ctx.ssl) o.tls.files = ctx.ssl;
        if (sni !== undefined) o.tls.servername = sni;
      }
      let res: HttpGetResult;
      try {
        res = await httpGet(o, signal);
      } catch (e) {
        const f = failureResult(e, 'request');
        return { ...f, reason: prefix + f.reason };
      }
      const j = judgeResponse(url, res, re);
      if (!j.ok) return { ...j, reason: prefix + j.reason };
    }
    return { ok: true };
  };
}
