// Line grammars shared by static_ipaddress / static_routes / static_rules (global.ts) and
// vrrp_instance's virtual_ipaddress / virtual_ipaddress_excluded / virtual_routes /
// virtual_rules (vrrp.ts): keepalived.conf(5) "Static routes/addresses/rules", which follow
// `ip address add`, `ip route add` and `ip rule add` (ip-address(8), ip-route(8), ip-rule(8)).
//
// Each parser reads one list-block item (kw = the first word, args = the rest) the way
// keepalived 2.2.7 reads it, with its messages; a line keepalived would drop returns
// undefined. Interface checks go through c.env (keepalived's if_get_by_ifname with
// IF_CREATE_IF_DYNAMIC): a missing interface is recorded with noteMissingInterface, and
// finishGlobal prints keepalived's one-line summary.

import { readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { ErrClass, type Loc } from '../diagnostics.js';
import type { Stmt } from '../parse.js';
import type { Ctx } from './context.js';

export type Family = 'inet' | 'inet6';

/** An address with a prefix length, as in `192.168.1.0/24` or `default`. */
export interface IpPrefix {
  /** undefined for `default` / `any` / `all` until the line's family is known */
  family: Family;
  /** the address without its /prefix; undefined for `default` / `any` / `all` / `default6` */
  address?: string;
  /** /prefix; 32 or 128 when not given, 0 for default */
  prefixLen: number;
}

/** One line of static_ipaddress / virtual_ipaddress / virtual_ipaddress_excluded. */
export interface IpAddress {
  family: Family;
  /** the address, without /prefix */
  address: string;
  /** /prefix: default 32 (IPv4) or 128 (IPv6); with `peer`, the peer's prefix */
  prefixLen: number;
  /** `brd|broadcast <IP>|+|-`: explicit broadcast, or computed from + (all ones) / - (all zeros) */
  broadcast?: string;
  /** `dev <STRING>`; for static addresses, default_interface (default eth0) when not given */
  dev?: string;
  /** `scope <SCOPE>`: numeric scope (global 0, site 200, link 253, host 254, nowhere 255) */
  scope?: number;
  /** `label <LABEL>` (IPv4 only, < 16 characters) */
  label?: string;
  /** `peer <IP>`: the other end of a point-to-point address */
  peer?: string;
  /** `home` (IFA_F_HOMEADDRESS, IPv6 mobility) */
  home: boolean;
  /** `-nodad`: no duplicate address detection (IPv6) */
  nodad: boolean;
  /** `mngtmpaddr` (IFA_F_MANAGETEMPADDR) */
  mngtmpaddr: boolean;
  /** `noprefixroute`: no prefix route for the address */
  noprefixroute: boolean;
  /** `autojoin`: join the multicast group (IFA_F_MCAUTOJOIN) */
  autojoin: boolean;
  /** `no_track`: the instance does not go to FAULT when the address is removed */
  noTrack: boolean;
  /** `preferred_lft <SECONDS>|forever`, seconds; 0xffffffff = forever. IPv6 default: 0 for /128, forever otherwise */
  preferredLft?: number;
  /** `track_group <GROUP>` (static addresses only) */
  trackGroup?: string;
  /** `use_vmac` (virtual addresses only) */
  useVmac: boolean;
  loc: Loc;
}

/** `nexthop …` of a multipath route (and the addresses of the deprecated `or`). */
export interface Nexthop {
  /** `via [inet|inet6] <IP>` */
  via?: string;
  /** `dev <STRING>` */
  dev?: string;
  /** `weight <1-256>` */
  weight?: number;
  /** `onlink` */
  onlink: boolean;
  /** `realms [FROM/]TO` (IPv4), kernel encoding (from << 16 | to) */
  realms?: number;
  /** `encap …`, the words as written */
  encap?: string[];
}

/** One line of static_routes / virtual_routes. */
export interface Route {
  family: Family;
  /** destination: `[to] [TYPE] <PREFIX>|default` */
  dst: IpPrefix;
  /** route type (unicast, blackhole, unreachable, prohibit, throw, local, broadcast, …); unicast when not given */
  type: string;
  /** `src <IP>`: preferred source address */
  src?: string;
  /** `from <PREFIX>`: source prefix (IPv6 only) */
  from?: IpPrefix;
  /** `via [inet|inet6] <IP>` (`gw` is deprecated) */
  via?: string;
  /** `dev|oif <STRING>` */
  dev?: string;
  /** `table <NAME|ID>`; default 254 (main) */
  table: number;
  /** `scope <SCOPE>`, numeric; default 0 (global) */
  scope: number;
  /** `protocol <NAME|ID>`; a tracked route gets keepalived's protocol (18) */
  protocol?: number;
  /** `metric|priority|preference <N>` */
  metric?: number;
  /** `tos|dsfield <N|NAME>` */
  tos?: number;
  /** `onlink` */
  onlink: boolean;
  /** `nexthop …` entries, or the two addresses of a deprecated `via A or B` */
  nexthops: Nexthop[];
  /** `no_track`; also set when the route has no interface, which keepalived cannot track */
  noTrack: boolean;
  /** `track_group <GROUP>` (static routes only) */
  trackGroup?: string;
  /** `add` (iproute2's default) | `prepend` (kernel default, keepalived's) | `append` */
  mode: 'prepend' | 'add' | 'append';
  /** `vrf <NAME>` */
  vrf?: string;
  /** `expires <SECONDS>` (IPv6) */
  expires?: number;
  /** `mtu [lock] N`, `advmss [lock] N`, `hoplimit N`, `reordering [lock] N`, `window N`, `cwnd [lock] N`,
   * `ssthresh [lock] N`, `initcwnd N`, `initrwnd N`, `quickack 0|1`, `fastopen_no_cookie 0|1`,
   * `rtt [lock] TIME` (1/8 ms), `rttvar [lock] TIME` (1/4 ms), `rto_min [lock] TIME` (ms) */
  metrics: Partial<Record<RouteMetric, number>>;
  /** the metrics given with `lock` */
  locked: RouteMetric[];
  /** `realms [FROM/]TO` (IPv4) */
  realms?: number;
  /** `features ecn` */
  featuresEcn: boolean;
  /** `congctl [lock] <ALGORITHM>` */
  congctl?: string;
  /** `pref low|medium|high|N` (IPv6 router preference) */
  pref?: number;
  /** `ttl-propagate enabled|disabled` */
  ttlPropagate?: boolean;
  /** `encap …`, the words as written */
  encap?: string[];
  loc: Loc;
}

export type RouteMetric =
  | 'mtu'
  | 'advmss'
  | 'hoplimit'
  | 'reordering'
  | 'window'
  | 'cwnd'
  | 'ssthresh'
  | 'initcwnd'
  | 'initrwnd'
  | 'quickack'
  | 'fastopen_no_cookie'
  | 'rtt'
  | 'rttvar'
  | 'rto_min';

export type RuleAction = 'table' | 'goto' | 'nop' | 'blackhole' | 'unreachable' | 'prohibit';

/** One line of static_rules / virtual_rules. */
export interface Rule {
  family: Family;
  /** `from <PREFIX>|all` */
  from?: IpPrefix;
  /** `to <PREFIX>|all` */
  to?: IpPrefix;
  /** `not` */
  not: boolean;
  /** `preference|priority|order <N>`; when not given keepalived assigns 16384, 16383, … per family */
  priority: number;
  /** false when the priority was assigned by keepalived's counter */
  priorityGiven: boolean;
  action: RuleAction;
  /** `table|lookup <NAME|ID>` */
  table?: number;
  /** `goto <N>` */
  gotoTarget?: number;
  /** `tos|dsfield <N|NAME>` */
  tos?: number;
  /** `fwmark <N>[/<MASK>]` */
  fwmark?: number;
  fwmask?: number;
  /** `realms [FROM/]TO` */
  realms?: number;
  /** `suppress_prefixlength|sup_pl <N>` */
  suppressPrefixLength?: number;
  /** `suppress_ifgroup|sup_group <GROUP>` */
  suppressIfgroup?: number;
  /** `dev|iif <STRING>` */
  iif?: string;
  /** `oif <STRING>` */
  oif?: string;
  /** `tunnel-id <N>` (64 bit, as text) */
  tunnelId?: string;
  /** `uidrange <START>-<END>` */
  uidRange?: { start: number; end: number };
  /** `l3mdev` */
  l3mdev: boolean;
  /** `protocol <N>`; a tracked rule gets keepalived's protocol (18) */
  protocol?: number;
  /** `ipproto <PROTO>` */
  ipproto?: number;
  /** `sport <N>[-<M>]` */
  sport?: { start: number; end: number };
  /** `dport <N>[-<M>]` */
  dport?: { start: number; end: number };
  /** `no_track` */
  noTrack: boolean;
  /** `track_group <GROUP>` (static rules only) */
  trackGroup?: string;
  loc: Loc;
}

/** keepalived's own routing protocol number (RTPROT_KEEPALIVED), set on tracked routes and rules */
export const RTPROT_KEEPALIVED = 18;
/** the first priority keepalived gives a rule with no preference; each further one gets one less */
export const RULE_START_PRIORITY = 16384;
/** keepalived's interface for static addresses when default_interface is not set */
export const DEFAULT_INTERFACE = 'eth0';
const INFINITY_LIFE_TIME = 0xffffffff;
const IFNAMSIZ = 16;
const UINT32_MAX = 4294967295;

// ---------------------------------------------------------------------------------------
// Per-parse state: interfaces that were missing, the dynamic_interfaces setting, and the
// rule-priority counters (one parse = one Ctx).

interface ParseState {
  missingInterface: boolean;
  /** the summary line has been reported (finishGlobal ran, or a later missing interface) */
  summaryDone: boolean;
  dynamicInterfaces: boolean;
  nextRulePriority: { inet: number; inet6: number };
}

const states = new WeakMap<Ctx, ParseState>();

function state(c: Ctx): ParseState {
  let st = states.get(c);
  if (!st) {
    st = { missingInterface: false, summaryDone: false, dynamicInterfaces: false, nextRulePriority: { inet: RULE_START_PRIORITY, inet6: RULE_START_PRIORITY } };
    states.set(c, st);
  }
  return st;
}

/**
 * Record that the configuration named an interface that does not exist. keepalived prints
 * `Non-existent interface specified in configuration` once at the end of the parse
 * (finishGlobal does that).
 */
export function noteMissingInterface(c: Ctx): void {
  const st = state(c);
  st.missingInterface = true;
  // a check made after finishGlobal reports the summary at once
  if (st.summaryDone === true) reportMissingInterfaces(c);
}

/**
 * keepalived's one-line summary when an interface named in the configuration does not
 * exist (its VRRP process stops there: class CONFIG_BAD_IF). Reported once; called by
 * finishGlobal, and by noteMissingInterface for anything checked later.
 */
export function reportMissingInterfaces(c: Ctx): void {
  const st = state(c);
  if (st.missingInterface && !reported.has(c)) {
    reported.add(c);
    c.diags.error('HC_CONFIG_BAD_IF', 'Non-existent interface specified in configuration', undefined, ErrClass.BAD_IF);
  }
  st.summaryDone = true;
}

const reported = new WeakSet<Ctx>();

/** An interface was missing and dynamic_interfaces was not set. */
export function anyInterfaceMissing(c: Ctx): boolean {
  return state(c).missingInterface;
}

/** global_defs dynamic_interfaces: interfaces that do not exist yet are accepted. */
export function setDynamicInterfaces(c: Ctx, on: boolean): void {
  state(c).dynamicInterfaces = on;
}

/**
 * keepalived's if_get_by_ifname(…, IF_CREATE_IF_DYNAMIC): true if the interface can be
 * used. A missing interface is accepted (with keepalived's info line) when
 * dynamic_interfaces is set; otherwise it is recorded for the final summary and false is
 * returned, and the caller reports its own `WARNING - interface … doesn't exist`.
 */
export function lookupInterface(c: Ctx, s: Stmt, word: number, name: string): boolean {
  if (c.env.interfaceExists(name)) return true;
  if (state(c).dynamicInterfaces) {
    c.note(s, `Configuration specifies interface ${name} which doesn't currently exist - will use if created`, word, 'HC_CONFIG_DYNAMIC_INTERFACE');
    return true;
  }
  noteMissingInterface(c);
  return false;
}

// ---------------------------------------------------------------------------------------
// /etc/iproute2 name tables (rt_tables, rt_scopes, rt_protos, rt_dsfield, rt_realms, group),
// read as keepalived reads them: lines of exactly two words `ID NAME`; built-in names are
// added for ids the file does not name.

type NameTable = 'rt_tables' | 'rt_scopes' | 'rt_protos' | 'rt_dsfield' | 'rt_realms' | 'group';

const BUILTIN_NAMES: Record<NameTable, [number, string][]> = {
  rt_tables: [
    [253, 'default'],
    [254, 'main'],
    [255, 'local'],
  ],
  rt_scopes: [
    [0, 'global'],
    [255, 'nowhere'],
    [254, 'host'],
    [253, 'link'],
    [200, 'site'],
  ],
  rt_protos: [
    [0, 'none'],
    [1, 'redirect'],
    [2, 'kernel'],
    [3, 'boot'],
    [4, 'static'],
    [8, 'gated'],
    [9, 'ra'],
    [10, 'mrt'],
    [11, 'zebra'],
    [12, 'bird'],
    [42, 'babel'],
    [13, 'dnrouted'],
    [14, 'xorp'],
    [15, 'ntk'],
    [16, 'dhcp'],
  ],
  rt_dsfield: [],
  rt_realms: [],
  group: [],
};

const NAME_MAX: Record<NameTable, number> = {
  rt_tables: UINT32_MAX,
  rt_scopes: 255,
  rt_protos: 255,
  rt_dsfield: 255,
  rt_realms: 255,
  group: 2147483647,
};

let readIproute2File: (name: NameTable) => string | undefined = (name) => {
  try {
    return readFileSync(`/etc/iproute2/${name}`, 'utf8');
  } catch {
    return undefined;
  }
};
const nameCache = new Map<NameTable, [number, string][]>();

/** Tests: describe /etc/iproute2 (file name → contents); undefined restores the real files. */
export function setIproute2Files(files: Partial<Record<NameTable, string>> | undefined): void {
  nameCache.clear();
  readIproute2File = files
    ? (name) => files[name]
    : (name) => {
        try {
          return readFileSync(`/etc/iproute2/${name}`, 'utf8');
        } catch {
          return undefined;
        }
      };
}

function names(table: NameTable): [number, string][] {
  let list = nameCache.get(table);
  if (list) return list;
  list = [];
  for (const line of (readIproute2File(table) ?? '').split('\n')) {
    const words = line.replace(/[#!].*$/, '').trim().split(/\s+/).filter(Boolean);
    if (words.length !== 2) continue;
    const n = strtoul(words[0], 0);
    if (!n || n.rest !== '' || words[0].startsWith('-') || n.value > NAME_MAX[table]) continue;
    list.push([n.value, words[1]]);
  }
  for (const [id, name] of BUILTIN_NAMES[table]) if (!list.some(([i]) => i === id)) list.push([id, name]);
  nameCache.set(table, list);
  return list;
}

/** keepalived find_rttables_*: a number (C base-0 syntax) up to the table's maximum, or a name. */
export function lookupName(table: NameTable, text: string): number | undefined {
  const n = strtoul(text, 0);
  if (n && n.rest === '') return n.value <= NAME_MAX[table] ? n.value : undefined;
  return names(table).find(([, name]) => name === text)?.[0];
}

/** Route types (find_rttables_rtntype): name → RTN_* */
const RTN_TYPES: Record<string, number> = {
  local: 2,
  nat: 10,
  broadcast: 3,
  brd: 3,
  anycast: 4,
  multicast: 5,
  prohibit: 8,
  unreachable: 7,
  blackhole: 6,
  xresolve: 11,
  unicast: 1,
  throw: 9,
};

function rtnType(text: string): string | undefined {
  if (text in RTN_TYPES) return text === 'brd' ? 'broadcast' : text;
  const n = strtoul(text, 0);
  if (!n || n.rest !== '' || text.startsWith('-') || n.value > 255) return undefined;
  return Object.entries(RTN_TYPES).find(([, v]) => v === n.value)?.[0] ?? String(n.value);
}

/** C strtoul: leading blanks, optional sign, base 0 (0x hex, 0 octal) or 10; `rest` is what was not read. */
export function strtoul(text: string, base: 0 | 10): { value: number; rest: string } | undefined {
  const m = /^[ \t\n\r\f\v]*([+-]?)(.*)$/s.exec(text)!;
  let body = m[2];
  let radix = 10;
  if (base === 0 && /^0[xX][0-9a-fA-F]/.test(body)) {
    radix = 16;
    body = body.slice(2);
  } else if (base === 0 && body.startsWith('0')) radix = 8;
  const digits = radix === 16 ? /^[0-9a-fA-F]+/ : radix === 8 ? /^[0-7]+/ : /^[0-9]+/;
  const d = digits.exec(body);
  if (!d) return undefined;
  let value = parseInt(d[0], radix);
  if (m[1] === '-') value = value === 0 ? 0 : 2 ** 64 - value;
  return { value, rest: body.slice(d[0].length) };
}

/** get_realms: `[FROM/]TO`, names from rt_realms. */
function realmsOf(text: string): number | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return lookupName('rt_realms', text);
  const from = lookupName('rt_realms', text.slice(0, slash));
  const to = lookupName('rt_realms', text.slice(slash + 1));
  if (from === undefined || to === undefined) return undefined;
  return ((from << 16) | to) >>> 0;
}

// ---------------------------------------------------------------------------------------
// Reading words of a list item: strvec index 0 is the item's first word (s.kw).

function word(s: Stmt, j: number): string | undefined {
  return j === 0 ? s.kw : s.args[j - 1];
}

function size(s: Stmt): number {
  return s.args.length + 1;
}

/** A word that must be there: keepalived stops at once (exit 2) when it is not. */
function need(c: Ctx, s: Stmt, j: number): string | undefined {
  const w = word(s, j);
  if (w === undefined) c.missing(s, j);
  return w;
}

/** A word that must name an /etc/iproute2 entry (or give its number); `message`, with %s for the word, when it does not. */
function needName(c: Ctx, s: Stmt, j: number, table: NameTable, message: string): number | undefined {
  const v = need(c, s, j);
  if (v === undefined) return undefined;
  const n = lookupName(table, v);
  if (n === undefined) c.error(s, message.replace('%s', v), j);
  return n;
}

/** get_u8/get_u16/get_u32 (read_unsigned, base 10): keepalived's number message, then `errmsg`. */
function getU(c: Ctx, s: Stmt, j: number, v: string, max: number, errmsg: string): number | undefined {
  const n = c.uintOf(s, j, v, 0, max);
  if (n === undefined) c.error(s, errmsg.replace('%s', v), j);
  return n;
}

/** read_unsigned_base_strvec with base 0, reporting as keepalived's read_unsigned does. */
function readUnsignedBase0(c: Ctx, s: Stmt, j: number, v: string, max: number): number | undefined {
  const n = strtoul(v, 0);
  if (/^\s*-/.test(v)) c.error(s, `negative number '${v}'`, j, ErrClass.INVALID_NUMBER, 'HC_CONFIG_NUMBER');
  else if (!n || n.rest !== '') c.error(s, `invalid number '${v}'`, j, ErrClass.INVALID_NUMBER, 'HC_CONFIG_NUMBER');
  else if (n.value > UINT32_MAX) c.error(s, `number '${v}' outside unsigned integer range`, j, ErrClass.INVALID_NUMBER, 'HC_CONFIG_NUMBER');
  else if (n.value > max) c.error(s, `number '${v}' outside range [0, ${max}]`, j, ErrClass.INVALID_NUMBER, 'HC_CONFIG_NUMBER');
  else return n.value;
  return undefined;
}

/** inet_pton for the family the text implies (a ':' means IPv6). */
function validAddress(text: string, family: Family): boolean {
  return family === 'inet6' ? !text.includes('%') && isIPv6(text) : isIPv4(text);
}

/**
 * keepalived parse_ipaddress: `<IP>[/<PREFIX>]` (the /prefix only where allowed). An
 * invalid prefix is reported and the full length used; an invalid address is reported
 * with `VRRP parsed invalid IP …` and gives undefined.
 */
export function parseIpText(c: Ctx, s: Stmt, j: number, text: string, allowPrefix: boolean): IpPrefix | undefined {
  const family: Family = text.includes(':') ? 'inet6' : 'inet';
  const full = family === 'inet6' ? 128 : 32;
  let prefixLen = full;
  let addr = text;
  const slash = allowPrefix ? text.indexOf('/') : -1;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    const n = strtoul(p, 10);
    if (p.trim().startsWith('-')) {
      c.error(s, `negative number '${p}'`, j, ErrClass.INVALID_NUMBER, 'HC_CONFIG_NUMBER');
      c.error(s, `Invalid address prefix len ${p} for address ${text} - using ${full}`, j);
    } else if (!n || n.rest !== '') {
      c.error(s, `invalid number '${p}'`, j, ErrClass.INVALID_NUMBER, 'HC_CONFIG_NUMBER');
      c.error(s, `Invalid address prefix len ${p} for address ${text} - using ${full}`, j);
    } else if (n.value > full) {
      c.error(s, `number '${p}' outside range [0, ${full}]`, j, ErrClass.INVALID_NUMBER, 'HC_CONFIG_NUMBER');
      c.error(s, `Invalid address prefix len ${p} for address ${text} - using ${full}`, j);
    } else prefixLen = n.value;
    addr = text.slice(0, slash);
  }
  if (!validAddress(addr, family)) {
    c.error(s, `VRRP parsed invalid IP ${text}. skipping IP...`, j);
    return undefined;
  }
  return { family, address: addr, prefixLen };
}

/** keepalived parse_route: a prefix, or `default` / `any` / `all` (family from the line), or the old `default6`. */
function parseRoutePrefix(c: Ctx, s: Stmt, j: number, text: string): { prefix: IpPrefix; familyKnown: boolean } | undefined {
  if (text === 'default' || text === 'any' || text === 'all') return { prefix: { family: 'inet', prefixLen: 0 }, familyKnown: false };
  if (text === 'default6') {
    c.note(s, `'default6' is deprecated - please replace with 'inet6 default'`, j, 'HC_CONFIG_DEPRECATED');
    return { prefix: { family: 'inet6', prefixLen: 0 }, familyKnown: true };
  }
  const p = parseIpText(c, s, j, text, true);
  return p && { prefix: p, familyKnown: true };
}

// ---------------------------------------------------------------------------------------
// Addresses

export interface AddressOptions {
  /** the global default_interface, for static addresses without `dev` (default eth0) */
  defaultInterface?: string;
  /** whether a static track_group of that name was defined before this line */
  trackGroupExists?: (name: string) => boolean;
}

/**
 * One line of an address block (keepalived alloc_ipaddress):
 * `<IP>[/<PREFIX>] [brd <IP>|+|-] [dev <STRING>] [scope <SCOPE>] [label <LABEL>]
 * [peer <IP>[/<PREFIX>]] [home] [-nodad] [mngtmpaddr] [noprefixroute] [autojoin] [no_track]
 * [preferred_lft <SECONDS>|forever] [track_group <GROUP>] [use_vmac]`.
 * ctxName is the block keyword: static_ipaddress reads a static address (track_group
 * allowed, default interface applied); virtual_ipaddress(_excluded) a VIP (use_vmac allowed).
 */
/** An address line with keepalived's defaults: no flags set. */
export function newIpAddress(family: Family, address: string, prefixLen: number, loc: Loc): IpAddress {
  return { family, address, prefixLen, home: false, nodad: false, mngtmpaddr: false, noprefixroute: false, autojoin: false, noTrack: false, useVmac: false, loc };
}

export function parseAddressLine(c: Ctx, s: Stmt, ctxName: string, opts: AddressOptions = {}): IpAddress | undefined {
  const isStatic = ctxName === 'static_ipaddress';
  const first = parseIpText(c, s, 0, s.kw, true);
  if (!first) return undefined;
  const a = newIpAddress(first.family, first.address!, first.prefixLen, s.loc);
  const name = s.kw;
  let brd: '+' | '-' | undefined;
  let haveBroadcast = false;
  let preferredSet = false;
  let i = 1;
  let missingFor: string | undefined;
  while (i < size(s)) {
    const w = word(s, i)!;
    const hasParam = i + 1 < size(s);
    const takesParam = ['dev', 'scope', 'broadcast', 'brd', 'label', 'peer', 'preferred_lft'].includes(w) || (isStatic && w === 'track_group');
    if (takesParam && !hasParam) {
      missingFor = w;
      break;
    }
    if (w === 'dev') {
      const dev = word(s, ++i)!;
      if (a.dev !== undefined) {
        c.error(s, `Cannot specify ipaddress device more than once for ${name}`, i);
        return undefined;
      }
      if (!lookupInterface(c, s, i, dev)) {
        c.warning(s, `WARNING - interface ${dev} for ip address ${name} doesn't exist`, i);
        return undefined;
      }
      a.dev = dev;
    } else if (w === 'scope') {
      const v = word(s, ++i)!;
      const scope = lookupName('rt_scopes', v);
      if (scope === undefined) c.error(s, `Invalid scope '${v}' specified for ${name} - ignoring`, i);
      else a.scope = scope;
    } else if (w === 'broadcast' || w === 'brd') {
      if (a.family === 'inet6') {
        c.error(s, `VRRP is trying to assign a broadcast ${w} to the IPv6 address ${name} !!?? WTF... skipping VIP...`, i);
        return undefined;
      }
      haveBroadcast = true;
      const v = word(s, ++i)!;
      if (v === '-' || v === '+') brd = v;
      else if (!isIPv4(v)) {
        c.error(s, `VRRP is trying to assign invalid broadcast ${v}. skipping VIP...`, i);
        return undefined;
      } else a.broadcast = v;
    } else if (w === 'label') {
      const v = word(s, ++i)!;
      if (v.length >= IFNAMSIZ) {
        c.error(s, `Address label ${v} is longer than maximum length ${IFNAMSIZ - 1} - removing address`, i);
        return undefined;
      }
      a.label = v;
    } else if (w === 'peer') {
      const v = word(s, ++i)!;
      if (a.peer !== undefined) {
        c.error(s, `Peer ${v} - another peer has already been specified`, i);
        i++;
        continue;
      }
      const peer = parseIpText(c, s, i, v, false);
      if (!peer) c.error(s, `Invalid peer address ${v}`, i);
      else if (peer.family !== a.family) c.error(s, `Peer address ${v} does not match address family`, i);
      else {
        if (a.prefixLen !== (a.family === 'inet6' ? 128 : 32)) c.error(s, 'Cannot specify address prefix when specifying peer address - ignoring', i);
        a.peer = peer.address;
        a.prefixLen = peer.prefixLen;
      }
    } else if (w === 'home') a.home = true;
    else if (w === '-nodad') a.nodad = true;
    else if (w === 'mngtmpaddr') a.mngtmpaddr = true;
    else if (w === 'noprefixroute') a.noprefixroute = true;
    else if (w === 'autojoin') a.autojoin = true;
    else if (w === 'no_track') a.noTrack = true;
    else if (w === 'preferred_lft') {
      const v = word(s, ++i)!;
      if (v === 'forever') {
        a.preferredLft = INFINITY_LIFE_TIME;
        preferredSet = true;
      } else {
        const n = c.uintOf(s, i, v, 0, UINT32_MAX);
        if (n === undefined) c.error(s, `preferred_lft ${v} is invalid`, i);
        else {
          a.preferredLft = n;
          preferredSet = true;
        }
      }
    } else if (isStatic && w === 'track_group') {
      const v = word(s, ++i)!;
      if (a.trackGroup !== undefined) {
        c.error(s, `track_group ${v} is a duplicate`, i);
        break;
      }
      if (opts.trackGroupExists && !opts.trackGroupExists(v)) c.error(s, `track_group ${v} not found`, i);
      else a.trackGroup = v;
    } else if (!isStatic && w === 'use_vmac') a.useVmac = true;
    else c.error(s, `Unknown configuration entry '${w}' for ip address - ignoring`, i);
    i++;
  }

  if (missingFor !== undefined) {
    c.error(s, `No ${missingFor} parameter specified for ${name}`, i);
    return undefined;
  }

  if (haveBroadcast && a.peer !== undefined) {
    c.error(s, 'Cannot specify broadcast and peer addresses - ignoring broadcast address');
    a.broadcast = undefined;
  } else if (brd && a.prefixLen <= 30) {
    a.broadcast = ipv4Broadcast(a.peer ?? a.address, a.prefixLen, brd === '+');
  } else if (brd) c.error(s, `Address prefix length ${a.prefixLen} too long for broadcast`);

  if (isStatic && a.dev === undefined) {
    const dflt = opts.defaultInterface ?? DEFAULT_INTERFACE;
    if (!lookupInterface(c, s, 0, dflt)) {
      c.error(s, `Static address ${name} requires either an interface or default interface must exist`, 0, ErrClass.FATAL);
      return undefined;
    }
    a.dev = dflt;
  }

  if (a.family === 'inet6') {
    if (a.scope) {
      c.error(s, `Cannot specify scope for IPv6 addresses (${name}) - ignoring scope`);
      a.scope = undefined;
    }
    if (a.label !== undefined) {
      c.error(s, `Cannot specify label for IPv6 addresses (${name}) - ignoring label`);
      a.label = undefined;
    }
    if (!preferredSet) a.preferredLft = a.prefixLen === 128 ? 0 : INFINITY_LIFE_TIME;
  }

  if (a.trackGroup !== undefined && a.dev === undefined) {
    c.error(s, 'Static route cannot have track_group if interface not specified');
    a.trackGroup = undefined;
  }
  return a;
}

function ipv4Broadcast(addr: string, prefixLen: number, ones: boolean): string {
  const n = addr.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const host = prefixLen === 0 ? UINT32_MAX : 2 ** (32 - prefixLen) - 1;
  const v = ones ? (n - (n % (host + 1))) + host : n - (n % (host + 1));
  return [24, 16, 8, 0].map((sh) => Math.floor(v / 2 ** sh) % 256).join('.');
}

// ---------------------------------------------------------------------------------------
// Routes

export interface RouteOptions {
  /** static_routes: track_group allowed; the predicate says whether the group was defined before */
  trackGroupExists?: (name: string) => boolean;
}

/** A route line with keepalived's defaults: IPv4 default destination, unicast, table main, scope global. */
export function newRoute(loc: Loc): Route {
  return {
    family: 'inet',
    dst: { family: 'inet', prefixLen: 0 },
    type: 'unicast',
    table: 254,
    scope: 0,
    onlink: false,
    nexthops: [],
    noTrack: false,
    mode: 'prepend',
    metrics: {},
    locked: [],
    featuresEcn: false,
    loc,
  };
}

/**
 * One line of a route block (keepalived alloc_route). `opts.trackGroupExists` given = a
 * static route (track_group allowed).
 */
export function parseRouteLine(c: Ctx, s: Stmt, opts: RouteOptions = {}): Route | undefined {
  const allowTrackGroup = opts.trackGroupExists !== undefined;
  const r = newRoute(s.loc);
  let family: Family | undefined;
  let haveDst = false;
  let dest: string | undefined;
  let doNexthop = false;
  let haveDev = false;
  const n = size(s);
  let i = 0;

  // the family of the line, from inet/inet6 or the first address; false on a mismatch
  const setFamily = (f: Family): boolean => {
    if (family === undefined) family = f;
    return family === f;
  };
  const mix = (j: number, suffix = ''): undefined => {
    c.error(s, `Cannot mix IPv4 and IPv6 addresses for route${suffix}`, j);
    return undefined;
  };
  // `[lock] <VALUE>` of a metric; returns the value word's index, or undefined if missing
  const lockable = (m: RouteMetric): number | undefined => {
    if (need(c, s, ++i) === undefined) return undefined;
    if (word(s, i) === 'lock') {
      r.locked.push(m);
      if (need(c, s, ++i) === undefined) return undefined;
    }
    return i;
  };
  const u32Metric = (m: RouteMetric, j: number | undefined, max: number, msg: string): boolean => {
    if (j === undefined) return false;
    const v = getU(c, s, j, word(s, j)!, max, msg);
    if (v === undefined) return false;
    r.metrics[m] = v;
    return true;
  };

  while (i < n) {
    const w = word(s, i)!;
    if (w === 'inet6' || w === 'inet') {
      const f: Family = w;
      if (!setFamily(f)) {
        c.error(s, `${w} specified for ${f === 'inet6' ? 'IPv4' : 'IPv6'} route`, i);
        return undefined;
      }
      // keepalived 2.2.7 steps over the word after inet/inet6 too: `inet6 default via …`
      // loses its destination ("Route must have a destination")
      i++;
    } else if (w === 'src') {
      const v = need(c, s, ++i);
      if (v === undefined) return undefined;
      const p = parseIpText(c, s, i, v, false);
      if (!p) {
        c.error(s, `invalid route src address ${v}`, i);
        return undefined;
      }
      if (!setFamily(p.family)) return mix(i);
      r.src = p.address;
    } else if (w === 'as') {
      const v = need(c, s, ++i);
      if (v === undefined) return undefined;
      if (v === 'to') i++;
      c.error(s, '"as to" for MPLS only - ignoring', i - 1);
    } else if (w === 'via' || w === 'gw') {
      if (w === 'gw') c.warning(s, '"gw" for routes is deprecated. Please use "via"', i, ErrClass.DEPRECATED, 'HC_CONFIG_DEPRECATED');
      let v = need(c, s, ++i);
      if (v === undefined) return undefined;
      let f: Family | undefined = family;
      if (v === 'inet' || v === 'inet6') {
        f = v;
        v = need(c, s, ++i);
        if (v === undefined) return undefined;
      }
      if (f !== undefined && !setFamily(f)) return mix(i);
      const p = parseIpText(c, s, i, v, false);
      if (!p) {
        c.error(s, `invalid route via address ${v}`, i);
        return undefined;
      }
      if (!setFamily(p.family)) return mix(i);
      r.via = p.address;
    } else if (w === 'from') {
      const v = need(c, s, ++i);
      if (v === undefined) return undefined;
      const p = parseRoutePrefix(c, s, i, v);
      if (!p) {
        c.error(s, `invalid route from address ${v}`, i);
        return undefined;
      }
      if (p.prefix.family !== 'inet6' || !p.familyKnown) {
        c.error(s, `route from address only supported with IPv6 (${v})`, i);
        return undefined;
      }
      if (!setFamily('inet6')) return mix(i);
      r.from = p.prefix;
    } else if (w === 'tos' || w === 'dsfield') {
      const t = needName(c, s, ++i, 'rt_dsfield', 'TOS value %s is invalid');
      if (t === undefined) return undefined;
      r.tos = t;
    } else if (w === 'table') {
      const t = needName(c, s, ++i, 'rt_tables', 'Routing table %s not found for route');
      if (t === undefined) return undefined;
      r.table = t;
    } else if (w === 'protocol') {
      const t = needName(c, s, ++i, 'rt_protos', 'Protocol %s not found or invalid for route');
      if (t === undefined) return undefined;
      r.protocol = t;
    } else if (w === 'scope') {
      const t = needName(c, s, ++i, 'rt_scopes', 'Scope %s not found or invalid for route');
      if (t === undefined) return undefined;
      r.scope = t;
    } else if (w === 'metric' || w === 'priority' || w === 'preference') {
      const v = need(c, s, ++i);
      if (v === undefined) return undefined;
      const m = getU(c, s, i, v, UINT32_MAX, 'Invalid metric %s specified for route');
      if (m === undefined) return undefined;
      r.metric = m;
    } else if (w === 'dev' || w === 'oif') {
      const v = need(c, s, ++i);
      if (v === undefined) return undefined;
      if (!lookupInterface(c, s, i, v)) {
        c.warning(s, `WARNING - interface ${v} for VROUTE nexthop doesn't exist`, i);
        return undefined;
      }
      r.dev = v;
      haveDev = true;
    } else if (w === 'onlink') r.onlink = true;
    else if (w === 'encap') {
      const e = parseEncap(c, s, i);
      if (e === undefined) return undefined;
      r.encap = e.words;
      i = e.next - 1;
    } else if (w === 'expires') {
      const v = need(c, s, ++i);
      if (v === undefined) return undefined;
      if (family === 'inet') {
        c.error(s, 'expires is only valid for IPv6', i);
        return undefined;
      }
      family = 'inet6';
      const e = getU(c, s, i, v, UINT32_MAX, 'Invalid expires time %s specified for route');
      if (e === undefined) return undefined;
      r.expires = e;
    } else if (w === 'mtu') {
      if (!u32Metric('mtu', lockable('mtu'), UINT32_MAX, 'Invalid MTU %s specified for route')) return undefined;
    } else if (w === 'hoplimit') {
      const j = need(c, s, ++i) === undefined ? undefined : i;
      if (!u32Metric('hoplimit', j, 255, 'Invalid hoplimit %s specified for route')) return undefined;
    } else if (w === 'advmss') {
      if (!u32Metric('advmss', lockable('advmss'), UINT32_MAX, 'Invalid advmss %s specified for route')) return undefined;
    } else if (w === 'rtt' || w === 'rttvar' || w === 'rto_min') {
      const j = lockable(w);
      if (j === undefined) return undefined;
      const v = word(s, j)!;
      const t = timeRtt(c, s, j, v, w === 'rtt' ? 8 : w === 'rttvar' ? 4 : 1);
      if (t === undefined) {
        c.error(s, w === 'rto_min' ? `Invalid rto_min value ${v} specified for route` : `Invalid ${w} ${v} for route`, j);
        return undefined;
      }
      r.metrics[w] = t;
    } else if (w === 'reordering') {
      if (!u32Metric('reordering', lockable('reordering'), UINT32_MAX, 'Invalid reordering value %s specified for route')) return undefined;
    } else if (w === 'window' || w === 'initcwnd' || w === 'initrwnd') {
      const j = need(c, s, ++i) === undefined ? undefined : i;
      if (!u32Metric(w, j, UINT32_MAX, `Invalid ${w} value %s specified for route`)) return undefined;
    } else if (w === 'cwnd' || w === 'ssthresh') {
      if (!u32Metric(w, lockable(w), UINT32_MAX, `Invalid ${w} value %s specified for route`)) return undefined;
    } else if (w === 'realms') {
      const v = need(c, s, ++i);
      if (v === undefined) return undefined;
      const rl = realmsOf(v);
      if (rl === undefined) {
        c.error(s, `Invalid realms ${v} for route`, i);
        return undefined;
      }
      if (family === 'inet6') {
        c.error(s, 'realms are only valid for IPv4', i);
        return undefined;
      }
      family = 'inet';
      r.realms = rl;
    } else if (w === 'features') {
      const v = need(c, s, ++i);
      if (v === undefined) return undefined;
      if (v === 'ecn') r.featuresEcn = true;
      else c.error(s, `feature ${v} not supported`, i);
    } else if (w === 'quickack' || w === 'fastopen_no_cookie') {
      const j = need(c, s, ++i) === undefined ? undefined : i;
      if (!u32Metric(w, j, 1, `Invalid ${w} value %s specified for route`)) return undefined;
    } else if (w === 'congctl') {
      let v = need(c, s, ++i);
      if (v === undefined) return undefined;
      if (v === 'lock') {
        v = need(c, s, ++i);
        if (v === undefined) return undefined;
        r.congctl = v;
      }
      r.congctl = v;
    } else if (w === 'pref') {
      const v = need(c, s, ++i);
      if (v === undefined) return undefined;
      if (family === 'inet') {
        c.error(s, 'pref is only valid for IPv6', i);
        return undefined;
      }
      family = 'inet6';
      if (v === 'low') r.pref = 3;
      else if (v === 'medium') r.pref = 0;
      else if (v === 'high') r.pref = 1;
      else {
        const p = getU(c, s, i, v, 255, 'Invalid pref value %s specified for route');
        if (p === undefined) return undefined;
        r.pref = p;
      }
    } else if (w === 'ttl-propagate') {
      const v = need(c, s, ++i);
      if (v === undefined) return undefined;
      if (v === 'enabled') r.ttlPropagate = true;
      else if (v === 'disabled') r.ttlPropagate = false;
      else c.error(s, `ttl-propagate value ${v} not recognised`, i);
    } else if (w === 'add') r.mode = 'add';
    else if (w === 'prepend') r.mode = 'prepend';
    else if (w === 'append') r.mode = 'append';
    else if (w === 'or') {
      // keepalived's old `via A or B`: two next hops
      c.warning(s, '"or" for routes is deprecated. Please use "nexthop"', i, ErrClass.DEPRECATED, 'HC_CONFIG_DEPRECATED');
      if (r.nexthops.length) {
        c.error(s, '"or" route already specified - ignoring subsequent', i);
        i += 2;
        continue;
      }
      r.nexthops.push({ via: r.via, onlink: false });
      r.via = undefined;
      const v = need(c, s, ++i);
      if (v === undefined) return undefined;
      const p = parseIpText(c, s, i, v, false);
      if (!p) {
        c.error(s, `Invalid "or" address ${v}`, i);
        return undefined;
      }
      r.nexthops.push({ via: p.address, onlink: false });
    } else if (w === 'nexthop') {
      if (r.nexthops.length) c.error(s, 'Cannot specify nexthops with "or" route', i);
      else doNexthop = true;
      break;
    } else if (w === 'no_track') r.noTrack = true;
    else if (allowTrackGroup && w === 'track_group') {
      const v = need(c, s, ++i);
      if (v === undefined) return undefined;
      if (r.trackGroup !== undefined) {
        c.error(s, `track_group ${v} is a duplicate`, i);
        break;
      }
      if (!opts.trackGroupExists!(v)) c.error(s, `track_group ${v} not found`, i);
      else r.trackGroup = v;
    } else if (w === 'vrf') {
      const v = need(c, s, ++i);
      if (v === undefined) return undefined;
      // keepalived needs the VRF to exist now, and to be a VRF device
      if (!c.env.interfaceExists(v)) {
        c.error(s, `VRF ${v} not found for route`, i);
        return undefined;
      }
      r.vrf = v;
    } else {
      // [to] [TYPE] PREFIX
      if (w === 'to') i++;
      const t = w === 'to' ? undefined : rtnType(w);
      if (t !== undefined) {
        r.type = t;
        i++;
      }
      const v = need(c, s, i);
      if (v === undefined) return undefined;
      dest = v;
      const p = parseRoutePrefix(c, s, i, v);
      if (!p) {
        c.error(s, `unknown route keyword ${v}`, i);
        return undefined;
      }
      // `default` has no family of its own: after src/via it is a family mismatch
      if (p.familyKnown ? !setFamily(p.prefix.family) : family !== undefined) return mix(i, ` (${v})`);
      r.dst = p.prefix;
      haveDst = true;
    }
    i++;
  }

  if (doNexthop) {
    if (!parseNexthops(c, s, i, r, setFamily, () => family)) return undefined;
  } else if (i < n) {
    c.error(s, `Route has trailing nonsense - ${word(s, i)}`, i);
    return undefined;
  }

  if (!haveDst) {
    c.error(s, 'Route must have a destination');
    return undefined;
  }

  if (!r.noTrack) {
    if (r.protocol !== undefined && r.protocol !== RTPROT_KEEPALIVED)
      c.error(s, `Route cannot be tracked if protocol is not RTPROT_KEEPALIVED(${RTPROT_KEEPALIVED}), resetting protocol`);
    r.protocol = RTPROT_KEEPALIVED;
    if (!haveDev) {
      // keepalived 2.2.7 tracks a route through its interface only (later versions dropped this warning)
      c.warning(s, `Warning - cannot track route ${dest} with no interface specified, not tracking`);
      r.noTrack = true;
    }
  }
  if (r.trackGroup !== undefined && !haveDev) {
    c.error(s, 'Static route cannot have track group if no oif specified');
    r.trackGroup = undefined;
  }

  r.family = family ?? 'inet';
  if (!r.dst.address) r.dst.family = r.family;
  if (r.from && !r.from.address) r.from.family = r.family;
  return r;
}

/**
 * keepalived parse_nexthops: `nexthop [via [inet|inet6] IP] [dev IF] [weight N] [onlink]
 * [realms R] [encap …]`…; false only when a word is missing (keepalived stops there).
 */
function parseNexthops(c: Ctx, s: Stmt, i: number, r: Route, setFamily: (f: Family) => boolean, family: () => Family | undefined): boolean {
  const n = size(s);
  while (i < n && word(s, i) === 'nexthop') {
    i++;
    const nh: Nexthop = { onlink: false };
    let ok = true;
    inner: while (i < n) {
      const w = word(s, i)!;
      if (w === 'via') {
        let v = need(c, s, ++i);
        if (v === undefined) return false;
        if (v === 'inet' || v === 'inet6') {
          if (!setFamily(v)) {
            c.error(s, 'IPv4/6 mismatch for nexthop', i);
            ok = false;
            break;
          }
          v = need(c, s, ++i);
          if (v === undefined) return false;
        }
        const p = parseIpText(c, s, i, v, false);
        if (!p) {
          c.error(s, `invalid nexthop address ${v}`, i);
          ok = false;
          break;
        }
        if (family() !== undefined && family() !== p.family) {
          c.error(s, 'Address family mismatch for next hop', i);
          ok = false;
          break;
        }
        setFamily(p.family);
        nh.via = p.address;
      } else if (w === 'dev') {
        const v = need(c, s, ++i);
        if (v === undefined) return false;
        if (!lookupInterface(c, s, i, v)) {
          c.warning(s, `WARNING - interface ${v} for VROUTE nexthop doesn't exist`, i);
          ok = false;
          break;
        }
        nh.dev = v;
      } else if (w === 'weight') {
        const v = need(c, s, ++i);
        if (v === undefined) return false;
        const wt = getU(c, s, i, v, 256, 'Invalid weight %s specified for route');
        if (wt === undefined) {
          ok = false;
          break;
        }
        if (wt === 0) {
          c.error(s, 'Invalid weight 0 specified for route', i);
          ok = false;
          break;
        }
        nh.weight = wt;
      } else if (w === 'onlink') nh.onlink = true;
      else if (w === 'encap') {
        const e = parseEncap(c, s, i);
        if (e === undefined) return false;
        nh.encap = e.words;
        i = e.next - 1;
      } else if (w === 'realms') {
        const v = need(c, s, ++i);
        if (v === undefined) return false;
        const rl = realmsOf(v);
        if (rl === undefined) {
          c.error(s, `Invalid realms ${v} for route`, i);
          ok = false;
          break;
        }
        if (!setFamily('inet')) {
          c.error(s, 'realms are only supported for IPv4', i);
          ok = false;
          break;
        }
        nh.realms = rl;
      } else if (w === 'as') {
        const v = need(c, s, ++i);
        if (v === undefined) return false;
        if (v === 'to') i++;
        c.error(s, "'as [to]' (nat) not supported", i);
        ok = false;
        break;
      } else break inner;
      i++;
    }
    // keepalived keeps the route with the next hops read so far when one is bad
    if (!ok) return true;
    r.nexthops.push(nh);
  }
  if (i < n) c.error(s, `Route has trailing nonsense after nexthops - ${word(s, i)}`, i);
  return true;
}

/**
 * `encap ip|ip6 <KEY> <VALUE>…`, `encap mpls <LABELS>`, `encap ila <LOCATOR>`: the words,
 * and the index after them. Errors inside the encapsulation are reported; the route is kept
 * (as keepalived does). undefined when a required word is missing.
 */
function parseEncap(c: Ctx, s: Stmt, i: number): { words: string[]; next: number } | undefined {
  const start = i;
  const n = size(s);
  if (n <= ++i) {
    c.error(s, 'Missing encap type', start);
    return { words: [], next: i };
  }
  const type = word(s, i++)!;
  if (type === 'ip' || type === 'ip6') {
    const keys = type === 'ip' ? ['id', 'dst', 'src', 'tos', 'ttl', 'flags'] : ['id', 'dst', 'src', 'tc', 'hoplimit', 'flags'];
    let haveDst = false;
    let haveId = false;
    while (i + 1 < n && keys.includes(word(s, i)!)) {
      const k = word(s, i)!;
      const v = word(s, i + 1)!;
      if (k === 'dst' || k === 'src') {
        const p = parseIpText(c, s, i + 1, v, false);
        if (!p) {
          c.error(s, `Invalid encap ${type} ${k} ${v}`, i + 1);
          break;
        }
        if ((p.family === 'inet6') !== (type === 'ip6')) {
          c.error(s, `${p.family === 'inet6' ? 'IPv6' : 'IPv4'} address ${v} not valid for ${type} encapsulation`, i + 1);
          break;
        }
        if (k === 'dst') haveDst = true;
      } else if (k === 'id') {
        const id = strtoul(v, 10);
        if (!id || id.rest !== '' || v.startsWith('-')) {
          c.error(s, `invalid number '${v}'`, i + 1, ErrClass.INVALID_NUMBER, 'HC_CONFIG_NUMBER');
          c.error(s, `encap id ${v} value is invalid`, i + 1);
          break;
        }
        haveId = true;
      } else if (k === 'tos' || k === 'tc') {
        if (lookupName('rt_dsfield', v) === undefined) {
          c.error(s, k === 'tos' ? `dsfield ${v} not valid for ip encapsulation` : `tc value ${k} is invalid for ip6 encapsulation`, i + 1);
          break;
        }
      } else if (k === 'ttl' || k === 'hoplimit') {
        if (getU(c, s, i + 1, v, 255, k === 'ttl' ? 'ttl %s is not valid for ip encapsulation' : `Invalid hoplimit %s specified for ip6 encapsulation`) === undefined) break;
      } else if (getU(c, s, i + 1, v, 65535, `flags %s is not valid for ${type} encapsulation`) === undefined) break;
      i += 2;
    }
    if (!haveDst && !haveId) c.error(s, `address or id missing for ${type} encapsulation`, start);
  } else if (type === 'mpls' || type === 'ila') {
    if (i >= n) c.error(s, type === 'mpls' ? 'missing address for MPLS encapsulation' : 'missing locator for ILA encapsulation', start);
    else i++;
  } else {
    c.error(s, `Unknown encap type - ${type}`, i - 1);
    return { words: [], next: i - 1 };
  }
  const words: string[] = [];
  for (let j = start + 1; j < i; j++) words.push(word(s, j)!);
  return { words, next: i };
}

/**
 * get_time_rtt: `N` in the metric's own unit, or `N[.D]s|sec|secs` / `N[.D]ms|msec|msecs`;
 * result in 1/unitMult ms, clamped to 0.2 – 120 s (keepalived logs the clamp).
 */
function timeRtt(c: Ctx, s: Stmt, j: number, text: string, unitMult: number): number | undefined {
  const t = text.trim();
  let raw = true;
  let num = t;
  let scale = 1;
  const m = /^(.*?)(m?)(s|sec|secs)$/i.exec(t);
  if (/[sS]/.test(t)) {
    if (!m || m[1] === '') return undefined;
    raw = false;
    num = m[1];
    scale = m[2] ? 1 : 1000;
  }
  if (/[eE]/.test(num)) {
    c.note(s, `rtt value exponential form ${text} no longer supported`, j);
    return undefined;
  }
  if (!/^\+?([0-9]+(\.[0-9]*)?|\.[0-9]+)$/.test(num)) {
    c.error(s, `invalid number '${num}'`, j, ErrClass.INVALID_NUMBER, 'HC_CONFIG_NUMBER');
    return undefined;
  }
  let res = Math.round(Number(num) * scale);
  if (!raw) res *= unitMult;
  const minV = 200 * unitMult;
  const maxV = 120000 * unitMult;
  if (res > maxV) {
    c.note(s, `rtt value ${text} exceeds maximum 120s, resetting`, j);
    res = maxV;
  } else if (res < minV) {
    c.note(s, `rtt value ${text} below minimum 200ms, resetting`, j);
    res = minV;
  }
  return res;
}

// ---------------------------------------------------------------------------------------
// Rules

export interface RuleOptions {
  /** static_rules: track_group allowed; the predicate says whether the group was defined before */
  trackGroupExists?: (name: string) => boolean;
}

/** One line of a rule block (keepalived alloc_rule). */
export function parseRuleLine(c: Ctx, s: Stmt, opts: RuleOptions = {}): Rule | undefined {
  const allowTrackGroup = opts.trackGroupExists !== undefined;
  let family: Family | undefined;
  let action: RuleAction | undefined;
  let tableOption = false;
  const r: Partial<Rule> & { loc: Loc; not: boolean; l3mdev: boolean; noTrack: boolean } = { loc: s.loc, not: false, l3mdev: false, noTrack: false };
  let priority: number | undefined;
  const n = size(s);
  let i = 0;
  const setAction = (a: RuleAction, j: number, msg: string): boolean => {
    if (action !== undefined) {
      c.error(s, msg, j);
      return false;
    }
    action = a;
    return true;
  };
  const portRange = (v: string): { start: number; end: number } | undefined => {
    const m = /^\s*\+?(\d+)(?:-\s*\+?(\d+))?/.exec(v);
    if (!m) return undefined;
    const start = Number(m[1]) % 65536;
    return { start, end: m[2] === undefined ? start : Number(m[2]) % 65536 };
  };

  while (i < n) {
    const w = word(s, i)!;
    if (w === 'inet6' || w === 'inet') {
      if (family === undefined) family = w;
      else if (family !== w) {
        c.error(s, `${w} specified for ${w === 'inet6' ? 'IPv4' : 'IPv6'} rule`, i);
        return undefined;
      }
      // as for routes, keepalived 2.2.7 steps over the following word as well
      i++;
    } else if (w === 'from' || w === 'to') {
      const v = need(c, s, ++i);
      if (v === undefined) return undefined;
      const p = parseRoutePrefix(c, s, i, v);
      if (!p) {
        c.error(s, `Invalid rule ${w} address ${v}`, i);
        return undefined;
      }
      // `all` has no family of its own: after an address it is a family mismatch
      if (family === undefined) {
        if (p.familyKnown) family = p.prefix.family;
      } else if (!p.familyKnown || family !== p.prefix.family) {
        c.error(s, 'rule specification has mixed IPv4 and IPv6', i);
        return undefined;
      }
      if (w === 'from') r.from = p.prefix;
      else r.to = p.prefix;
    } else if (w === 'table' || w === 'lookup') {
      const t = needName(c, s, ++i, 'rt_tables', 'Routing table %s not found for rule');
      if (t === undefined) return undefined;
      if (t === 0) {
        c.error(s, 'Table 0 is not valid', i);
        return undefined;
      }
      r.table = t;
      if (!setAction('table', i, 'Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable for rule')) return undefined;
    } else if (w === 'not') r.not = true;
    else if (w === 'preference' || w === 'order' || w === 'priority') {
      const v = need(c, s, ++i);
      if (v === undefined) return undefined;
      const p = readUnsignedBase0(c, s, i, v, UINT32_MAX);
      if (p === undefined) {
        c.error(s, `Invalid rule preference ${w} specified`, i);
        return undefined;
      }
      priority = p;
    } else if (w === 'tos' || w === 'dsfield') {
      const t = needName(c, s, ++i, 'rt_dsfield', 'TOS value %s is invalid');
      if (t === undefined) return undefined;
      r.tos = t;
    } else if (w === 'fwmark') {
      const v = need(c, s, ++i);
      if (v === undefined) return undefined;
      const fm = fwmarkOf(v);
      if (!fm) {
        c.error(s, `Invalid rule fwmark ${v.trimStart()} specified`, i);
        return undefined;
      }
      r.fwmark = fm.mark;
      if (fm.mask !== undefined) r.fwmask = fm.mask;
    } else if (w === 'realms') {
      const v = need(c, s, ++i);
      if (v === undefined) return undefined;
      const rl = realmsOf(v);
      if (rl === undefined) {
        c.error(s, `invalid realms ${v} for rule`, i);
        return undefined;
      }
      r.realms = rl;
      tableOption = true;
      if (family === undefined) family = 'inet';
      else if (family !== 'inet') {
        c.error(s, 'realms is only valid for IPv4', i);
        return undefined;
      }
    } else if (w === 'suppress_prefixlength' || w === 'sup_pl') {
      const v = need(c, s, ++i);
      if (v === undefined) return undefined;
      const p = c.uintOf(s, i, v, 0, 2147483647);
      if (p === undefined) {
        c.error(s, `Invalid suppress_prefixlength ${w} specified`, i);
        return undefined;
      }
      r.suppressPrefixLength = p;
      tableOption = true;
    } else if (w === 'suppress_ifgroup' || w === 'sup_group') {
      const g = needName(c, s, ++i, 'group', 'suppress_group %s is invalid');
      if (g === undefined) return undefined;
      r.suppressIfgroup = g;
      tableOption = true;
    } else if (w === 'dev' || w === 'iif' || w === 'oif') {
      const v = need(c, s, ++i);
      if (v === undefined) return undefined;
      if (!lookupInterface(c, s, i, v)) {
        c.warning(s, `WARNING - interface ${v} for rule doesn't exist`, i);
        return undefined;
      }
      if (w === 'oif') r.oif = v;
      else r.iif = v;
    } else if (w === 'tunnel-id') {
      const v = need(c, s, ++i);
      if (v === undefined) return undefined;
      if (!/^\s*\+?[0-9]+$/.test(v) || BigInt(v.trim()) > 0xffffffffffffffffn) {
        c.error(s, /^\s*-/.test(v) ? `negative number '${v}'` : `invalid number '${v}'`, i, ErrClass.INVALID_NUMBER, 'HC_CONFIG_NUMBER');
        c.error(s, `Invalid tunnel-id ${w} specified`, i);
        return undefined;
      }
      r.tunnelId = BigInt(v.trim()).toString();
    } else if (w === 'uidrange') {
      const v = need(c, s, ++i);
      if (v === undefined) return undefined;
      const m = /^\s*\+?(\d+)-\s*\+?(\d+)/.exec(v);
      if (!m) {
        c.error(s, `Invalid uidrange ${w} specified`, i);
        return undefined;
      }
      r.uidRange = { start: Number(m[1]), end: Number(m[2]) };
    } else if (w === 'l3mdev') {
      r.l3mdev = true;
      if (!setAction('table', i, 'Cannot specify l3mdev with other action')) return undefined;
    } else if (w === 'protocol') {
      const v = need(c, s, ++i);
      if (v === undefined) return undefined;
      const p = c.uintOf(s, i, v, 0, 255);
      if (p === undefined) c.error(s, `Invalid protocol ${v}`, i);
      else r.protocol = p;
    } else if (w === 'ipproto') {
      const v = need(c, s, ++i);
      if (v === undefined) return undefined;
      const p = ipProto(v);
      if (p === undefined) c.error(s, `Invalid ipproto ${v}`, i);
      else r.ipproto = p;
    } else if (w === 'sport' || w === 'dport') {
      const v = need(c, s, ++i);
      if (v === undefined) return undefined;
      const p = portRange(v);
      // keepalived 2.2.7 accepts only START-END here (a single port is reported invalid)
      if (!p || !v.includes('-')) c.error(s, `invalid ${w} range ${v}`, i);
      else r[w] = p;
    } else if (w === 'no_track') r.noTrack = true;
    else if (allowTrackGroup && w === 'track_group') {
      const v = need(c, s, ++i);
      if (v === undefined) return undefined;
      if (r.trackGroup !== undefined) {
        c.error(s, `track_group ${v} is a duplicate`, i);
        break;
      }
      if (!opts.trackGroupExists!(v)) c.error(s, `track_group ${v} not found`, i);
      else r.trackGroup = v;
    } else {
      let a = w;
      if (w === 'type') {
        const v = need(c, s, ++i);
        if (v === undefined) return undefined;
        a = v;
      }
      let act: RuleAction;
      if (a === 'goto') {
        const v = need(c, s, ++i);
        if (v === undefined) return undefined;
        const t = c.uintOf(s, i, v, 0, UINT32_MAX);
        if (t === undefined) {
          c.error(s, `Invalid target ${a} specified`, i);
          return undefined;
        }
        r.gotoTarget = t;
        act = 'goto';
      } else if (a === 'nop') act = 'nop';
      else {
        const t = rtnType(a);
        if (t === undefined) {
          c.error(s, `Unknown rule option ${a}`, i);
          return undefined;
        }
        if (t !== 'blackhole' && t !== 'unreachable' && t !== 'prohibit') {
          c.error(s, `Invalid rule action ${a}`, i);
          return undefined;
        }
        act = t;
      }
      if (!setAction(act, i, 'Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable/l3mdev for rule')) return undefined;
    }
    i++;
  }

  if (action === 'goto') {
    if (priority === undefined) {
      c.error(s, `Invalid rule - goto target ${r.gotoTarget} specified without preference`);
      return undefined;
    }
    if (priority >= r.gotoTarget!) {
      c.error(s, `Invalid rule - preference ${priority} >= goto target ${r.gotoTarget}`);
      return undefined;
    }
  }
  if (action === undefined) {
    c.error(s, 'No action specified for rule - ignoring');
    return undefined;
  }
  if (action !== 'table' && tableOption) {
    c.error(s, 'suppressor/realm specified for non table action - skipping');
    return undefined;
  }
  if (r.table !== undefined && r.l3mdev) {
    c.error(s, 'table cannot be specified for l3mdev rules');
    return undefined;
  }
  if (!r.noTrack) {
    if (r.protocol !== undefined && r.protocol !== RTPROT_KEEPALIVED)
      c.error(s, `Rule cannot be tracked if protocol is not RTPROT_KEEPALIVED(${RTPROT_KEEPALIVED}), resetting protocol`);
    r.protocol = RTPROT_KEEPALIVED;
  }
  if (r.trackGroup !== undefined && r.iif === undefined) {
    c.error(s, 'Static rule cannot have track_group if dev/iif not specified');
    r.trackGroup = undefined;
  }
  const fam: Family = family ?? 'inet';
  if (r.from && !r.from.address) r.from.family = fam;
  if (r.to && !r.to.address) r.to.family = fam;
  let priorityGiven = true;
  if (priority === undefined) {
    priority = state(c).nextRulePriority[fam]--;
    priorityGiven = false;
    c.warning(s, `Rule has no preference specified - setting to ${priority}. This is probably not what you want.`);
  }
  return { ...r, family: fam, action, priority, priorityGiven } as Rule;
}

/** `fwmark N[/MASK]` as keepalived reads it (strtoul base 0 each part). */
function fwmarkOf(text: string): { mark: number; mask?: number } | undefined {
  const t = text.trimStart();
  if (t.startsWith('-')) return undefined;
  const a = strtoul(t, 0) ?? { value: 0, rest: t };
  if (a.value > UINT32_MAX) return undefined;
  let mask: number | undefined;
  let rest = a.rest;
  if (rest.startsWith('/')) {
    if (/^[\s-]/.test(rest.slice(1))) return undefined;
    const b = strtoul(rest.slice(1), 0) ?? { value: 0, rest: rest.slice(1) };
    if (b.value > UINT32_MAX) return undefined;
    mask = b.value;
    rest = b.rest;
  }
  if (rest !== '') return undefined;
  return { mark: a.value, mask };
}

/** inet_proto_a2n: a protocol name (as /etc/protocols and iproute2 know it) or number 0-255. */
function ipProto(text: string): number | undefined {
  const known: Record<string, number> = { ip: 0, icmp: 1, igmp: 2, ipip: 4, tcp: 6, egp: 8, pup: 12, udp: 17, idp: 22, tp: 29, dccp: 33, ipv6: 41, rsvp: 46, gre: 47, esp: 50, ah: 51, 'ipv6-icmp': 58, icmpv6: 58, mtp: 92, beetph: 94, encap: 98, pim: 103, comp: 108, sctp: 132, udplite: 136, mpls: 137, raw: 255 };
  if (text in known) return known[text];
  const n = strtoul(text, 0);
  if (!n || n.rest !== '' || text.startsWith('-') || n.value > 255) return undefined;
  return n.value;
}
