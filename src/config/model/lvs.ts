// LVS CONFIGURATION (keepalived.conf(5)): SSL, virtual_server_group, virtual_server,
// real_server, sorry_server; the checkers of a real_server are in checkers.ts.
//
// Reading follows keepalived's check_parser.c / check_data.c: each block is read with its
// keyword table, the end-of-block checks run as the block closes, and finishLvs() does
// what keepalived's link_vsg_to_vs() and validate_check_config() do once the whole file
// is read (defaults, inheritance virtual_server → real_server → checker, port and family
// fix-ups, quorum vs weights). Messages keep keepalived's wording.
//
// A virtual_server that needs nothing from a later block (no group, BFD_CHECK or
// FILE_CHECK) is finished as its block closes, its messages kept for finishLvs to report
// in keepalived's order: its draft then dies young instead of living beside the model
// until the end (on 10,000 virtual servers, a third less memory and garbage collection).

import { ErrClass, type Diagnostic, type Loc } from '../diagnostics.js';
import type { Stmt } from '../parse.js';
import type { BlockSpec, Ctx, Handler } from './context.js';
import type { Config } from './types.js';
import { parseScript, type ScriptSpec } from './scripts.js';
import {
  CHECKER_KEYWORDS,
  IPVS_WEIGHT_LIMIT,
  TIMER_HZ,
  UINT_MAX,
  isZeroPort,
  optBool,
  parseSockAddr,
  readChecker,
  readTimer,
  resolveChecker,
  usToMs,
  type Checker,
  type CheckerDraft,
  type CheckerScope,
  type Family,
  type TimingSettings,
} from './checkers.js';
import { ipv6Groups, formatIpv6Groups } from '../../ipvs/addr.js';
import type {
  LvsMethod,
  RealServerSpec,
  SchedFlagName,
  TunnelSpec,
  VirtualServerGroupEntry,
  VirtualServerSpec,
} from '../../ipvs/types.js';

export type { Checker, Family, LvsMethod };

/* ------------------------------------------------------------------------ *
 * Model                                                                     *
 * ------------------------------------------------------------------------ */

/** SSL { }: the context SSL_GET checkers use; empty = keepalived generates one. */
export interface SslConfig {
  password?: string;
  /** ca: CA file */
  ca?: string;
  /** certificate: certificate file */
  certificate?: string;
  /** key: key file */
  key?: string;
  loc: Loc;
}

/** One line of a virtual_server_group. */
export type VsgEntry =
  | {
      kind: 'range';
      /** first address */
      ip: string;
      family: Family;
      /** last address of the range (= ip for a single address) */
      end: string;
      /** 0 = any port (needs persistence) */
      port: number;
      loc: Loc;
    }
  | { kind: 'fwmark'; fwmark: number; family?: Family; loc: Loc };

export interface VirtualServerGroup {
  name: string;
  entries: VsgEntry[];
  loc: Loc;
}

export type Tunnel = Required<TunnelSpec>;

/** sorry_server IP [PORT]: used while no real server is up. */
export interface SorryServer {
  ip: string;
  family: Family;
  /** after the virtual server's port fix-ups (0 for fwmark DR/TUN) */
  port: number;
  /** sorry_server_lvs_method; default the virtual server's */
  lvsMethod: LvsMethod;
  tunnel?: Tunnel;
  /** sorry_server_inhibit */
  inhibit: boolean;
  loc: Loc;
}

export interface RealServer {
  ip: string;
  family: Family;
  /** after keepalived's fix-ups: NAT/DR/TUN with an address VS take the VS port when none/different; fwmark DR/TUN clear it */
  port: number;
  /** port as written on the real_server line (0 = none) */
  configuredPort: number;
  /** weight 0..2147483647; default the virtual_server's weight (1) */
  weight: number;
  /** lvs_method; default the virtual_server's */
  lvsMethod: LvsMethod;
  tunnel?: Tunnel;
  /** uthreshold / lthreshold: connection thresholds, 0 = none */
  uthreshold: number;
  lthreshold: number;
  /** inhibit_on_failure: set weight 0 instead of removing when down; default the virtual_server's */
  inhibitOnFailure: boolean;
  notifyUp?: ScriptSpec;
  notifyDown?: ScriptSpec;
  /** alpha: start down until checked; default the virtual_server's */
  alpha: boolean;
  /** retry; undefined = each checker's own default (after the virtual_server's retry) */
  retry?: number;
  /** timings in ms after inheritance from the virtual_server (undefined = each checker's default) */
  delayBeforeRetryMs?: number;
  warmupMs?: number;
  connectTimeoutMs: number;
  delayLoopMs: number;
  /** smtp_alert; default global smtp_alert_checker / smtp_alert, else true */
  smtpAlert: boolean;
  virtualhost?: string;
  snmpName?: string;
  checkers: Checker[];
  loc: Loc;
}

export type VsTarget =
  | { kind: 'ip'; ip: string; family: Family; port: number }
  | { kind: 'fwmark'; fwmark: number }
  | { kind: 'group'; name: string };

export interface VirtualServer {
  /** keepalived's FMT_VS text: "[10.0.0.1]:tcp:80", "FWM 1", "[VSG_1]:0" */
  id: string;
  target: VsTarget;
  /** address family after keepalived's resolution (ip_family, addresses, real servers; default inet) */
  family: Family;
  /** ip_family as written */
  ipFamily?: Family;
  /** protocol; keepalived sets UDP when an address service has none, and clears it for fwmark services */
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  /** lb_algo / lvs_sched; default wlc */
  scheduler: string;
  /** flag-1..3, sh-port, sh-fallback, mh-port, mh-fallback */
  schedFlags: SchedFlagName[];
  /** ops: one-packet scheduling (UDP or fwmark only) */
  ops: boolean;
  /** lb_kind / lvs_method; default NAT */
  lvsMethod: LvsMethod;
  tunnel?: Tunnel;
  /** persistence_timeout in seconds, 0 = not persistent */
  persistenceTimeout: number;
  /** persistence_granularity: IPv4 netmask or IPv6 prefix length */
  persistenceGranularity?: string;
  persistenceEngine?: string;
  haSuspend: boolean;
  virtualhost?: string;
  /** alpha / omega */
  alpha: boolean;
  omega: boolean;
  /** quorum (default 1, reduced to the total weight) and hysteresis (< quorum) */
  quorum: number;
  hysteresis: number;
  quorumUp?: ScriptSpec;
  quorumDown?: ScriptSpec;
  /** weight: default weight of the real servers */
  weight: number;
  inhibitOnFailure: boolean;
  /** delay_loop (default 60 s) and connect_timeout (default 5 s), in ms */
  delayLoopMs: number;
  connectTimeoutMs: number;
  /** retry / delay_before_retry / warmup: defaults for real servers and checkers (undefined = the checkers' own) */
  retry?: number;
  delayBeforeRetryMs?: number;
  warmupMs?: number;
  smtpAlert: boolean;
  snmpName?: string;
  sorryServer?: SorryServer;
  realServers: RealServer[];
  loc: Loc;
}

export interface LvsConfig {
  ssl?: SslConfig;
  groups: VirtualServerGroup[];
  virtualServers: VirtualServer[];
  /**
   * Virtual servers checked but not kept in `virtualServers` (LoadOptions.checkOnly: `-t`
   * needs every message, not the model). Set only in that mode.
   */
  checkedOnly?: number;
}

export function newLvsConfig(): LvsConfig {
  return { groups: [], virtualServers: [] };
}

/* ------------------------------------------------------------------------ *
 * Drafts: what a block set, before finishLvs                                *
 * ------------------------------------------------------------------------ */

interface SsDraft {
  ip: string;
  family: Family;
  port: number;
  lvsMethod?: LvsMethod;
  tunnel?: Tunnel;
  inhibit: boolean;
  loc: Loc;
}

interface RsDraft {
  ip: string;
  family: Family;
  port: number;
  weight?: number;
  lvsMethod?: LvsMethod;
  tunnel?: Tunnel;
  uthreshold: number;
  lthreshold: number;
  inhibit?: boolean;
  notifyUp?: ScriptSpec;
  notifyDown?: ScriptSpec;
  timing: TimingSettings;
  smtpAlert?: boolean;
  virtualhost?: string;
  snmpName?: string;
  checkers: CheckerDraft[];
  loc: Loc;
}

interface VsDraft {
  target: VsTarget;
  family?: Family;
  ipFamily?: Family;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  scheduler?: string;
  schedFlags: SchedFlagName[];
  ops: boolean;
  lvsMethod?: LvsMethod;
  tunnel?: Tunnel;
  persistenceTimeout: number;
  persistenceGranularity?: string;
  persistenceEngine?: string;
  haSuspend: boolean;
  virtualhost?: string;
  alpha: boolean;
  omega: boolean;
  quorum: number;
  hysteresis: number;
  quorumUp?: ScriptSpec;
  quorumDown?: ScriptSpec;
  weight: number;
  inhibit: boolean;
  delayLoopUs: number;
  connectTimeoutUs: number;
  retry?: number;
  delayBeforeRetryUs?: number;
  warmupUs?: number;
  smtpAlert?: boolean;
  snmpName?: string;
  sorry?: SsDraft;
  rs: RsDraft[];
  loc: Loc;
}

/**
 * A virtual_server read, in file order: either its draft, finished by finishLvs, or
 * (the common case) the finished model made as its block closed, with what finishLvs
 * still has to do: report its messages (kept in order, so they come out where
 * keepalived's validate_check_config() puts them) and apply the global smtp_alert,
 * which a later global_defs may still set.
 */
type VsEntry = VsDraft | EarlyVs;

interface EarlyVs {
  early: true;
  /** undefined when finishing dropped the server, or in check-only mode */
  vs?: VirtualServer;
  diags: readonly Diagnostic[];
  /** smtp_alert was given in the virtual_server */
  vsSmtp: boolean;
  /** per real server of vs.realServers: smtp_alert was given in it (undefined: in none) */
  rsSmtp?: boolean[];
}

interface LvsBuild {
  entries: VsEntry[];
  /** virtual servers finished early and, in check-only mode (Ctx.checkOnly), not kept */
  checkedOnly: number;
}

const builds = new WeakMap<Config, LvsBuild>();
function build(cfg: Config): LvsBuild {
  let b = builds.get(cfg);
  if (!b) builds.set(cfg, (b = { entries: [], checkedOnly: 0 }));
  return b;
}

const NO_DIAGS: readonly Diagnostic[] = [];

/** Where finishVs reports: the configuration's Diagnostics, or a list kept for later. */
interface DiagSink {
  add(d: Diagnostic): void;
}

class DiagList implements DiagSink {
  list: Diagnostic[] | undefined;
  add(d: Diagnostic): void {
    (this.list ??= []).push(d);
  }
}

/** keepalived KEEPALIVED_DEFAULT_DELAY: 60 s */
export const DEFAULT_DELAY_LOOP_US = 60 * TIMER_HZ;
/** virtual_server connect_timeout default: 5 s */
export const DEFAULT_CONNECT_TIMEOUT_US = 5 * TIMER_HZ;
/** IPVS_SVC_PERSISTENT_TIMEOUT: 360 s */
export const DEFAULT_PERSISTENCE_TIMEOUT = 360;
/** LVS_MAX_TIMEOUT: 31 days */
const LVS_MAX_TIMEOUT = 86400 * 31;
/** IPVS_DEF_SCHED */
const DEFAULT_SCHED = 'wlc';
/** The schedulers keepalived accepts (check_parser.c lvs_schedulers). */
export const LVS_SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'sh', 'mh', 'dh', 'fo', 'ovf', 'lblcr', 'sed', 'nq', 'twos'];

/** keepalived inet_sockaddrtotrio: "[ip]:proto:port". */
function trio(ip: string, proto: string | undefined, port: number): string {
  return `[${ip}]:${proto ? proto.toLowerCase() : 'none'}:${port}`;
}

/** keepalived FMT_VS */
function fmtVs(v: VsDraft): string {
  switch (v.target.kind) {
    case 'group':
      return `[${v.target.name}]:0`;
    case 'fwmark':
      return `FWM ${v.target.fwmark}`;
    case 'ip':
      return trio(v.target.ip, v.protocol, v.target.port);
  }
}

/** keepalived FMT_RS */
function fmtRs(r: { ip: string; port: number }, v: VsDraft): string {
  return trio(r.ip, v.protocol, r.port);
}

/* ------------------------------------------------------------------------ *
 * SSL                                                                       *
 * ------------------------------------------------------------------------ */

function sslFile(field: 'password' | 'ca' | 'certificate' | 'key', type: string): Handler<SslConfig> {
  return (s, t, c) => {
    if (s.args.length < 1) return c.error(s, `SSL ${type} missing`);
    if (t[field] !== undefined) c.error(s, `SSL ${type} already specified - replacing`, 1);
    t[field] = s.args[0];
  };
}

const sslSpec: BlockSpec<SslConfig> = {
  name: 'SSL',
  keywords: {
    password: sslFile('password', 'password'),
    ca: sslFile('ca', 'cafile'),
    certificate: sslFile('certificate', 'certfile'),
    key: sslFile('key', 'keyfile'),
  },
};

/* ------------------------------------------------------------------------ *
 * virtual_server_group                                                      *
 * ------------------------------------------------------------------------ */

function v6ToBig(ip: string): bigint {
  return ipv6Groups(ip).reduce((a, g) => (a << 16n) | BigInt(g), 0n);
}
function bigToV6(n: bigint): string {
  const g: number[] = [];
  for (let i = 7; i >= 0; i--) g.push(Number((n >> BigInt(i * 16)) & 0xffffn));
  return formatIpv6Groups(g);
}
function v4ToNum(ip: string): number {
  return ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
}
function numToV4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** One virtual_server_group line (keepalived alloc_vsg_entry). */
function vsgEntry(s: Stmt, g: VirtualServerGroup, c: Ctx): void {
  const addr = s.kw;
  const loc = c.loc(s);
  if (addr === 'fwmark') {
    const v = c.arg(s, 1);
    if (v === undefined) return;
    const fw = c.uintOf(s, 1, v, 0, UINT_MAX);
    if (fw === undefined) return c.error(s, `(${g.name}): fwmark '${v}' must be in [0, ${UINT_MAX}] - ignoring`, 1);
    let family: Family | undefined;
    if (s.args.length > 1) {
      const f = s.args[1];
      if (f !== 'inet' && f !== 'inet6') return c.error(s, `(${g.name}): fwmark '${fw}' family ${f} unknown - ignoring`, 2);
      family = f;
    }
    g.entries.push(family ? { kind: 'fwmark', fwmark: fw, family, loc } : { kind: 'fwmark', fwmark: fw, loc });
    return;
  }
  const portStr = s.args.length >= 1 && !isZeroPort(s.args[0]) ? s.args[0] : undefined;
  let port = 0;
  if (portStr !== undefined) {
    const p = c.uintOf(s, 1, portStr, 1, 65535);
    if (p === undefined) return c.error(s, `Invalid virtual server group IP address ${addr} /port/${portStr} - skipping`);
    port = p;
  }
  const a = parseSockAddr(addr);
  if (!a) return c.error(s, `Invalid virtual server group IP address ${addr} ${portStr ? `/port/${portStr}` : ''} - skipping`.replace('  ', ' '));
  let end = a.ip;
  const slash = addr.indexOf('/');
  const dash = addr.indexOf('-');
  if (slash >= 0) {
    const maskStr = addr.slice(slash + 1);
    const mask = /^[0-9]+$/.test(maskStr) ? Number(maskStr) : NaN;
    const bits = a.family === 'inet' ? 32 : 128;
    if (!(mask >= 1 && mask <= bits)) return c.error(s, `Invalid netmask - ${addr} - skipping`);
    if (a.family === 'inet') {
      const n = v4ToNum(a.ip);
      const size = 2 ** (32 - mask);
      if (n % size) return c.error(s, `Address mask bits not empty - ${addr} - skipping`);
      end = numToV4(n + size - 1);
    } else {
      const n = v6ToBig(a.ip);
      const host = (1n << BigInt(128 - mask)) - 1n;
      if (n & host) return c.error(s, `Address mask bits not empty - ${addr} - skipping`);
      end = bigToV6(n | host);
    }
  } else if (dash >= 0) {
    const endStr = addr.slice(dash + 1);
    const fullEnd = (a.family === 'inet' && endStr.includes('.')) || (a.family === 'inet6' && endStr.includes(':'));
    if (fullEnd) {
      const e = parseSockAddr(endStr);
      if (!e) return c.error(s, `Invalid range end ${addr} - skipping`);
      if (e.family !== a.family) return c.error(s, `Range address families do not match ${addr} - skipping`);
      const less = a.family === 'inet' ? v4ToNum(e.ip) < v4ToNum(a.ip) : v6ToBig(e.ip) < v6ToBig(a.ip);
      if (less) return c.error(s, `Address range end is less than address range start - ${addr} - skipping`);
      end = e.ip;
    } else {
      // the end replaces the last octet (IPv4, decimal) or last 16-bit group (IPv6, hex)
      const v6 = a.family === 'inet6';
      const m = v6 ? /^[0-9a-fA-F]*/.exec(endStr)! : /^[0-9]*/.exec(endStr)!;
      const range = m[0] ? parseInt(m[0], v6 ? 16 : 10) : 0;
      if (m[0].length !== endStr.length) {
        c.error(s, `Virtual server group range '${addr}' has extra characters at end '${endStr.slice(m[0].length)}'`, 0, ErrClass.INVALID_NUMBER, 'HC_CONFIG_NUMBER');
      } else if (range > (v6 ? 0xffff : 255)) {
        return c.error(s, `Virtual server group range '${addr}' end '${endStr}' too large`, 0, ErrClass.INVALID_NUMBER, 'HC_CONFIG_NUMBER');
      }
      if (v6) {
        const grp = ipv6Groups(a.ip);
        if (grp[7] >= range) return c.error(s, `Address range end is not greater than address range start - ${addr} - skipping`);
        end = formatIpv6Groups([...grp.slice(0, 7), range]);
      } else {
        const o = a.ip.split('.').map(Number);
        if (o[3] >= range) return c.error(s, `Address range end is not greater than address range start - ${addr} - skipping`);
        end = `${o[0]}.${o[1]}.${o[2]}.${range}`;
      }
    }
  }
  g.entries.push({ kind: 'range', ip: a.ip, family: a.family, end, port, loc });
}

function vsgFlags(g: VirtualServerGroup): { v4: boolean; v6: boolean; fwNoFamily: boolean; haveFw: boolean; haveAddr: boolean } {
  let v4 = false;
  let v6 = false;
  let fwNoFamily = false;
  for (const e of g.entries) {
    const f = e.family;
    if (f === 'inet') v4 = true;
    else if (f === 'inet6') v6 = true;
    else fwNoFamily = true;
  }
  return { v4, v6, fwNoFamily, haveFw: g.entries.some((e) => e.kind === 'fwmark'), haveAddr: g.entries.some((e) => e.kind === 'range') };
}

/* ------------------------------------------------------------------------ *
 * lvs_method / lb_kind with tunnel options                                  *
 * ------------------------------------------------------------------------ */

/** keepalived svr_forwarding_handler(): NAT | DR | TUN [type ipip|gue|gre] [port N] [nocsum|csum|remcsum]. */
function readForwarding(s: Stmt, c: Ctx, who: string): { method: LvsMethod; tunnel?: Tunnel } | undefined {
  const m = c.arg(s, 1);
  if (m === undefined) return undefined;
  if (m !== 'NAT' && m !== 'DR' && m !== 'TUN') {
    c.error(s, `PARSER : unknown [${m}] routing method for ${who} server.`, 1);
    return undefined;
  }
  const tun: Tunnel = { type: 'ipip', port: 0, csum: 'nocsum' };
  for (let i = 1; i < s.args.length; i++) {
    const w = s.args[i];
    if (w === 'type') {
      const v = s.args[i + 1];
      if (v === undefined) return void c.error(s, `Missing tunnel type for ${who} server.`, i + 1);
      if (v !== 'ipip' && v !== 'gue' && v !== 'gre') return void c.error(s, `Unknown tunnel type ${v} for ${who} server.`, i + 2);
      tun.type = v;
      i++;
    } else if (w === 'port') {
      const v = s.args[i + 1];
      if (v === undefined) return void c.error(s, `Missing port for ${who} server gue tunnel.`, i + 1);
      const p = c.uintOf(s, i + 2, v, 1, 65535);
      if (p === undefined) return void c.error(s, `Invalid gue tunnel port ${v} for ${who} server.`, i + 2);
      tun.port = p;
      i++;
    } else if (w === 'nocsum' || w === 'csum' || w === 'remcsum') tun.csum = w;
    else return void c.error(s, `Invalid tunnel option ${w} for ${who} server.`, i + 1);
  }
  if ((tun.type === 'gue') !== (tun.port !== 0)) return void c.error(s, 'gue tunnels require port, otherwise cannot have port.');
  if (tun.type === 'ipip' && tun.csum !== 'nocsum') return void c.error(s, 'ipip tunnels do not support checksum option.');
  if (tun.type === 'gre' && tun.csum === 'remcsum') return void c.error(s, 'gre tunnels do not support remote checksum option.');
  return m === 'TUN' ? { method: m, tunnel: tun } : { method: m };
}

/* ------------------------------------------------------------------------ *
 * real_server                                                               *
 * ------------------------------------------------------------------------ */

interface RsTarget {
  vs: VsDraft;
  rs: RsDraft;
  cfg: Config;
}

function rsTimer(field: 'delayBeforeRetryUs' | 'warmupUs' | 'delayLoopUs' | 'connectTimeoutUs', min: number, max: number, msg: (v: string) => string): Handler<RsTarget> {
  return (s, t, c) => {
    const us = readTimer(c, s, 1, min, max);
    if (us === undefined) return void (s.args.length && c.error(s, msg(s.args[0]), 1));
    t.rs.timing[field] = us;
  };
}

function rsNotify(which: 'notifyUp' | 'notifyDown', kw: string): Handler<RsTarget> {
  return (s, t, c) => {
    const gname = t.vs.target.kind === 'group' ? t.vs.target.name : '(null)';
    if (t.rs[which]) return c.error(s, `(${gname}) ${kw} script already specified - ignoring ${s.args[0] ?? ''}`.trimEnd());
    const spec = parseScript(c, s, 'rs_notify', `real server ${fmtRs(t.rs, t.vs)}`);
    if (!spec) return;
    t.rs[which] = spec;
    t.cfg.scripts.push(spec);
  };
}

const rsKeywords: Record<string, Handler<RsTarget>> = {
  weight(s, t, c) {
    const w = c.uint(s, 1, 0, IPVS_WEIGHT_LIMIT);
    if (w === undefined) return void (s.args.length && c.error(s, `Real server weight ${s.args[0]} is outside range 0-${IPVS_WEIGHT_LIMIT}`, 1));
    t.rs.weight = w;
  },
  lvs_method(s, t, c) {
    const f = readForwarding(s, c, 'real');
    if (!f) return;
    t.rs.lvsMethod = f.method;
    t.rs.tunnel = f.tunnel;
  },
  uthreshold(s, t, c) {
    const v = c.uint(s, 1, 0, UINT_MAX);
    if (v === undefined) return void (s.args.length && c.error(s, `Invalid real_server uthreshold '${s.args[0]}' - ignoring`, 1));
    t.rs.uthreshold = v;
  },
  lthreshold(s, t, c) {
    const v = c.uint(s, 1, 0, UINT_MAX);
    if (v === undefined) return void (s.args.length && c.error(s, `Invalid real_server lthreshold '${s.args[0]}' - ignoring`, 1));
    t.rs.lthreshold = v;
  },
  inhibit_on_failure(s, t, c) {
    const b = optBool(c, s, 'Invalid inhibit_on_failure parameter');
    if (b !== undefined) t.rs.inhibit = b;
  },
  notify_up: rsNotify('notifyUp', 'notify_up'),
  notify_down: rsNotify('notifyDown', 'notify_down'),
  alpha(s, t, c) {
    const b = optBool(c, s, 'Invalid alpha parameter');
    if (b !== undefined) t.rs.timing.alpha = b;
  },
  retry(s, t, c) {
    const v = c.uint(s, 1, 1, UINT_MAX);
    if (v === undefined) return void (s.args.length && c.error(s, `retry value invalid - ${s.args[0]}`, 1));
    t.rs.timing.retry = v;
  },
  delay_before_retry: rsTimer('delayBeforeRetryUs', 0, 0, (v) => `real server delay_before_retry '${v}' invalid - ignoring`),
  warmup: rsTimer('warmupUs', 0, 0, (v) => `real server warmup '${v}' invalid - ignoring`),
  connect_timeout: rsTimer('connectTimeoutUs', 1, UINT_MAX, (v) => `real server connect_timeout ${v} invalid - ignoring`),
  delay_loop: rsTimer('delayLoopUs', 1, 0, (v) => `real server delay_loop '${v}' invalid - ignoring`),
  smtp_alert(s, t, c) {
    const b = optBool(c, s, 'Invalid real_server smtp_alert parameter');
    if (b !== undefined) t.rs.smtpAlert = b;
  },
  virtualhost(s, t, c) {
    if (s.args.length < 1) return c.error(s, 'real server virtualhost missing');
    t.rs.virtualhost = s.args[0];
  },
  snmp_name(s, t, c) {
    if (s.args.length !== 1) return c.error(s, 'real server snmp_name missing or extra parameters');
    t.rs.snmpName = s.args[0];
  },
};
/**
 * Where a checker block of a real_server is read. The labels are only for messages:
 * made when one is needed (a class, so the getters are not made anew for each checker).
 */
class RsCheckerScope implements CheckerScope {
  readonly rs: CheckerScope['rs'];
  readonly drafts: CheckerDraft[];
  readonly scripts: ScriptSpec[];
  constructor(private readonly t: RsTarget) {
    this.rs = new RsLabel(t);
    this.drafts = t.rs.checkers;
    this.scripts = t.cfg.scripts;
  }
  get vsLabel(): string {
    return fmtVs(this.t.vs);
  }
}

class RsLabel {
  readonly ip: string;
  readonly family: Family;
  readonly configuredPort: number;
  constructor(private readonly t: RsTarget) {
    this.ip = t.rs.ip;
    this.family = t.rs.family;
    this.configuredPort = t.rs.port;
  }
  get label(): string {
    return fmtRs(this.t.rs, this.t.vs);
  }
}

const checkerHandler: Handler<RsTarget> = (s, t, c) => readChecker(s, new RsCheckerScope(t), c);
for (const kw of CHECKER_KEYWORDS) rsKeywords[kw] = checkerHandler;

const rsSpec: BlockSpec<RsTarget> = { name: 'real_server', keywords: rsKeywords };

/* ------------------------------------------------------------------------ *
 * virtual_server                                                            *
 * ------------------------------------------------------------------------ */

interface VsTargetCtx {
  vs: VsDraft;
  cfg: Config;
}

function vsTimer(field: 'delayBeforeRetryUs' | 'warmupUs' | 'delayLoopUs' | 'connectTimeoutUs', min: number, max: number, msg: (v: string) => string): Handler<VsTargetCtx> {
  return (s, t, c) => {
    const us = readTimer(c, s, 1, min, max);
    if (us === undefined) return void (s.args.length && c.error(s, msg(s.args[0]), 1));
    t.vs[field] = us;
  };
}

function vsFlag(field: 'haSuspend' | 'alpha' | 'omega' | 'inhibit'): Handler<VsTargetCtx> {
  return (_s, t) => {
    t.vs[field] = true;
  };
}

/** ops, hashed, flag-1..3, sh-*, mh-* (keepalived lbflags_handler: the sh/mh names need the scheduler set first) */
const lbFlag: Handler<VsTargetCtx> = (s, t, c) => {
  const kw = s.kw;
  const v = t.vs;
  const add = (f: SchedFlagName): void => {
    if (!v.schedFlags.includes(f)) v.schedFlags.push(f);
  };
  if (kw === 'ops') v.ops = true;
  else if (kw === 'flag-1' || kw === 'flag-2' || kw === 'flag-3') add(kw);
  else if (v.scheduler === 'sh') {
    if (kw === 'sh-port' || kw === 'sh-fallback') add(kw);
  } else if (v.scheduler === 'mh') {
    if (kw === 'mh-port' || kw === 'mh-fallback') add(kw);
  } else c.error(s, `${kw} only applies to sh scheduler - ignoring`);
};

function quorumScript(which: 'quorumUp' | 'quorumDown', kw: string): Handler<VsTargetCtx> {
  return (s, t, c) => {
    const gname = t.vs.target.kind === 'group' ? t.vs.target.name : '(null)';
    if (t.vs[which]) return c.error(s, `(${gname}) ${kw} script already specified - ignoring ${s.args[0] ?? ''}`.trimEnd());
    const spec = parseScript(c, s, 'quorum', `virtual server ${fmtVs(t.vs)}`);
    if (!spec) return;
    t.vs[which] = spec;
    t.cfg.scripts.push(spec);
  };
}

function badRealServer(s: Stmt, c: Ctx, ip: string, portStr: string | undefined): void {
  c.error(s, `Invalid real server ip address/port ${ip}/${portStr ?? '(null)'} - skipping`, 1);
}

/** real_server IP [PORT] (keepalived alloc_rs + rs_end_handler) */
const realServerHandler: Handler<VsTargetCtx> = (s, t, c) => {
  const ip = c.arg(s, 1);
  if (ip === undefined) return;
  const portStr = s.args[1];
  const usePort = portStr !== undefined && !isZeroPort(portStr);
  let port = 0;
  if (usePort) {
    const p = c.uintOf(s, 2, portStr, 1, 65535);
    if (p === undefined) return badRealServer(s, c, ip, portStr);
    port = p;
  }
  const a = parseSockAddr(ip);
  if (!a) return badRealServer(s, c, ip, portStr);
  const rs: RsDraft = {
    ip: a.ip,
    family: a.family,
    port,
    lvsMethod: t.vs.lvsMethod,
    tunnel: t.vs.tunnel,
    uthreshold: 0,
    lthreshold: 0,
    timing: {},
    checkers: [],
    loc: c.loc(s),
  };
  c.walk(s.block, rsSpec, { vs: t.vs, rs, cfg: t.cfg });
  // rs_end_handler: outside tunnels, the families must agree
  if (rs.lvsMethod !== 'TUN') {
    if (!t.vs.family) t.vs.family = rs.family;
    else if (t.vs.family !== rs.family) {
      return c.error(s, `Address family of virtual server and real server ${rs.ip} don't match - skipping real server.`, 1);
    }
  }
  t.vs.rs.push(rs);
};

const vsKeywords: Record<string, Handler<VsTargetCtx>> = {
  ip_family(s, t, c) {
    const f = c.arg(s, 1);
    if (f === undefined) return;
    if (f !== 'inet' && f !== 'inet6') return c.error(s, `unknown address family ${f}`, 1);
    if (t.vs.family && t.vs.family !== f) return c.error(s, `Virtual server specified family ${f} conflicts with server family`, 1);
    t.vs.family = f;
    t.vs.ipFamily = f;
  },
  retry(s, t, c) {
    const v = c.uint(s, 1, 1, UINT_MAX);
    if (v === undefined) return void (s.args.length && c.error(s, `retry value invalid - ${s.args[0]}`, 1));
    t.vs.retry = v;
  },
  delay_before_retry: vsTimer('delayBeforeRetryUs', 0, 0, (v) => `virtual server delay before retry '${v}' invalid - ignoring`),
  warmup: vsTimer('warmupUs', 0, 0, (v) => `virtual server warmup '${v}' invalid - ignoring`),
  connect_timeout: vsTimer('connectTimeoutUs', 1, UINT_MAX, (v) => `virtual server connect_timeout ${v} invalid - ignoring`),
  delay_loop: vsTimer('delayLoopUs', 1, 0, (v) => `virtual server delay loop '${v}' invalid - ignoring`),
  inhibit_on_failure: vsFlag('inhibit'),
  lb_algo: lbAlgo,
  lvs_sched: lbAlgo,
  hashed: lbFlag,
  ops: lbFlag,
  'flag-1': lbFlag,
  'flag-2': lbFlag,
  'flag-3': lbFlag,
  'sh-port': lbFlag,
  'sh-fallback': lbFlag,
  'mh-port': lbFlag,
  'mh-fallback': lbFlag,
  lb_kind: vsForwarding,
  lvs_method: vsForwarding,
  persistence_engine(s, t, c) {
    const v = c.arg(s, 1);
    if (v === undefined) return;
    // IP_VS_PENAME_MAXLEN 16
    if (v.length > 16) c.error(s, `persistence_name too long, truncating - ${v}`, 1);
    t.vs.persistenceEngine = v.slice(0, 16);
  },
  persistence_timeout(s, t, c) {
    if (s.args.length < 1) {
      t.vs.persistenceTimeout = DEFAULT_PERSISTENCE_TIMEOUT;
      return;
    }
    const v = c.uint(s, 1, 1, LVS_MAX_TIMEOUT);
    if (v === undefined) return c.error(s, 'persistence_timeout invalid', 1);
    t.vs.persistenceTimeout = v;
  },
  persistence_granularity(s, t, c) {
    const v = c.arg(s, 1);
    if (v === undefined) return;
    const af: Family = t.vs.family ?? (v.includes('.') ? 'inet' : 'inet6');
    if (af === 'inet6') {
      const n = c.uint(s, 1, 1, 128);
      if (n === undefined) return c.error(s, `Invalid IPv6 persistence_granularity specified - ${v}`, 1);
      t.vs.persistenceGranularity = String(n);
    } else {
      const a = parseSockAddr(v);
      if (!a || a.family !== 'inet' || /[-/]/.test(v)) return c.error(s, `Invalid IPv4 persistence_granularity specified - ${v}`, 1);
      t.vs.persistenceGranularity = a.ip;
    }
    t.vs.family ??= af;
    if (!t.vs.persistenceTimeout) t.vs.persistenceTimeout = DEFAULT_PERSISTENCE_TIMEOUT;
  },
  protocol(s, t, c) {
    const v = c.arg(s, 1);
    if (v === undefined) return;
    const u = v.toUpperCase();
    if (u !== 'TCP' && u !== 'UDP' && u !== 'SCTP') return c.error(s, `Unknown protocol ${v} - ignoring`, 1);
    t.vs.protocol = u;
  },
  ha_suspend: vsFlag('haSuspend'),
  smtp_alert(s, t, c) {
    const b = optBool(c, s, 'Invalid virtual_server smtp_alert parameter');
    if (b !== undefined) t.vs.smtpAlert = b;
  },
  virtualhost(s, t, c) {
    if (s.args.length < 1) return c.error(s, 'virtual server virtualhost missing');
    t.vs.virtualhost = s.args[0];
  },
  snmp_name(s, t, c) {
    if (s.args.length !== 1) return c.error(s, 'virtual server snmp_name missing or extra parameters');
    t.vs.snmpName = s.args[0];
  },
  alpha: vsFlag('alpha'),
  omega: vsFlag('omega'),
  quorum_up: quorumScript('quorumUp', 'quorum_up'),
  quorum_down: quorumScript('quorumDown', 'quorum_down'),
  quorum(s, t, c) {
    const v = c.uint(s, 1, 1, UINT_MAX);
    if (v === undefined) {
      if (s.args.length) c.error(s, `Quorum ${s.args[0]} must be in [1, ${UINT_MAX}]. Setting to 1.`, 1);
      else return;
    }
    t.vs.quorum = v ?? 1;
  },
  hysteresis(s, t, c) {
    const v = c.uint(s, 1, 0, UINT_MAX);
    if (v === undefined) return void (s.args.length && c.error(s, `Hysteresis ${s.args[0]} must be in [0, ${UINT_MAX}] - ignoring`, 1));
    t.vs.hysteresis = v;
  },
  weight(s, t, c) {
    const v = c.uint(s, 1, 1, IPVS_WEIGHT_LIMIT);
    if (v === undefined) return void (s.args.length && c.error(s, `Virtual server weight ${s.args[0]} is outside range 1-${IPVS_WEIGHT_LIMIT}`, 1));
    t.vs.weight = v;
  },
  sorry_server(s, t, c) {
    const ip = c.arg(s, 1);
    if (ip === undefined) return;
    const portStr = s.args[1];
    let port = 0;
    if (portStr !== undefined && !isZeroPort(portStr)) {
      const p = c.uintOf(s, 2, portStr, 1, 65535);
      if (p === undefined) return c.error(s, `Invalid sorry server IP address ${ip} - skipping`, 1);
      port = p;
    }
    const a = parseSockAddr(ip);
    if (!a) return c.error(s, `Invalid sorry server IP address ${ip} - skipping`, 1);
    t.vs.sorry = { ip: a.ip, family: a.family, port, lvsMethod: t.vs.lvsMethod, tunnel: t.vs.tunnel, inhibit: false, loc: c.loc(s) };
  },
  sorry_server_inhibit(s, t, c) {
    if (t.vs.sorry) t.vs.sorry.inhibit = true;
    else c.error(s, 'Ignoring sorry_server inhibit used before or without sorry_server');
  },
  sorry_server_lvs_method(s, t, c) {
    if (!t.vs.sorry) return c.error(s, 'sorry_server forwarding used without sorry_server');
    const f = readForwarding(s, c, 'sorry');
    if (!f) return;
    t.vs.sorry.lvsMethod = f.method;
    t.vs.sorry.tunnel = f.tunnel;
  },
  real_server: realServerHandler,
};

function lbAlgo(s: Stmt, t: VsTargetCtx, c: Ctx): void {
  const v = c.arg(s, 1);
  if (v === undefined) return;
  if (!LVS_SCHEDULERS.includes(v)) return c.error(s, `Invalid lvs_scheduler '${v}' - ignoring`, 1);
  t.vs.scheduler = v;
}

function vsForwarding(s: Stmt, t: VsTargetCtx, c: Ctx): void {
  const f = readForwarding(s, c, 'virtual');
  if (!f) return;
  t.vs.lvsMethod = f.method;
  t.vs.tunnel = f.tunnel;
}

const vsSpec: BlockSpec<VsTargetCtx> = { name: 'virtual_server', keywords: vsKeywords };

function badVirtualServer(s: Stmt, c: Ctx, p1: string, portStr: string | undefined): void {
  c.error(s, `Invalid virtual server IP address${portStr ? '/port' : ''} ${p1}${portStr ? `/${portStr}` : ''} - skipping`, 1);
}

/** virtual_server IP PORT | fwmark N | group NAME (keepalived alloc_vs + vs_end_handler) */
const virtualServerHandler: Handler<Config> = (s, cfg, c) => {
  const p1 = c.arg(s, 1);
  if (p1 === undefined) return;
  const p2 = s.args[1];
  let target: VsTarget;
  let family: Family | undefined;
  if (p1 === 'group') {
    const name = c.arg(s, 2);
    if (name === undefined) return;
    target = { kind: 'group', name };
  } else if (p1 === 'fwmark') {
    const v = c.arg(s, 2);
    if (v === undefined) return;
    const fw = c.uintOf(s, 2, v, 0, UINT_MAX);
    if (fw === undefined) return c.error(s, `virtual server fwmark '${v}' must be in [0, ${UINT_MAX}] - ignoring`, 2);
    target = { kind: 'fwmark', fwmark: fw };
  } else {
    const portStr = p2 !== undefined && !isZeroPort(p2) ? p2 : undefined;
    let port = 0;
    if (portStr !== undefined) {
      const p = c.uintOf(s, 2, portStr, 1, 65535);
      if (p === undefined) return badVirtualServer(s, c, p1, portStr);
      port = p;
    }
    const a = parseSockAddr(p1);
    if (!a) return badVirtualServer(s, c, p1, portStr);
    target = { kind: 'ip', ip: a.ip, family: a.family, port };
    family = a.family;
  }
  const vs: VsDraft = {
    target,
    family,
    schedFlags: [],
    ops: false,
    persistenceTimeout: 0,
    haSuspend: false,
    alpha: false,
    omega: false,
    quorum: 1,
    hysteresis: 0,
    weight: 1,
    inhibit: false,
    delayLoopUs: DEFAULT_DELAY_LOOP_US,
    connectTimeoutUs: DEFAULT_CONNECT_TIMEOUT_US,
    rs: [],
    loc: c.loc(s),
  };
  c.walk(s.block, vsSpec, { vs, cfg });
  // vs_end_handler: a sorry server outside a tunnel must share the family
  const ss = vs.sorry;
  if (ss && ss.lvsMethod !== 'TUN') {
    if (!vs.family) vs.family = ss.family;
    else if (vs.family !== ss.family) {
      c.diags.error('HC_CONFIG_INVALID', `Address family of virtual server and sorry server ${ss.ip} don't match - skipping sorry server.`, ss.loc, ErrClass.GENERAL_ERROR);
      delete vs.sorry;
    }
  }
  if (!vs.family && vs.target.kind !== 'group') {
    // fwmark with only tunnelled servers: the family of the servers if they agree, else IPv4
    const fams = new Set<Family>([...(vs.sorry ? [vs.sorry.family] : []), ...vs.rs.map((r) => r.family)]);
    vs.family = fams.size === 1 ? [...fams][0] : 'inet';
  }
  // Finish it now unless finishing needs what a later block may define (its group, a
  // bfd_instance, a track_file): the draft is then dropped young, and only the model kept.
  if (vs.target.kind !== 'group' && !vs.rs.some((r) => r.checkers.some((d) => d.checker.type === 'BFD_CHECK' || d.checker.type === 'FILE_CHECK'))) {
    const sink = new DiagList();
    const checked = checkVs(vs, undefined, sink);
    const entries = build(cfg).entries;
    if (checked && c.checkOnly) {
      // Only its messages matter (the global smtp_alert applied later changes no message).
      // Making the model and keeping it were a large share of `-t` on a large file: the
      // young-generation GC copied every kept server once or twice.
      checkVsCheckers(vs, checked.kept, sink);
      build(cfg).checkedOnly++;
      if (sink.list) entries.push({ early: true, diags: sink.list, vsSmtp: true });
      return;
    }
    const done = checked && modelVs(vs, checked, sink, NO_LATER);
    if (!done) {
      // no model: only its messages are left to report
      entries.push({ early: true, diags: sink.list ?? NO_DIAGS, vsSmtp: true });
      return;
    }
    const rsSmtp = vs.rs.some((r) => r.smtpAlert !== undefined) ? done.kept.map((r) => r.smtpAlert !== undefined) : undefined;
    entries.push({ early: true, vs: done.vs, diags: sink.list ?? NO_DIAGS, vsSmtp: vs.smtpAlert !== undefined, rsSmtp });
    return;
  }
  build(cfg).entries.push(vs);
};

/* ------------------------------------------------------------------------ *
 * Top level                                                                 *
 * ------------------------------------------------------------------------ */

export const lvsTop: Record<string, Handler<Config>> = {
  SSL(s, cfg, c) {
    if (cfg.lvs.ssl) c.error(s, 'SSL context already specified - replacing');
    const ssl: SslConfig = { loc: c.loc(s) };
    c.walk(s.block, sslSpec, ssl);
    cfg.lvs.ssl = ssl;
  },
  virtual_server_group(s, cfg, c) {
    const name = c.arg(s, 1);
    if (name === undefined) return;
    const g: VirtualServerGroup = { name, entries: [], loc: c.loc(s) };
    for (const e of s.block ?? []) vsgEntry(e, g, c);
    const f = vsgFlags(g);
    if (!g.entries.length) return c.error(s, `virtual server group ${name} has no entries - removing`, 1);
    if (f.v4 && f.v6 && f.fwNoFamily) return c.error(s, `virtual server group ${name} cannot have IPv4, IPv6 and fwmark without family - removing`, 1);
    cfg.lvs.groups.push(g);
  },
  virtual_server: virtualServerHandler,
};

/* ------------------------------------------------------------------------ *
 * After the whole file: link_vsg_to_vs + validate_check_config              *
 * ------------------------------------------------------------------------ */

/** global_defs fields read here (defensively, as global.ts is written alongside). */
interface GlobalSmtpFields {
  smtpAlert?: boolean;
  smtpAlertChecker?: boolean;
}

/** keepalived's log_message(): shown, never counted in the exit code. */
function logged(d: DiagSink, loc: Loc, message: string): void {
  d.add({ severity: 'warning', code: 'HC_CONFIG_LOGGED', message, loc });
}

function cfgError(d: DiagSink, loc: Loc, message: string): void {
  d.add({ severity: 'error', code: 'HC_CONFIG_INVALID', message, loc, cls: ErrClass.GENERAL_ERROR, hint: undefined });
}

/** What finishing a virtual server may look up in the rest of the configuration. */
interface FinishScope {
  /** global smtp_alert_checker, else smtp_alert */
  globalAlert: boolean | undefined;
  /** bfd_instances a BFD_CHECK may name */
  bfdNames: ReadonlySet<string>;
  trackFiles: Config['vrrp']['trackFiles'];
}

/** For a virtual server finished as its block closes: it has no group, BFD_CHECK or FILE_CHECK. */
const NO_LATER: FinishScope = { globalAlert: undefined, bfdNames: new Set(), trackFiles: [] };

export function finishLvs(cfg: Config, c: Ctx): void {
  const entries = build(cfg).entries;
  const g = cfg.global as unknown as GlobalSmtpFields;
  const scope: FinishScope = {
    globalAlert: g.smtpAlertChecker ?? g.smtpAlert,
    bfdNames: new Set(cfg.bfd.instances.filter((b) => b.checker).map((b) => b.name)),
    trackFiles: cfg.vrrp.trackFiles,
  };
  const d = c.diags;
  const out: VirtualServer[] = [];

  for (const e of entries) {
    if ('early' in e) {
      for (const x of e.diags) d.add(x);
      if (!e.vs) continue;
      const ga = scope.globalAlert;
      if (ga !== undefined) {
        // made with no global smtp_alert: apply it where the server gave none
        if (!e.vsSmtp) e.vs.smtpAlert = ga;
        const rss = e.vs.realServers;
        for (let j = 0; j < rss.length; j++) if (!e.rsSmtp?.[j]) rss[j].smtpAlert = ga;
      }
      out.push(e.vs);
      continue;
    }
    const v = e;
    // link_vsg_to_vs (only logged by keepalived)
    let group: VirtualServerGroup | undefined;
    if (v.target.kind === 'group') {
      const name = v.target.name;
      group = cfg.lvs.groups.find((x) => x.name === name);
      if (!group) {
        logged(d, v.loc, `Virtual server group ${name} specified but not configured - ignoring virtual server ${fmtVs(v)}`);
        continue;
      }
      const f = vsgFlags(group);
      const gaf: Family | undefined = f.v4 === f.v6 ? undefined : f.v4 ? 'inet' : 'inet6';
      if (f.v4 && f.v6 && v.family) {
        logged(d, v.loc, `${name}: virtual server group with IPv4 & IPv6 doesn't match virtual server ${fmtVs(v)} - ignoring`);
        continue;
      }
      if ((f.v4 && v.family === 'inet6') || (f.v6 && v.family === 'inet')) {
        logged(d, v.loc, `${name}: address family doesn't match virtual server ${fmtVs(v)} - ignoring`);
        continue;
      }
      if (gaf) v.family ??= gaf;
      else if (!v.family && f.fwNoFamily) logged(d, v.loc, `${name}: Virtual server ${fmtVs(v)} address family cannot be determined, defaulting to IPv4`);
    }
    const done = finishVs(v, group, d, scope);
    if (done) out.push(done.vs);
  }
  cfg.lvs.virtualServers = out;
  const checkedOnly = build(cfg).checkedOnly;
  if (checkedOnly) cfg.lvs.checkedOnly = checkedOnly;
  // the drafts are spent: do not keep a second copy of every server alive with the model
  builds.delete(cfg);
}

/**
 * keepalived's validate_check_config() for one virtual server (after link_vsg_to_vs):
 * defaults, inheritance virtual_server → real_server → checker, port fix-ups. Returns
 * the model and the real servers kept, or undefined when the server is dropped.
 */
function finishVs(v: VsDraft, group: VirtualServerGroup | undefined, d: DiagSink, scope: FinishScope): { vs: VirtualServer; kept: RsDraft[] } | undefined {
  const checked = checkVs(v, group, d);
  return checked && modelVs(v, checked, d, scope);
}

/** What checkVs leaves for modelVs. */
interface CheckedVs {
  group: VirtualServerGroup | undefined;
  /** the real servers kept (duplicates removed) */
  kept: RsDraft[];
  /** each kept real server's port after the fix-ups, by its index in `kept` */
  finalPort: number[];
  /** the sorry server's port after the fix-ups */
  ssPort: number;
}

/**
 * The checks of validate_check_config() that need only the server itself: defaults,
 * duplicates, port fix-ups, with their messages. Undefined when the server is dropped.
 */
function checkVs(v: VsDraft, group: VirtualServerGroup | undefined, d: DiagSink): CheckedVs | undefined {
  // validate_check_config
  if (!v.rs.length) {
    cfgError(d, v.loc, `Virtual server ${fmtVs(v)} has no real servers - ignoring`);
    return undefined;
  }
  const groupFw = !!group && group.entries.some((e) => e.kind === 'fwmark');
  const groupAddr = !!group && group.entries.some((e) => e.kind === 'range');
  if (v.haSuspend && (v.target.kind === 'fwmark' || groupFw)) {
    cfgError(d, v.loc, `Virtual server ${fmtVs(v)}: cannot use ha_suspend with fwmarks - clearing ha_suspend`);
    v.haSuspend = false;
  }
  if (groupAddr || v.target.kind === 'ip') {
    if (!v.protocol) {
      cfgError(d, v.loc, `Virtual server ${fmtVs(v)}: no protocol set - defaulting to UDP`);
      v.protocol = 'UDP';
    }
    if (v.ops && v.protocol !== 'UDP') {
      cfgError(d, v.loc, `Virtual server ${fmtVs(v)}: one packet scheduling requires UDP - resetting`);
      v.ops = false;
    }
    if (!v.persistenceTimeout && v.target.kind === 'ip' && !v.target.port) {
      cfgError(d, v.loc, `Virtual server ${fmtVs(v)}: zero port only valid for persistent services - setting`);
      v.persistenceTimeout = DEFAULT_PERSISTENCE_TIMEOUT;
    }
  }
  if (!v.persistenceTimeout && group && group.entries.some((e) => e.kind === 'range' && !e.port)) {
    cfgError(d, v.loc, `Virtual server ${fmtVs(v)}: zero port only valid for persistent services - setting`);
    v.persistenceTimeout = DEFAULT_PERSISTENCE_TIMEOUT;
  }
  if (v.protocol && ((group && !groupAddr && groupFw) || v.target.kind === 'fwmark')) {
    cfgError(d, v.loc, `Warning: Virtual server ${fmtVs(v)}: protocol specified for fwmark - protocol will be ignored`);
    delete v.protocol;
  }
  if (!v.scheduler) {
    cfgError(d, v.loc, `Virtual server ${fmtVs(v)}: no scheduler set, setting default '${DEFAULT_SCHED}'`);
    v.scheduler = DEFAULT_SCHED;
  }

  const methodDefault = (): LvsMethod => {
    if (!v.lvsMethod) {
      cfgError(d, v.loc, `Virtual server ${fmtVs(v)}: no forwarding method set, setting default NAT`);
      v.lvsMethod = 'NAT';
    }
    return v.lvsMethod;
  };

  const kept: RsDraft[] = [];
  let weightSum = 0;
  for (const r of v.rs) {
    if (hasServer(kept, r.ip, r.port)) {
      cfgError(d, r.loc, `VS ${fmtVs(v)}: real server ${fmtRs(r, v)} is duplicated - removing second rs`);
      continue;
    }
    if (!r.lvsMethod) {
      r.lvsMethod = methodDefault();
      r.tunnel = v.tunnel;
    }
    r.weight ??= v.weight;
    r.inhibit ??= v.inhibit;
    weightSum += r.weight;
    if (v.sorry && v.sorry.ip === r.ip && v.sorry.port === r.port && v.sorry.inhibit !== r.inhibit) {
      cfgError(d, r.loc, `Virtual server ${fmtVs(v)}: real server ${fmtRs(r, v)} matches sorry server, but inhibit setting differs, ${r.inhibit ? 'sett' : 'clear'}ing on sorry server`);
      v.sorry.inhibit = r.inhibit;
    }
    kept.push(r);
  }
  if (v.sorry && !v.sorry.lvsMethod) {
    v.sorry.lvsMethod = methodDefault();
    v.sorry.tunnel = v.tunnel;
  }
  if (v.quorum > weightSum) {
    cfgError(d, v.loc, `Warning - quorum ${v.quorum} for ${fmtVs(v)} exceeds total weight of real servers ${weightSum}, reducing quorum to ${weightSum}`);
    v.quorum = weightSum;
  }
  if (v.hysteresis >= v.quorum) {
    // unsigned arithmetic: quorum 0 gives UINT_MAX
    const h = v.quorum ? v.quorum - 1 : UINT_MAX;
    cfgError(d, v.loc, `Virtual server ${fmtVs(v)}: hysteresis ${v.hysteresis} >= quorum ${v.quorum}; setting hysteresis to ${h}`);
    v.hysteresis = h;
  }

  // ports: unless NAT, the real server port must be the virtual server's; fwmark DR/TUN have none
  // each kept real server's port after the fix-ups, by its index in `kept`
  const finalPort = kept.map((r) => r.port);
  let ssPort = v.sorry?.port ?? 0;
  if (group) {
    if (groupFw) {
      for (const r of kept) {
        if (r.lvsMethod !== 'NAT' && r.port) cfgError(d, r.loc, `WARNING - fwmark virtual server ${fmtVs(v)}, real server ${fmtRs(r, v)} has port specified - port will be ignored`);
      }
      if (v.sorry && v.sorry.lvsMethod !== 'NAT' && v.sorry.port) cfgError(d, v.sorry.loc, `WARNING - fwmark virtual server ${fmtVs(v)}, sorry server has port specified - port will be ignored`);
    }
    for (const e of group.entries) {
      if (e.kind !== 'range') continue;
      const range = e.ip === e.end ? `${e.ip},${e.port}` : `${e.ip}-${e.end},${e.port}`;
      for (const r of kept) {
        if (r.lvsMethod === 'NAT') continue;
        if (r.port && r.port !== e.port) cfgError(d, r.loc, `virtual server ${fmtVs(v)}:[${range}] and real server ${fmtRs(r, v)} ports don't match`);
      }
      if (v.sorry && v.sorry.lvsMethod !== 'NAT' && v.sorry.port && v.sorry.port !== e.port) {
        cfgError(d, v.sorry.loc, `WARNING - virtual server ${fmtVs(v)}, sorry server has port specified - port will be ignored`);
      }
    }
  } else {
    const vport = v.target.kind === 'ip' ? v.target.port : 0;
    const isFw = v.target.kind === 'fwmark';
    for (let j = 0; j < kept.length; j++) {
      const r = kept[j];
      if (r.lvsMethod === 'NAT') {
        if (!isFw && !r.port) finalPort[j] = vport;
        continue;
      }
      if (isFw) {
        if (r.port) {
          cfgError(d, r.loc, `WARNING - fwmark virtual server ${fmtVs(v)}, real server ${fmtRs(r, v)} has port specified - clearing`);
          finalPort[j] = 0;
        }
      } else if (!r.port) finalPort[j] = vport;
      else if (r.port !== vport) {
        cfgError(d, r.loc, `WARNING - virtual server ${fmtVs(v)} and real server ${fmtRs(r, v)} ports don't match - resetting`);
        finalPort[j] = vport;
      }
    }
    if (v.sorry && v.sorry.lvsMethod !== 'NAT') {
      if (isFw) {
        if (v.sorry.port) {
          cfgError(d, v.sorry.loc, `WARNING - virtual server ${fmtVs(v)}, sorry server has port specified - clearing`);
          ssPort = 0;
        }
      } else if (!v.sorry.port) ssPort = vport;
      else if (v.sorry.port !== vport) {
        cfgError(d, v.sorry.loc, `WARNING - virtual server ${fmtVs(v)} and sorry server ports don't match - resetting`);
        ssPort = vport;
      }
    }
  }

  return { group, kept, finalPort, ssPort };
}

/**
 * The messages modelVs gives for a server finished as its block closes (no group,
 * BFD_CHECK or FILE_CHECK), without making the model: for check-only loading.
 */
function checkVsCheckers(v: VsDraft, kept: readonly RsDraft[], d: DiagSink): void {
  for (const r of kept) for (const cd of r.checkers) portZeroNote(d, cd.checker, cd.conn?.port, r, v);
}

/** A connecting checker left with port 0 (`port`: its connect_port, if given). */
function portZeroNote(d: DiagSink, k: Checker, port: number | undefined, r: RsDraft, v: VsDraft): void {
  if ('conn' in k && k.type !== 'PING_CHECK' && (port ?? k.conn.connectPort) === 0) {
    d.add({ severity: 'note', code: 'HC_CHECKER_PORT_ZERO', message: `${k.type} of ${fmtRs(r, v)} connects to port 0 (neither the real_server line nor connect_port gives one); keepalived does the same`, loc: k.loc, hint: undefined });
  }
}

/** The model, with inheritance virtual_server → real_server → checker (and the checks that need the rest of the configuration). */
function modelVs(v: VsDraft, checked: CheckedVs, d: DiagSink, scope: FinishScope): { vs: VirtualServer; kept: RsDraft[] } {
  const { kept, finalPort, ssPort } = checked;
  const globalAlert = scope.globalAlert;
  const vsAlert = v.smtpAlert ?? globalAlert ?? false;
  const vsOut: VirtualServer = {
    id: fmtVs(v),
    target: v.target,
    family: v.family ?? 'inet',
    // checkVs set it
    scheduler: v.scheduler!,
    schedFlags: v.schedFlags,
    ops: v.ops,
    lvsMethod: v.lvsMethod ?? 'NAT',
    persistenceTimeout: v.persistenceTimeout,
    haSuspend: v.haSuspend,
    alpha: v.alpha,
    omega: v.omega,
    quorum: v.quorum,
    hysteresis: v.hysteresis,
    weight: v.weight,
    inhibitOnFailure: v.inhibit,
    delayLoopMs: usToMs(v.delayLoopUs),
    connectTimeoutMs: usToMs(v.connectTimeoutUs),
    smtpAlert: vsAlert,
    realServers: [],
    loc: v.loc,
  };
  if (v.ipFamily !== undefined) vsOut.ipFamily = v.ipFamily;
  if (v.protocol !== undefined) vsOut.protocol = v.protocol;
  if (v.lvsMethod === 'TUN' && v.tunnel !== undefined) vsOut.tunnel = v.tunnel;
  if (v.persistenceGranularity !== undefined) vsOut.persistenceGranularity = v.persistenceGranularity;
  if (v.persistenceEngine !== undefined) vsOut.persistenceEngine = v.persistenceEngine;
  if (v.virtualhost !== undefined) vsOut.virtualhost = v.virtualhost;
  if (v.quorumUp !== undefined) vsOut.quorumUp = v.quorumUp;
  if (v.quorumDown !== undefined) vsOut.quorumDown = v.quorumDown;
  if (v.retry !== undefined) vsOut.retry = v.retry;
  if (v.delayBeforeRetryUs !== undefined) vsOut.delayBeforeRetryMs = usToMs(v.delayBeforeRetryUs);
  if (v.warmupUs !== undefined) vsOut.warmupMs = usToMs(v.warmupUs);
  if (v.snmpName !== undefined) vsOut.snmpName = v.snmpName;
  if (v.sorry) {
    const ss: SorryServer = { ip: v.sorry.ip, family: v.sorry.family, port: ssPort, lvsMethod: v.sorry.lvsMethod!, inhibit: v.sorry.inhibit, loc: v.sorry.loc };
    if (ss.lvsMethod === 'TUN' && v.sorry.tunnel !== undefined) ss.tunnel = v.sorry.tunnel;
    vsOut.sorryServer = ss;
  }
  const servers: RealServer[] = [];
  for (let j = 0; j < kept.length; j++) {
    const r = kept[j];
    const tm = r.timing;
    const inh = {
      retry: tm.retry ?? v.retry,
      delayLoopUs: tm.delayLoopUs ?? v.delayLoopUs,
      warmupUs: tm.warmupUs ?? v.warmupUs,
      delayBeforeRetryUs: tm.delayBeforeRetryUs ?? v.delayBeforeRetryUs,
      connectTimeoutUs: tm.connectTimeoutUs ?? v.connectTimeoutUs,
      alpha: tm.alpha ?? v.alpha,
      vsDelayLoopUs: v.delayLoopUs,
    };
    const rsOut: RealServer = {
      ip: r.ip,
      family: r.family,
      port: finalPort[j],
      configuredPort: r.port,
      weight: r.weight!,
      lvsMethod: r.lvsMethod!,
      uthreshold: r.uthreshold,
      lthreshold: r.lthreshold,
      inhibitOnFailure: r.inhibit!,
      alpha: inh.alpha,
      connectTimeoutMs: usToMs(inh.connectTimeoutUs),
      delayLoopMs: usToMs(inh.delayLoopUs),
      // keepalived keeps the historical default true for real servers
      smtpAlert: r.smtpAlert ?? globalAlert ?? true,
      checkers: [],
      loc: r.loc,
    };
    if (rsOut.lvsMethod === 'TUN' && r.tunnel !== undefined) rsOut.tunnel = r.tunnel;
    if (r.notifyUp !== undefined) rsOut.notifyUp = r.notifyUp;
    if (r.notifyDown !== undefined) rsOut.notifyDown = r.notifyDown;
    if (inh.retry !== undefined) rsOut.retry = inh.retry;
    if (inh.delayBeforeRetryUs !== undefined) rsOut.delayBeforeRetryMs = usToMs(inh.delayBeforeRetryUs);
    if (inh.warmupUs !== undefined) rsOut.warmupMs = usToMs(inh.warmupUs);
    if (r.virtualhost !== undefined) rsOut.virtualhost = r.virtualhost;
    if (r.snmpName !== undefined) rsOut.snmpName = r.snmpName;
    const checkers: Checker[] = [];
    for (const cd of r.checkers) {
      const k = resolveChecker(cd, inh);
      if (k.type === 'BFD_CHECK') {
        if (!scope.bfdNames.has(k.name)) {
          cfgError(d, k.loc, `(${fmtRs(r, v)}) BFD_CHECK - BFD ${k.name} not configured`);
          continue;
        }
        d.add({ severity: 'note', code: 'HC_CONFIG_UNSUPPORTED', message: "'BFD_CHECK' is accepted but not implemented by hacheck: BFD is not run yet", loc: k.loc, hint: undefined });
      }
      if (k.type === 'FILE_CHECK') {
        // keepalived looks the track_file up when it reads FILE_CHECK: it must come first
        const tf = scope.trackFiles.find((f) => f.name === k.trackFile && (f.loc.file !== k.loc.file || f.loc.line < k.loc.line));
        if (!tf) {
          cfgError(d, k.loc, `track_file ${k.trackFile} not found`);
          cfgError(d, k.loc, 'FILE_CHECK has no track_file specified - ignoring');
          continue;
        }
        if (k.weight === undefined) {
          k.weight = tf.weight;
          k.reverse = tf.weightReverse;
        }
      }
      // resolved: its connection has its final port
      portZeroNote(d, k, undefined, r, v);
      checkers.push(k);
    }
    rsOut.checkers = exact(checkers);
    servers.push(rsOut);
  }
  vsOut.realServers = exact(servers);
  return { vs: vsOut, kept };
}

function hasServer(xs: readonly RsDraft[], ip: string, port: number): boolean {
  for (const x of xs) if (x.ip === ip && x.port === port) return true;
  return false;
}

/**
 * An array of exactly its length. One grown by push keeps room for 17 elements or more:
 * with 40,000 real servers of one checker each, that room was a fifth of the model's memory.
 */
function exact<T>(xs: T[]): T[] {
  return xs.length === 0 ? [] : xs.slice();
}

/* ------------------------------------------------------------------------ *
 * The IPVS reconciler's input (src/ipvs/types.ts VirtualServerSpec)         *
 * ------------------------------------------------------------------------ */

/** Split an address range into entries whose range varies only the last octet / 16-bit group. */
function rangeEntries(e: Extract<VsgEntry, { kind: 'range' }>): VirtualServerGroupEntry[] {
  if (e.ip === e.end) return [{ kind: 'range', ip: e.ip, port: e.port }];
  const out: VirtualServerGroupEntry[] = [];
  if (e.family === 'inet') {
    let n = v4ToNum(e.ip);
    const last = v4ToNum(e.end);
    while (n <= last) {
      const blockEnd = Math.min(last, n - (n % 256) + 255);
      const ip = numToV4(n);
      out.push(blockEnd === n ? { kind: 'range', ip, port: e.port } : { kind: 'range', ip, rangeEnd: blockEnd % 256, port: e.port });
      n = blockEnd + 1;
    }
  } else {
    let n = v6ToBig(e.ip);
    const last = v6ToBig(e.end);
    while (n <= last) {
      const blockEnd = n - (n % 65536n) + 65535n < last ? n - (n % 65536n) + 65535n : last;
      const ip = bigToV6(n);
      out.push(blockEnd === n ? { kind: 'range', ip, port: e.port } : { kind: 'range', ip, rangeEnd: Number(blockEnd % 65536n), port: e.port });
      n = blockEnd + 1n;
    }
  }
  return out;
}

/** Map the LVS model onto the IPVS reconciler's VirtualServerSpec, one per virtual_server. */
export function toIpvsSpecs(lvs: LvsConfig): VirtualServerSpec[] {
  return lvs.virtualServers.map((v) => {
    let target: VirtualServerSpec['target'];
    if (v.target.kind === 'group') {
      const name = v.target.name;
      const g = lvs.groups.find((x) => x.name === name);
      const entries: VirtualServerGroupEntry[] = [];
      for (const e of g?.entries ?? []) {
        if (e.kind === 'fwmark') entries.push(e.family ? { kind: 'fwmark', fwmark: e.fwmark, family: e.family } : { kind: 'fwmark', fwmark: e.fwmark });
        else entries.push(...rangeEntries(e));
      }
      target = { kind: 'group', name, entries };
    } else if (v.target.kind === 'fwmark') target = { kind: 'fwmark', fwmark: v.target.fwmark };
    else target = { kind: 'ip', ip: v.target.ip, port: v.target.port };
    const spec: VirtualServerSpec = {
      id: v.id,
      target,
      family: v.family,
      scheduler: v.scheduler,
      lvsMethod: v.lvsMethod,
      ops: v.ops,
      schedFlags: [...v.schedFlags],
      quorum: v.quorum,
      hysteresis: v.hysteresis,
      alpha: v.alpha,
      omega: v.omega,
      inhibitOnFailure: v.inhibitOnFailure,
      weight: v.weight,
      realServers: v.realServers.map((r) => {
        const rs: RealServerSpec = {
          ip: r.ip,
          port: r.port,
          weight: r.weight,
          lvsMethod: r.lvsMethod,
          uthreshold: r.uthreshold,
          lthreshold: r.lthreshold,
          inhibitOnFailure: r.inhibitOnFailure,
          alpha: r.alpha,
        };
        if (r.tunnel) rs.tunnel = { ...r.tunnel };
        return rs;
      }),
    };
    if (v.protocol) spec.protocol = v.protocol;
    if (v.tunnel) spec.tunnel = { ...v.tunnel };
    if (v.persistenceTimeout) spec.persistenceTimeout = v.persistenceTimeout;
    if (v.persistenceGranularity !== undefined) spec.persistenceGranularity = v.persistenceGranularity;
    if (v.persistenceEngine !== undefined) spec.persistenceEngine = v.persistenceEngine;
    if (v.quorumUp) spec.quorumUp = v.quorumUp.raw;
    if (v.quorumDown) spec.quorumDown = v.quorumDown.raw;
    if (v.sorryServer) {
      const ss = v.sorryServer;
      spec.sorryServer = { ip: ss.ip, port: ss.port, lvsMethod: ss.lvsMethod, inhibit: ss.inhibit };
      if (ss.tunnel) spec.sorryServer.tunnel = { ...ss.tunnel };
    }
    return spec;
  });
}
