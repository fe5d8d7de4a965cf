// `hacheck genhash`: the MD5 digest of a URL's body, as keepalived's genhash
// (keepalived --genhash, check_genhash.c) computes it for HTTP_GET/SSL_GET `digest`. The
// request and the digest are HTTP_GET's own (http.ts), so a digest printed here is one the
// checker accepts. Output as keepalived 2.2: the 32 hex digits and a newline (genhash of
// keepalived 1.x printed "MD5SUM = …"; 2.x does not).

import { isIPv6, isIP } from 'node:net';
import { CheckFailure } from './common.js';
import { httpGet, type HttpGetResult, type HttpProtocol } from './http.js';

export interface GenhashOptions {
  /** a whole URL (http:// or https://), instead of host/port/path/ssl */
  url?: string;
  host?: string;
  port?: number;
  path?: string;
  ssl?: boolean;
  /** Host: header (-V) */
  virtualhost?: string;
  /** send SNI (the virtualhost) (-I) */
  sni?: boolean;
  protocol?: HttpProtocol;
  /** default: keepalived's UINT_MAX µs */
  timeoutMs?: number;
}

/** keepalived genhash's default connection_to: UINT_MAX µs. */
const DEFAULT_TIMEOUT_MS = Math.floor(4294967295 / 1000);

function resolveTarget(o: GenhashOptions): { host: string; port: number; path: string; ssl: boolean } {
  if (o.url) {
    const u = new URL(o.url);
    const ssl = u.protocol === 'https:';
    const host = u.hostname.replace(/^\[|\]$/g, '');
    return { host, port: u.port ? Number(u.port) : ssl ? 443 : 80, path: `${u.pathname}${u.search}` || '/', ssl };
  }
  if (!o.host || !o.port || !o.path) throw new Error('genhash needs a url, or host, port and path');
  return { host: o.host, port: o.port, path: o.path, ssl: !!o.ssl };
}

/** Fetch and digest: the full response as HTTP_GET reads it. */
export async function genhashFetch(o: GenhashOptions, signal: AbortSignal = new AbortController().signal): Promise<HttpGetResult> {
  const t = resolveTarget(o);
  if (!isIP(t.host)) throw new Error(`server should be an IP, not ${t.host}`);
  const req: Parameters<typeof httpGet>[0] = {
    ip: t.host,
    port: t.port,
    family: isIPv6(t.host) ? 'inet6' : 'inet',
    path: t.path,
    protocol: o.protocol ?? '1.0',
    timeoutMs: o.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    keepBody: 1 << 20,
  };
  if (o.virtualhost !== undefined) req.virtualhost = o.virtualhost;
  if (t.ssl) req.tls = o.sni && o.virtualhost ? { servername: o.virtualhost } : {};
  return httpGet(req, signal);
}

/** The MD5 (hex) of the body at the URL; throws when nothing came back. */
export async function genhash(o: GenhashOptions, signal?: AbortSignal): Promise<string> {
  const r = await genhashFetch(o, signal);
  if (!r.headerSeen) throw new Error('no data received from remote webserver');
  return r.md5;
}

/* ------------------------------------------------------------------------ *
 * Command line                                                              *
 * ------------------------------------------------------------------------ */

export interface GenhashIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

const defaultIo: GenhashIo = { out: (s) => void process.stdout.write(s), err: (s) => void process.stderr.write(s) };

const USAGE = `Usage: hacheck genhash -s ADDRESS -p PORT -u PATH [OPTIONS]
Print the MD5 digest of a web page's body, for an HTTP_GET/SSL_GET url's "digest".
  -s, --server ADDRESS        IP address of the web server
  -p, --port PORT             TCP port
  -u, --url PATH              path to fetch (e.g. /index.html)
  -S, --use-ssl               use TLS (SSL_GET)
  -I, --use-sni               send the virtual host as TLS SNI
  -V, --use-virtualhost HOST  Host: header to send
  -P, --protocol VERSION      HTTP protocol: 1.0 (default), 1.0c (1.0 with Connection: close), 1.1
  -t, --timeout SECONDS       connect/read timeout
  -m, --fwmark MARK           accepted for compatibility; not applied
  -v, --verbose               show the response header and body
  -h, --help                  this help
`;

const LONG: Record<string, string> = {
  help: 'h',
  verbose: 'v',
  'use-ssl': 'S',
  'use-sni': 'I',
  server: 's',
  'use-virtualhost': 'V',
  port: 'p',
  url: 'u',
  fwmark: 'm',
  protocol: 'P',
  timeout: 't',
};
const WITH_ARG = new Set(['s', 'V', 'p', 'u', 'm', 'P', 't']);

export interface GenhashArgs {
  opts: GenhashOptions;
  verbose: boolean;
}

/** Parse genhash's options (getopt_long style: -p80, -p 80, --port=80, --port 80). */
export function parseGenhashArgs(argv: readonly string[]): GenhashArgs | { error: string } {
  const opts: GenhashOptions = {};
  let verbose = false;
  let help = false;
  const seen = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    let flag: string;
    let val: string | undefined;
    if (a.startsWith('--')) {
      const [name, inline] = a.slice(2).split(/=(.*)/s, 2);
      const f = LONG[name];
      if (!f) return { error: `Unknown option ${a}` };
      flag = f;
      val = inline;
      if (WITH_ARG.has(flag) && val === undefined) {
        val = argv[++i];
        if (val === undefined) return { error: `Missing parameter for option --${name}` };
      }
    } else if (a.startsWith('-') && a.length > 1) {
      flag = a[1];
      if (!Object.values(LONG).includes(flag)) return { error: `Unknown option -${flag}` };
      if (WITH_ARG.has(flag)) {
        val = a.length > 2 ? a.slice(2) : argv[++i];
        if (val === undefined) return { error: `Missing parameter for option -${flag}` };
      } else if (a.length > 2) return { error: `Unknown option ${a}` };
    } else return { error: `Unexpected argument(s): ${argv.slice(i).join(' ')}` };
    seen.add(flag);
    switch (flag) {
      case 'h':
        help = true;
        break;
      case 'v':
        verbose = true;
        break;
      case 'S':
        opts.ssl = true;
        break;
      case 'I':
        opts.sni = true;
        break;
      case 's':
        if (!isIP(val!)) return { error: `server should be an IP, not ${val}` };
        opts.host = val!;
        break;
      case 'V':
        opts.virtualhost = val!;
        break;
      case 'p': {
        const n = /^[0-9]+$/.test(val!) ? Number(val) : NaN;
        if (!(n >= 1 && n <= 65535)) return { error: `invalid port number '${val}'` };
        opts.port = n;
        break;
      }
      case 'u':
        opts.path = val!;
        break;
      case 'm':
        if (!/^[ \t]*[0-9]+$/.test(val!)) return { error: `invalid fwmark '${val}'` };
        break;
      case 'P':
        if (val === '1.0' || val === '1.1') opts.protocol = val;
        else if (val === '1.0c' || val === '1.0C') opts.protocol = '1.0C';
        else return { error: `invalid HTTP protocol version '${val}'` };
        break;
      case 't': {
        if (!/^[ \t]*[0-9]+$/.test(val!)) return { error: `invalid timeout '${val}'` };
        opts.timeoutMs = Number(val!.trim()) * 1000;
        break;
      }
    }
  }
  if (help) return { error: '' };
  if (!seen.has('s') || !seen.has('p') || !seen.has('u')) return { error: '' };
  return { opts, verbose };
}

/** keepalived's dump_buffer(): offset, 8 + 8 hex bytes, the printable characters. */
export function hexDump(b: Buffer): string {
  let out = '';
  for (let off = 0; off < b.length; off += 16) {
    const row = b.subarray(off, off + 16);
    const hex = [...row].map((x) => x.toString(16).padStart(2, '0'));
    const left = hex.slice(0, 8).join(' ').padEnd(23);
    const right = hex.slice(8).join(' ').padEnd(23);
    const ascii = [...row].map((x) => (x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : '.')).join('');
    out += `${String(off).padStart(4, '0')}  ${left} - ${right}   ${ascii}\n`;
  }
  return out;
}

const banner = (t: string) => `-----------------------[ ${t.padStart(12 + Math.ceil(t.length / 2)).padEnd(24)} ]-----------------------\n`;

/** `hacheck genhash …`: prints the digest; returns the exit code. */
export async function genhashMain(argv: readonly string[], io: GenhashIo = defaultIo): Promise<number> {
  const p = parseGenhashArgs(argv);
  if ('error' in p) {
    if (p.error) io.err(`${p.error}\n`);
    io.err(USAGE);
    return 1;
  }
  const started = performance.now();
  let r: HttpGetResult;
  try {
    r = await genhashFetch(p.opts);
  } catch (e) {
    io.err(`${e instanceof CheckFailure ? e.reason : (e as Error).message}\n`);
    return 1;
  }
  if (!r.headerSeen) {
    io.err('no data received from remote webserver\n');
    return 1;
  }
  if (p.verbose) {
    io.out(banner('HTTP Header Buffer'));
    io.out(hexDump(r.header));
    io.out(banner('HTTP Header Ascii Buffer'));
    io.out(`${r.header.toString('latin1').replace(/\r\n/g, '\n')}\n`);
    io.out(banner('HTML Buffer'));
    io.out(`${hexDump(r.body)}\n`);
    io.out(banner('HTML hash resulting'));
    io.out(hexDump(Buffer.from(r.md5, 'hex')));
    io.out(banner('HTML hash final resulting'));
  }
  io.out(`${r.md5}\n`);
  if (p.verbose) io.out(`\nGlobal response time for [${p.opts.path}] = ${Math.round((performance.now() - started) * 1000)} usecs\n`);
  return 0;
}
