// The health checkers of a real_server (keepalived.conf(5), LVS CONFIGURATION):
// TCP_CHECK, HTTP_GET, SSL_GET, MISC_CHECK, SMTP_CHECK, DNS_CHECK, UDP_CHECK,
// PING_CHECK, FILE_CHECK and BFD_CHECK, with the keywords every connecting checker
// shares (keepalived check_api.c install_checker_common_keywords).
//
// Parsing records what the block says; finishLvs (lvs.ts) then fills in what the
// checker inherits from its real_server and virtual_server (resolveChecker below),
// the way keepalived's validate_check_config() does, so a consumer reads final values.

import { isIPv4, isIPv6 } from 'node:net';
import { ErrClass, type Loc } from '../diagnostics.js';
import type { Stmt } from '../parse.js';
import { isDigits, restOfLine, type BlockSpec, type Ctx } from './context.js';
import { parseScript, resolveUser, type ScriptSpec } from './scripts.js';
import { canonicalIp } from '../../ipvs/addr.js';

export type Family = 'inet' | 'inet6';

/* ------------------------------------------------------------------------ *
 * Readers shared by the LVS and checker blocks                              *
 * ------------------------------------------------------------------------ */

/** Micro-seconds per second (keepalived TIMER_HZ). */
export const TIMER_HZ = 1_000_000;
/** Largest timer keepalived accepts when a keyword gives no maximum (TIMER_MAXIMUM, here capped to a safe integer). */
const TIMER_MAX_US = Number.MAX_SAFE_INTEGER;
/** UINT_MAX */
export const UINT_MAX = 4294967295;

/** An address as keepalived's inet_stosockaddr() reads it: "-range" and "/mask" tails are dropped. */
export interface SockAddr {
  ip: string;
  family: Family;
  /** 0 when no port was given */
  port: number;
}

/**
 * keepalived inet_stosockaddr(): the family is IPv6 when the text has a ':'; anything
 * after '-' or '/' is ignored; the address must be a literal inet_pton() accepts.
 */
export function parseSockAddr(text: string): Omit<SockAddr, 'port'> | undefined {
  const dash = text.indexOf('-');
  const slash = text.indexOf('/');
  const cut = dash < 0 ? slash : slash < 0 ? dash : Math.min(dash, slash);
  const ip = cut >= 0 ? text.slice(0, cut) : text;
  if (text.includes(':')) {
    if (!isIPv6(ip) || ip.includes('%')) return undefined;
    return { ip: canonicalIp(ip), family: 'inet6' };
  }
  if (!isIPv4(ip)) return undefined;
  return { ip, family: 'inet' };
}

/** A port word: "0…0" means no port (keepalived v2.0.7+); otherwise 1..65535. */
export function isZeroPort(p: string | undefined): boolean {
  if (p === undefined) return true;
  for (let k = 0; k < p.length; k++) if (p.charCodeAt(k) !== 48) return false;
  return true;
}

/**
 * keepalived read_timer(): seconds with up to 6 decimal places, returned in µs;
 * reports as read_decimal_unsigned_long_func() does. minUs/maxUs in µs (maxUs 0 = no maximum).
 */
export function readTimer(c: Ctx, s: Stmt, i: number, minUs: number, maxUs: number): number | undefined {
  const v = c.arg(s, i);
  if (v === undefined) return undefined;
  const max = maxUs || TIMER_MAX_US;
  // the common word, whole seconds in plain digits, needs no pattern
  if (isDigits(v)) {
    const us = Number(v) * TIMER_HZ;
    if (Number.isSafeInteger(us) && us >= minUs && us <= max) return us;
  }
  if (v.startsWith('-')) {
    c.error(s, `negative number '${v}'`, i, ErrClass.INVALID_NUMBER, 'HC_CONFIG_NUMBER');
    return undefined;
  }
  const m = /^([0-9]*)(?:\.([0-9]*))?$/.exec(v);
  if (!m || (m[1] === '' && !m[2])) {
    c.error(s, `invalid number '${v}'`, i, ErrClass.INVALID_NUMBER, 'HC_CONFIG_NUMBER');
    return undefined;
  }
  let frac = m[2] ?? '';
  let roundUp = false;
  if (frac.length > 6) {
    c.error(s, `number '${v}' has too many decimal places`, i, ErrClass.INVALID_NUMBER, 'HC_CONFIG_NUMBER');
    roundUp = frac[6] >= '5';
    frac = frac.slice(0, 6);
  }
  const us = Number(m[1] || '0') * TIMER_HZ + Number(frac.padEnd(6, '0')) + (roundUp ? 1 : 0);
  if (!Number.isSafeInteger(us)) {
    c.error(s, `number '${v}' outside unsigned decimal range`, i, ErrClass.INVALID_NUMBER, 'HC_CONFIG_NUMBER');
    return undefined;
  }
  if (us < minUs || us > max) {
    c.error(s, `number '${v}' outside range [${fmtUs(minUs)}, ${fmtUs(max)}]`, i, ErrClass.INVALID_NUMBER, 'HC_CONFIG_NUMBER');
    return undefined;
  }
  return us;
}

function fmtUs(us: number): string {
  return `${Math.floor(us / TIMER_HZ)}.${String(us % TIMER_HZ).padStart(6, '0')}`;
}

/** keepalived check_true_false() after an optional-argument keyword: no argument = true. */
export function optBool(c: Ctx, s: Stmt, message: string): boolean | undefined {
  if (s.args.length < 1) return true;
  const v = s.args[0];
  if (v === 'true' || v === 'on' || v === 'yes') return true;
  if (v === 'false' || v === 'off' || v === 'no') return false;
  c.error(s, `${message} ${v}`, 1);
  return undefined;
}

/** µs → ms (fractional when the configuration used µs precision). */
export const usToMs = (us: number): number => us / 1000;

/* ------------------------------------------------------------------------ *
 * Model                                                                     *
 * ------------------------------------------------------------------------ */

/** Where and how a connecting checker connects (keepalived conn_opts_t). */
export interface ConnOpts {
  /** connect_ip; default: the real server's address */
  connectIp: string;
  family: Family;
  /** connect_port; default: the port written on the real_server line (0 when it has none, as keepalived) */
  connectPort: number;
  /** bindto: source address */
  bindto?: string;
  /** bind_port: source port */
  bindPort?: number;
  /** bind_if: needed for an IPv6 link-local connect_ip */
  bindIf?: string;
  /** connect_timeout in ms; default: the real_server's, itself the virtual_server's (5 s) */
  connectTimeoutMs: number;
  /** fwmark: SO_MARK of the checker's socket */
  fwmark?: number;
}

/** Timing and retry settings of a polling checker, after inheritance. */
export interface CheckerTiming {
  /** alpha: start in the failed state; default the real_server's, itself the virtual_server's */
  alpha: boolean;
  /** log_all_failures */
  logAllFailures: boolean;
  /** retry (nb_get_retry): failures before the checker is down; default the real_server's, else 1 (MISC_CHECK 0, DNS_CHECK 3) */
  retry: number;
  /** delay_loop in ms; default the real_server's, itself the virtual_server's (60 s) */
  delayLoopMs: number;
  /** warmup in ms: random delay before the first check; default the real_server's, else delay_loop */
  warmupMs: number;
  /** delay_before_retry in ms; default the real_server's, else 1 s (HTTP/SSL_GET 3 s, DNS_CHECK delay_loop) */
  delayBeforeRetryMs: number;
}

interface CheckerHead {
  loc: Loc;
}

export interface TcpCheck extends CheckerHead, CheckerTiming {
  type: 'TCP_CHECK';
  conn: ConnOpts;
}

export interface PingCheck extends CheckerHead, CheckerTiming {
  type: 'PING_CHECK';
  conn: ConnOpts;
}

/** One `url { }` of an HTTP_GET / SSL_GET. */
export interface HttpUrl {
  /** path (required) */
  path: string;
  /** digest: MD5 of the body, 32 lower-case hex digits */
  digest?: string;
  /** status_code: accepted codes as inclusive ranges; default [[200, 299]] */
  statusCodes: [number, number][];
  /** Host: header: url virtualhost, else the checker's, the real_server's, the virtual_server's */
  virtualhost?: string;
  /** regex (PCRE2) the body must match (or must not, with regex_no_match) */
  regex?: string;
  regexNoMatch: boolean;
  regexOptions: string[];
  regexMinOffset?: number;
  regexMaxOffset?: number;
  /** regex_stack START MAX (JIT stack sizes) */
  regexStack?: [number, number];
  /** tls_compliant for this url (SSL_GET) */
  tlsCompliant?: boolean;
  loc: Loc;
}

export interface HttpCheck extends CheckerHead, CheckerTiming {
  type: 'HTTP_GET' | 'SSL_GET';
  conn: ConnOpts;
  urls: HttpUrl[];
  /** virtualhost of the checker (before url/real_server/virtual_server fall-backs) */
  virtualhost?: string;
  /** http_protocol 1.0 | 1.1 | 1.0C; default 1.0 */
  httpProtocol: '1.0' | '1.1' | '1.0C';
  /** enable_sni (set also by sni_name) */
  enableSni: boolean;
  sniName?: string;
  /** fast_recovery: one success brings the server back up */
  fastRecovery: boolean;
  /** tls_compliant (SSL_GET) */
  tlsCompliant: boolean;
}

export interface MiscCheck extends CheckerHead, CheckerTiming {
  type: 'MISC_CHECK';
  /** misc_path: the command line */
  script?: ScriptSpec;
  /** misc_path as written */
  miscPath: string;
  /** misc_timeout in ms; default the virtual_server's delay_loop (keepalived check_misc.c) */
  timeoutMs: number;
  /** misc_dynamic: exit code 2..255 sets weight = code - 2 */
  dynamic: boolean;
  /** user USER [GROUP] */
  user?: string;
  group?: string;
}

export interface SmtpCheck extends CheckerHead, CheckerTiming {
  type: 'SMTP_CHECK';
  conn: ConnOpts;
  /** helo_name; default "smtpchecker.keepalived.org" */
  heloName: string;
}

export interface DnsCheck extends CheckerHead, CheckerTiming {
  type: 'DNS_CHECK';
  conn: ConnOpts;
  /** type: A NS CNAME SOA MX TXT AAAA RRSIG DNSKEY; default SOA */
  dnsType: string;
  /** name queried; default "" (the root) */
  name: string;
}

export interface UdpCheck extends CheckerHead, CheckerTiming {
  type: 'UDP_CHECK';
  conn: ConnOpts;
  /** payload: bytes sent, as lower-case hex */
  payload?: string;
  /** require_reply: a reply is needed; with data, the reply must match it */
  requireReply: boolean;
  /** the required reply as hex, with its wildcard mask (hex, f = wildcard nibble) when it had x digits */
  reply?: string;
  replyMask?: string;
  /** min_reply_length (default 0) / max_reply_length (default 255) */
  minReplyLength: number;
  maxReplyLength: number;
}

/** FILE_CHECK: weight from a track_file block (keepalived track_file.c); not a polling checker. */
export interface FileCheck extends CheckerHead {
  type: 'FILE_CHECK';
  /** track_file NAME: a top-level track_file block */
  trackFile: string;
  /** weight W [reverse|noreverse]; default: the track_file block's weight */
  weight?: number;
  reverse: boolean;
}

/** BFD_CHECK: the real server follows a bfd_instance (hacheck does not run BFD yet). */
export interface BfdCheck extends CheckerHead {
  type: 'BFD_CHECK';
  /** name: a bfd_instance */
  name: string;
  alpha: boolean;
}

export type Checker = TcpCheck | HttpCheck | MiscCheck | SmtpCheck | DnsCheck | UdpCheck | PingCheck | FileCheck | BfdCheck;
export type PollingChecker = Exclude<Checker, FileCheck | BfdCheck>;

/* ------------------------------------------------------------------------ *
 * What a block sets explicitly, before inheritance                          *
 * ------------------------------------------------------------------------ */

/** Timing a virtual_server / real_server / checker sets itself (µs; undefined = not set). */
export interface TimingSettings {
  retry?: number;
  delayLoopUs?: number;
  warmupUs?: number;
  delayBeforeRetryUs?: number;
  connectTimeoutUs?: number;
  alpha?: boolean;
}

/** The parts of a real server a checker needs while it is being read. */
export interface RsRef {
  ip: string;
  family: Family;
  /** port as written on the real_server line, 0 if none */
  configuredPort: number;
  /** `IP:port` for messages, keepalived FMT_RS */
  label: string;
}

interface ConnDraft {
  ip?: string;
  family?: Family;
  /** false after a family clash: keepalived leaves the address unusable */
  valid: boolean;
  port?: number;
  bindto?: string;
  bindFamily?: Family;
  bindPort?: number;
  bindIf?: string;
  connectTimeoutUs?: number;
  fwmark?: number;
  /** any connection keyword was given (SMTP_CHECK decides on it) */
  touched: boolean;
}

/** A checker being read: the model object plus what the block set explicitly. */
export interface CheckerDraft {
  checker: Checker;
  timing: TimingSettings;
  logAllFailures: boolean;
  conn?: ConnDraft;
  /** SMTP_CHECK host { } blocks */
  hosts?: ConnDraft[];
  /** keepalived's non-standard defaults (queue_checker + checker handlers) */
  defaultRetry: number;
  /** µs; 0 = delay_loop */
  defaultDelayBeforeRetryUs: number;
  /** MISC_CHECK misc_timeout in µs, 0 = not set */
  miscTimeoutUs?: number;
  /** keepalived dequeued the checker while reading it */
  dropped?: boolean;
  /** MISC_CHECK `user`: the resolved user, applied to the script at the end of the block */
  scriptUser?: ScriptSpec;
}

/** Where a checker block is read: its real server and the drafts list it joins. */
export interface CheckerScope {
  rs: RsRef;
  /** the virtual server's label, for messages */
  vsLabel: string;
  drafts: CheckerDraft[];
  /** cfg.scripts, for misc_path */
  scripts: ScriptSpec[];
}

interface CkTarget {
  d: CheckerDraft;
  scope: CheckerScope;
  /** the connection options the common keywords act on (SMTP host blocks have their own) */
  conn?: ConnDraft;
}

/* ------------------------------------------------------------------------ *
 * Keywords every connecting checker has (check_api.c)                       *
 * ------------------------------------------------------------------------ */

const connKeywords: BlockSpec<CkTarget>['keywords'] = {
  connect_ip(s, t, c) {
    const v = c.arg(s, 1);
    if (v === undefined || !t.conn) return;
    const a = parseSockAddr(v);
    t.conn.touched = true;
    if (!a) return c.error(s, `Invalid connect_ip address ${v} - ignoring`, 1);
    if (t.conn.bindFamily && t.conn.bindFamily !== a.family) {
      c.error(s, `connect_ip address ${v} does not match address family of bindto - skipping`, 1);
      t.conn.valid = false;
      return;
    }
    t.conn.ip = a.ip;
    t.conn.family = a.family;
    t.conn.valid = true;
  },
  connect_port(s, t, c) {
    if (!t.conn) return;
    t.conn.touched = true;
    const p = c.uint(s, 1, 1, 65535);
    if (p === undefined) return void (s.args.length && c.error(s, `Invalid checker connect_port '${s.args[0]}'`, 1));
    t.conn.port = p;
  },
  bindto(s, t, c) {
    const v = c.arg(s, 1);
    if (v === undefined || !t.conn) return;
    t.conn.touched = true;
    const a = parseSockAddr(v);
    if (!a) return c.error(s, `Invalid bindto address ${v} - ignoring`, 1);
    // the destination defaults to the real server, so its family counts too
    const dstFamily = t.conn.family ?? t.scope.rs.family;
    if (dstFamily !== a.family) {
      c.error(s, `bindto address ${v} does not match address family of connect_ip - skipping`, 1);
      return;
    }
    t.conn.bindto = a.ip;
    t.conn.bindFamily = a.family;
  },
  bind_port(s, t, c) {
    if (!t.conn) return;
    t.conn.touched = true;
    const p = c.uint(s, 1, 1, 65535);
    if (p === undefined) return void (s.args.length && c.error(s, `Invalid checker bind_port '${s.args[0]}'`, 1));
    t.conn.bindPort = p;
  },
  bind_if(s, t, c) {
    const v = c.arg(s, 1);
    if (v === undefined || !t.conn) return;
    t.conn.touched = true;
    // IFNAMSIZ - 1
    if (v.length > 15) return c.error(s, `Interface name ${v} is too long - ignoring`, 1);
    t.conn.bindIf = v;
  },
  connect_timeout(s, t, c) {
    if (!t.conn) return;
    t.conn.touched = true;
    const us = readTimer(c, s, 1, 1, UINT_MAX);
    if (us === undefined) return void (s.args.length && c.error(s, `connect_timeout ${s.args[0]} invalid - ignoring`, 1));
    t.conn.connectTimeoutUs = us;
  },
  fwmark(s, t, c) {
    if (!t.conn) return;
    t.conn.touched = true;
    const v = c.uint(s, 1, 0, UINT_MAX);
    if (v === undefined) return void (s.args.length && c.error(s, `Invalid fwmark connection value '${s.args[0]}'`, 1));
    t.conn.fwmark = v;
  },
};

const timingKeywords: BlockSpec<CkTarget>['keywords'] = {
  retry(s, t, c) {
    const v = c.uint(s, 1, 0, UINT_MAX);
    if (v === undefined) return void (s.args.length && c.error(s, `Invalid retry connection value '${s.args[0]}'`, 1));
    t.d.timing.retry = v;
  },
  delay_before_retry(s, t, c) {
    const us = readTimer(c, s, 1, 0, 0);
    if (us === undefined) return void (s.args.length && c.error(s, `Invalid delay_before_retry connection value '${s.args[0]}'`, 1));
    t.d.timing.delayBeforeRetryUs = us;
  },
  warmup(s, t, c) {
    const us = readTimer(c, s, 1, 0, 0);
    if (us === undefined) return void (s.args.length && c.error(s, `Invalid warmup connection value '${s.args[0]}'`, 1));
    t.d.timing.warmupUs = us;
  },
  delay_loop(s, t, c) {
    const us = readTimer(c, s, 1, 1, 0);
    if (us === undefined) return void (s.args.length && c.error(s, `delay_loop '${s.args[0]}' is invalid - ignoring`, 1));
    t.d.timing.delayLoopUs = us;
  },
  alpha(s, t, c) {
    const b = optBool(c, s, 'Invalid alpha parameter');
    if (b !== undefined) t.d.timing.alpha = b;
  },
  log_all_failures(s, t, c) {
    const b = optBool(c, s, 'Invalid log_all_failures parameter');
    if (b !== undefined) t.d.logAllFailures = b;
  },
};

const commonWithConn = { ...connKeywords, ...timingKeywords };

/* ------------------------------------------------------------------------ *
 * HTTP_GET / SSL_GET (check_http.c)                                          *
 * ------------------------------------------------------------------------ */

/** HTTP_STATUS_CODE_MIN..MAX */
const STATUS_MIN = 100;
const STATUS_MAX = 599;

/** PCRE2 compile options keepalived knows by name (check_http.c regex_options). */
export const REGEX_OPTIONS = [
  'allow_empty_class', 'alt_bsux', 'auto_callout', 'caseless', 'dollar_endonly', 'dotall', 'dupnames', 'extended',
  'firstline', 'match_unset_backref', 'multiline', 'never_ucp', 'never_utf', 'no_auto_capture', 'no_auto_possess',
  'no_dotstar_anchor', 'no_start_optimize', 'ucp', 'ungreedy', 'utf', 'never_backslash_c', 'alt_circumflex',
  'alt_verbnames', 'use_offset_limit',
];

interface UrlTarget {
  url: HttpUrl;
  statusSet: boolean;
  chk: HttpCheck;
}

const urlSpec = (ssl: boolean): BlockSpec<UrlTarget> => ({
  name: 'url',
  keywords: {
    path(s, t, c) {
      const v = c.arg(s, 1);
      if (v !== undefined) t.url.path = v;
    },
    digest(s, t, c) {
      const v = c.arg(s, 1);
      if (v === undefined) return;
      if (t.url.digest !== undefined) return c.error(s, `Digest '${v}' is a duplicate`, 1);
      if (v.length !== 32) return c.error(s, `digest '${v}' character length should be 32 rather than ${v.length}`, 1);
      const bad = v.search(/[^0-9a-fA-F]/);
      if (bad >= 0) {
        const off = bad - (bad % 2);
        return c.error(s, `Unable to interpret hex digit in '${v}' at offset ${off}/${off + 1}`, 1);
      }
      t.url.digest = v.toLowerCase();
    },
    status_code(s, t, c) {
      s.args.forEach((str, k) => {
        const m = /^([0-9]+)(?:-([0-9]+))?$/.exec(str);
        const min = m ? Number(m[1]) : NaN;
        const max = m ? Number(m[2] ?? m[1]) : NaN;
        if (!m || min < STATUS_MIN || min > STATUS_MAX || max < STATUS_MIN || max > STATUS_MAX || min > max) {
          c.error(s, `Invalid HTTP_GET status code '${str}'`, k + 1);
          return;
        }
        t.url.statusCodes.push([min, max]);
        t.statusSet = true;
      });
    },
    virtualhost(s, t, c) {
      if (s.args.length < 1) return c.error(s, 'Missing HTTP_GET virtualhost name');
      t.url.virtualhost = s.args[0];
    },
    regex(s, t, c) {
      // the pattern may be quoted and hold escapes: one word after the keyword
      if (s.args.length !== 1) return c.error(s, 'regex missing or too many fields');
      if (t.url.regex !== undefined) c.error(s, `Duplicate regex specified - replacing ${t.url.regex} with ${s.args[0]}`, 1);
      t.url.regex = s.args[0];
    },
    regex_no_match(_s, t) {
      t.url.regexNoMatch = true;
    },
    regex_options(s, t) {
      // unknown option names are ignored by keepalived
      for (const o of s.args) if (REGEX_OPTIONS.includes(o) && !t.url.regexOptions.includes(o)) t.url.regexOptions.push(o);
    },
    regex_min_offset(s, t, c) {
      // keepalived only logs these (no config error)
      if (s.args.length !== 1 || !/^[0-9]+$/.test(s.args[0])) return c.note(s, 'invalid regex_min_offset - ignored by keepalived');
      t.url.regexMinOffset = Number(s.args[0]);
    },
    regex_max_offset(s, t, c) {
      if (s.args.length !== 1 || !/^[0-9]+$/.test(s.args[0])) return c.note(s, 'invalid regex_max_offset - ignored by keepalived');
      t.url.regexMaxOffset = Number(s.args[0]);
    },
    regex_stack(s, t, c) {
      if (s.args.length !== 2 || !s.args.every((a) => /^[0-9]+$/.test(a)) || Number(s.args[0]) > Number(s.args[1])) {
        return c.note(s, 'invalid regex_stack - ignored by keepalived');
      }
      t.url.regexStack = [Number(s.args[0]), Number(s.args[1])];
    },
    ...(ssl
      ? {
          tls_compliant(s: Stmt, t: UrlTarget, c: Ctx) {
            const b = optBool(c, s, 'Invalid tls_compliant option');
            if (b !== undefined) t.url.tlsCompliant = b;
          },
        }
      : {}),
  },
});

const urlSpecHttp = urlSpec(false);
const urlSpecSsl = urlSpec(true);

function httpSpec(ssl: boolean): BlockSpec<CkTarget> {
  const http = (t: CkTarget) => t.d.checker as HttpCheck;
  return {
    name: ssl ? 'SSL_GET' : 'HTTP_GET',
    keywords: {
      ...commonWithConn,
      nb_get_retry(s, t, c) {
        c.error(s, "nb_get_retry is deprecated - please use 'retry'");
        const v = c.uint(s, 1, 0, UINT_MAX);
        if (v === undefined) return void (s.args.length && c.error(s, `Invalid nb_get_retry value '${s.args[0]}'`, 1));
        t.d.timing.retry = v;
      },
      virtualhost(s, t, c) {
        if (s.args.length < 1) return c.error(s, 'HTTP_GET virtualhost name missing');
        http(t).virtualhost = s.args[0];
      },
      http_protocol(s, t, c) {
        if (s.args.length < 1) return c.error(s, 'Missing http_protocol version');
        const v = s.args[0];
        if (v === '1.0' || v === '1.1') http(t).httpProtocol = v;
        else if (v === '1.0C' || v === '1.0c') http(t).httpProtocol = '1.0C';
        else c.error(s, `Invalid http_protocol version ${v}`, 1);
      },
      enable_sni(s, t, c) {
        const b = optBool(c, s, 'Invalid enable_sni parameter');
        if (b !== undefined) http(t).enableSni = b;
      },
      sni_name(s, t, c) {
        const h = http(t);
        if (s.args.length >= 1) h.sniName = s.args[0];
        else if (h.sniName !== undefined) return c.error(s, `sni_name already specified as ${h.sniName} - ignoring setting to default`);
        h.enableSni = true;
      },
      fast_recovery(s, t, c) {
        const b = optBool(c, s, 'Invalid fast_recovery parameter');
        if (b !== undefined) http(t).fastRecovery = b;
      },
      ...(ssl
        ? {
            tls_compliant(s: Stmt, t: CkTarget, c: Ctx) {
              const b = optBool(c, s, 'Invalid tls_compliant option');
              if (b !== undefined) http(t).tlsCompliant = b;
            },
          }
        : {}),
      url(s, t, c) {
        const u: UrlTarget = {
          url: { path: '', statusCodes: [], regexNoMatch: false, regexOptions: [], loc: c.loc(s) },
          statusSet: false,
          chk: http(t),
        };
        c.walk(s.block, ssl ? urlSpecSsl : urlSpecHttp, u);
        // keepalived url_check()
        if (!u.url.path) return c.error(s, 'HTTP/SSL_GET checker url has no path - ignoring');
        if (!u.statusSet) u.url.statusCodes.push([200, 299]);
        const hasRegexParams =
          u.url.regexOptions.length || u.url.regexNoMatch || u.url.regexMinOffset !== undefined || u.url.regexMaxOffset !== undefined || u.url.regexStack;
        if (u.url.regex === undefined && hasRegexParams) {
          c.note(s, 'regex parameters specified without regex - ignored');
          u.url.regexOptions = [];
          u.url.regexNoMatch = false;
          delete u.url.regexMinOffset;
          delete u.url.regexMaxOffset;
          delete u.url.regexStack;
        }
        http(t).urls.push(u.url);
      },
    },
  };
}

/* ------------------------------------------------------------------------ *
 * The other checkers                                                        *
 * ------------------------------------------------------------------------ */

/** DNS query types DNS_CHECK knows (check_dns.c DNS_TYPE). */
export const DNS_TYPES = ['A', 'NS', 'CNAME', 'SOA', 'MX', 'TXT', 'AAAA', 'RRSIG', 'DNSKEY'];

/** keepalived read_hex_str(): hex octets, blanks allowed between; x = wildcard nibble when allowed. */
function readHex(text: string, wildcard: boolean): { data: string; mask?: string } | undefined {
  let data = '';
  let mask = '';
  let usedMask = false;
  let p = 0;
  const nib = (ch: string | undefined): number | 'x' | undefined => {
    if (ch === undefined) return undefined;
    if (/[0-9a-fA-F]/.test(ch)) return parseInt(ch, 16);
    if (wildcard && (ch === 'x' || ch === 'X')) return 'x';
    return undefined;
  };
  for (;;) {
    while (text[p] === ' ' || text[p] === '\t') p++;
    if (p >= text.length) break;
    const a = nib(text[p++]);
    if (a === undefined) return undefined;
    let val = a === 'x' ? 0 : a;
    let m = a === 'x' ? 0xf : 0;
    if (p < text.length && text[p] !== ' ') {
      const b = nib(text[p++]);
      if (b === undefined) return undefined;
      val = (val << 4) | (b === 'x' ? 0 : b);
      m = (m << 4) | (b === 'x' ? 0xf : 0);
    }
    if (m) usedMask = true;
    data += val.toString(16).padStart(2, '0');
    mask += m.toString(16).padStart(2, '0');
  }
  if (!data) return undefined;
  return usedMask ? { data, mask } : { data };
}

const specs: Record<string, BlockSpec<CkTarget>> = {
  TCP_CHECK: { name: 'TCP_CHECK', keywords: { ...commonWithConn } },
  PING_CHECK: { name: 'PING_CHECK', keywords: { ...commonWithConn } },
  HTTP_GET: httpSpec(false),
  SSL_GET: httpSpec(true),
  MISC_CHECK: {
    name: 'MISC_CHECK',
    keywords: {
      ...timingKeywords,
      misc_path(s, t, c) {
        const m = t.d.checker as MiscCheck;
        const raw = restOfLine(s);
        if (!raw) return c.missing(s, 1);
        const spec = parseScript(c, s, 'misc_check', `MISC_CHECK of ${t.scope.rs.label}`);
        m.miscPath = spec?.raw ?? raw;
        if (spec) m.script = spec;
      },
      misc_timeout(s, t, c) {
        const v = c.uint(s, 1, 0, Math.floor(UINT_MAX / TIMER_HZ));
        if (v === undefined) return void (s.args.length && c.error(s, `Invalid misc_timeout value '${s.args[0]}'`, 1));
        t.d.miscTimeoutUs = v * TIMER_HZ;
      },
      misc_dynamic(_s, t) {
        (t.d.checker as MiscCheck).dynamic = true;
      },
      user(s, t, c) {
        const m = t.d.checker as MiscCheck;
        if (s.args.length < 1) return c.error(s, `No user specified for misc checker script ${m.miscPath}`);
        const user = s.args[0];
        const group = s.args[1];
        // the script may come after the user keyword: check the names now, keep them for it
        const probe: ScriptSpec = m.script ?? { kind: 'misc_check', argv: [], raw: '', loc: c.loc(s), owner: '' };
        if (!resolveUser(c, probe, user, group, c.loc(s, 1))) {
          c.error(s, `Failed to set uid/gid for misc checker script ${m.miscPath} - removing`, 1);
          t.d.dropped = true;
          return;
        }
        m.user = user;
        if (group !== undefined) m.group = group;
        t.d.scriptUser = probe;
      },
    },
  },
  SMTP_CHECK: {
    name: 'SMTP_CHECK',
    keywords: {
      ...commonWithConn,
      helo_name(s, t, c) {
        if (s.args.length < 1) return c.error(s, 'SMTP_CHECK helo name missing');
        (t.d.checker as SmtpCheck).heloName = s.args[0];
      },
      host(s, t, c) {
        const h: ConnDraft = { ip: t.scope.rs.ip, family: t.scope.rs.family, valid: true, port: undefined, touched: false };
        c.walk(s.block, smtpHostSpec, { d: t.d, scope: t.scope, conn: h });
        if (checkLinkLocal(c, s, h)) (t.d.hosts ??= []).push(h);
      },
    },
  },
  DNS_CHECK: {
    name: 'DNS_CHECK',
    keywords: {
      ...commonWithConn,
      type(s, t, c) {
        const v = c.arg(s, 1);
        if (v === undefined) return;
        const ty = DNS_TYPES.find((x) => x.toLowerCase() === v.toLowerCase());
        if (!ty) return c.error(s, `Unknown DNS check type ${v} - ignoring`, 1);
        (t.d.checker as DnsCheck).dnsType = ty;
      },
      name(s, t, c) {
        const v = c.arg(s, 1);
        if (v === undefined) return;
        const d = t.d.checker as DnsCheck;
        if (nameSet.has(d)) return c.error(s, 'DNS_CHECK name already specified - ignoring');
        const emptyLabel = (v[0] === '.' && v.length > 1) || /\.\./.test(v);
        if (emptyLabel) return c.error(s, `DNS_CHECK name '${v}' has empty label - ignoring`, 1);
        d.name = v;
        nameSet.add(d);
      },
    },
  },
  UDP_CHECK: {
    name: 'UDP_CHECK',
    keywords: {
      ...commonWithConn,
      payload(s, t, c) {
        const u = t.d.checker as UdpCheck;
        if (s.args.length < 1) return c.error(s, 'UDP_CHECK payload requires a payload');
        const h = readHex(s.args.join(' '), false);
        if (!h) return c.error(s, 'Invalid hex string for UDP_CHECK payload', 1);
        u.payload = h.data;
      },
      require_reply(s, t, c) {
        const u = t.d.checker as UdpCheck;
        u.requireReply = true;
        if (s.args.length < 1) return;
        const h = readHex(s.args.join(' '), true);
        if (!h) return c.error(s, 'Invalid hex string for UDP_CHECK reply', 1);
        u.reply = h.data;
        if (h.mask) u.replyMask = h.mask;
      },
      min_reply_length(s, t, c) {
        const v = c.uint(s, 1, 0, 65535);
        if (v === undefined) return void (s.args.length && c.error(s, `UDP_CHECK min length ${s.args[0]} not valid - must be between 0 & 65535`, 1));
        (t.d.checker as UdpCheck).minReplyLength = v;
      },
      max_reply_length(s, t, c) {
        const v = c.uint(s, 1, 0, 65535);
        if (v === undefined) return void (s.args.length && c.error(s, `UDP_CHECK max length ${s.args[0]} not valid - must be between 0 & 65535`, 1));
        (t.d.checker as UdpCheck).maxReplyLength = v;
      },
    },
  },
  FILE_CHECK: {
    name: 'FILE_CHECK',
    keywords: {
      track_file(s, t, c) {
        const v = c.arg(s, 1);
        if (v !== undefined) (t.d.checker as FileCheck).trackFile = v;
      },
      weight(s, t, c) {
        const f = t.d.checker as FileCheck;
        if (s.args.length < 1) return c.error(s, 'track file weight missing');
        const w = c.int(s, 1, -IPVS_WEIGHT_LIMIT, IPVS_WEIGHT_LIMIT);
        if (w === undefined) return c.error(s, `weight for track file must be in [${-IPVS_WEIGHT_LIMIT}..${IPVS_WEIGHT_LIMIT}] inclusive. Ignoring...`, 1);
        let reverse = false;
        if (s.args.length >= 2) {
          if (s.args[1] === 'reverse') reverse = true;
          else if (s.args[1] !== 'noreverse') return c.error(s, `unknown track file weight option ${s.args[1]} - ignoring`, 2);
        }
        f.weight = w;
        f.reverse = reverse;
      },
    },
  },
  BFD_CHECK: {
    name: 'BFD_CHECK',
    keywords: {
      name(s, t, c) {
        const b = t.d.checker as BfdCheck;
        if (s.args.length !== 1) {
          c.error(s, `(${t.scope.rs.label}) BFD_CHECK - No or too many names specified - skipping checker`);
          t.d.dropped = true;
          return;
        }
        const v = s.args[0];
        if (b.name) {
          c.error(s, `(${t.scope.rs.label}) BFD_CHECK - BFD ${v} already specified as ${b.name}`, 1);
          t.d.dropped = true;
          return;
        }
        if (v.length >= 32) {
          c.error(s, `(${t.scope.rs.label}) BFD_CHECK - BFD name ${v} too long`, 1);
          t.d.dropped = true;
          return;
        }
        if (t.scope.drafts.some((o) => o.checker.type === 'BFD_CHECK' && o.checker.name === v)) {
          c.error(s, `(${t.scope.rs.label}) BFD_CHECK - RS already monitoring ${v}`, 1);
          t.d.dropped = true;
          return;
        }
        b.name = v;
        // whether the bfd_instance exists is checked by finishLvs (bfd_instance may come later)
      },
      alpha(s, t, c) {
        const v = optBool(c, s, 'Invalid alpha parameter');
        if (v !== undefined) (t.d.checker as BfdCheck).alpha = v;
      },
    },
  },
};

const smtpHostSpec: BlockSpec<CkTarget> = { name: 'host', keywords: { ...commonWithConn } };
const nameSet = new WeakSet<object>();

/** IPVS_WEIGHT_LIMIT (INT32_MAX) */
export const IPVS_WEIGHT_LIMIT = 2147483647;

/** keepalived check_conn_opts(): an IPv6 link-local destination needs bind_if. */
function checkLinkLocal(c: Ctx, s: Stmt, conn: ConnDraft): boolean {
  if (conn.family === 'inet6' && conn.ip && /^fe[89ab]/i.test(conn.ip) && !conn.bindIf) {
    c.error(s, `Checker link local address ${conn.ip} requires a bind_if`);
    return false;
  }
  return true;
}

/** The checker block keywords of a real_server. */
export const CHECKER_KEYWORDS = Object.keys(specs);

/** Read one checker block (`s.kw` is its type) into scope.drafts. */
export function readChecker(s: Stmt, scope: CheckerScope, c: Ctx): void {
  const type = s.kw as Checker['type'];
  const spec = specs[type];
  const loc = c.loc(s);
  const rs = scope.rs;
  const conn: ConnDraft | undefined =
    type === 'MISC_CHECK' || type === 'FILE_CHECK' || type === 'BFD_CHECK'
      ? undefined
      : type === 'SMTP_CHECK'
        ? { valid: true, touched: false }
        : { ip: rs.ip, family: rs.family, valid: true, touched: false };
  let checker: Checker;
  let defaultRetry = 1;
  let defaultDbr = 1 * TIMER_HZ;
  switch (type) {
    case 'TCP_CHECK':
    case 'PING_CHECK':
      // the timing fields are written out (no spread of a defaults object): one checker per real server
      checker = { type, loc, alpha: false, logAllFailures: false, retry: 1, delayLoopMs: 0, warmupMs: 0, delayBeforeRetryMs: 0, conn: connOut(rs) };
      break;
    case 'HTTP_GET':
    case 'SSL_GET':
      checker = { type, loc, alpha: false, logAllFailures: false, retry: 1, delayLoopMs: 0, warmupMs: 0, delayBeforeRetryMs: 0, conn: connOut(rs), urls: [], httpProtocol: '1.0', enableSni: false, fastRecovery: false, tlsCompliant: false };
      defaultDbr = 3 * TIMER_HZ;
      break;
    case 'MISC_CHECK':
      checker = { type, loc, alpha: false, logAllFailures: false, retry: 1, delayLoopMs: 0, warmupMs: 0, delayBeforeRetryMs: 0, miscPath: '', timeoutMs: 0, dynamic: false };
      defaultRetry = 0;
      break;
    case 'SMTP_CHECK':
      checker = { type, loc, alpha: false, logAllFailures: false, retry: 1, delayLoopMs: 0, warmupMs: 0, delayBeforeRetryMs: 0, conn: connOut(rs), heloName: 'smtpchecker.keepalived.org' };
      break;
    case 'DNS_CHECK':
      checker = { type, loc, alpha: false, logAllFailures: false, retry: 1, delayLoopMs: 0, warmupMs: 0, delayBeforeRetryMs: 0, conn: connOut(rs), dnsType: 'SOA', name: '' };
      defaultRetry = 3;
      defaultDbr = 0;
      break;
    case 'UDP_CHECK':
      checker = { type, loc, alpha: false, logAllFailures: false, retry: 1, delayLoopMs: 0, warmupMs: 0, delayBeforeRetryMs: 0, conn: connOut(rs), requireReply: false, minReplyLength: 0, maxReplyLength: 255 };
      break;
    case 'FILE_CHECK':
      checker = { type, loc, trackFile: '', reverse: false };
      break;
    case 'BFD_CHECK':
      checker = { type, loc, name: '', alpha: false };
      break;
  }
  const d: CheckerDraft = { checker, timing: {}, logAllFailures: false, conn, defaultRetry, defaultDelayBeforeRetryUs: defaultDbr };
  c.walk(s.block, spec, { d, scope, conn });
  if (d.dropped) return;

  // the end-of-block checks of each checker
  switch (checker.type) {
    case 'HTTP_GET':
    case 'SSL_GET':
      if (!checker.urls.length) return c.error(s, 'HTTP/SSL_GET checker has no urls specified - ignoring');
      break;
    case 'MISC_CHECK':
      if (!checker.miscPath) return c.error(s, 'No script path has been specified for MISC_CHECKER - skipping');
      if (checker.script) {
        const u = d.scriptUser;
        if (u && u.uid !== undefined) Object.assign(checker.script, { user: u.user, group: u.group, uid: u.uid, gid: u.gid });
        scope.scripts.push(checker.script);
      }
      break;
    case 'UDP_CHECK':
      if (checker.minReplyLength > checker.maxReplyLength) {
        c.error(s, `UDP_CHECK min_reply length ${checker.minReplyLength} > max_reply_length ${checker.maxReplyLength} - will always fail`);
      }
      break;
    case 'FILE_CHECK':
      if (!checker.trackFile) return c.error(s, 'FILE_CHECK has no track_file specified - ignoring');
      break;
    case 'BFD_CHECK':
      if (!checker.name) return c.error(s, `(${rs.label}) No name has been specified for BFD_CHECKER - skipping`);
      break;
  }
  if (checker.type === 'SMTP_CHECK') {
    // keepalived smtp_check_end_handler: the checker's own connection options are used
    // when any is set or there is no host block; otherwise the first host's. Each
    // further host becomes a checker of its own.
    const hosts = d.hosts ?? [];
    if (hosts.length) c.note(s, 'The SMTP_CHECK host block is deprecated. Please define additional checkers.');
    if (conn!.touched || !hosts.length) {
      conn!.ip ??= rs.ip;
      conn!.family ??= rs.family;
      if (!checkLinkLocal(c, s, conn!)) return;
    } else {
      d.conn = hosts.shift();
    }
    scope.drafts.push(d);
    for (const h of hosts) {
      const copy: SmtpCheck = { ...checker, conn: connOut(rs) };
      scope.drafts.push({ ...d, checker: copy, conn: h, hosts: undefined });
    }
    return;
  }
  if (conn && !checkLinkLocal(c, s, conn)) return;
  scope.drafts.push(d);
}

/** A checker's connection before finishLvs fills it in (resolveChecker): the real server's address and port. */
function connOut(rs: RsRef): ConnOpts {
  return { connectIp: rs.ip, family: rs.family, connectPort: rs.configuredPort, connectTimeoutMs: 0 };
}

/** Settings after virtual_server → real_server inheritance (validate_check_config's first loop). */
export interface RsInherited {
  retry?: number;
  delayLoopUs: number;
  warmupUs?: number;
  delayBeforeRetryUs?: number;
  connectTimeoutUs: number;
  alpha: boolean;
  /** the virtual server's delay_loop: MISC_CHECK's default misc_timeout */
  vsDelayLoopUs: number;
}

/** Fill in a checker's final values from its real server (validate_check_config's checker loop). */
export function resolveChecker(d: CheckerDraft, rs: RsInherited): Checker {
  const k = d.checker;
  if (k.type === 'FILE_CHECK') return k;
  if (k.type === 'BFD_CHECK') return k;
  const t = d.timing;
  k.alpha = t.alpha ?? rs.alpha;
  k.logAllFailures = d.logAllFailures;
  k.retry = t.retry ?? rs.retry ?? d.defaultRetry;
  const delayLoop = t.delayLoopUs ?? rs.delayLoopUs;
  k.delayLoopMs = usToMs(delayLoop);
  k.warmupMs = usToMs(t.warmupUs ?? rs.warmupUs ?? delayLoop);
  k.delayBeforeRetryMs = usToMs(t.delayBeforeRetryUs ?? rs.delayBeforeRetryUs ?? (d.defaultDelayBeforeRetryUs || delayLoop));
  if (k.type === 'MISC_CHECK') {
    k.timeoutMs = usToMs(d.miscTimeoutUs || rs.vsDelayLoopUs);
    return k;
  }
  const cd = d.conn!;
  // filled in place: the checker's conn was made for it with these fields in this order
  const conn = k.conn;
  conn.connectIp = cd.ip ?? conn.connectIp;
  conn.family = cd.family ?? conn.family;
  conn.connectPort = cd.port ?? conn.connectPort;
  conn.connectTimeoutMs = usToMs(cd.connectTimeoutUs ?? rs.connectTimeoutUs);
  if (cd.bindto !== undefined) k.conn.bindto = cd.bindto;
  if (cd.bindPort !== undefined) k.conn.bindPort = cd.bindPort;
  if (cd.bindIf !== undefined) k.conn.bindIf = cd.bindIf;
  if (cd.fwmark !== undefined) k.conn.fwmark = cd.fwmark;
  return k;
}
