// Pure rtnetlink message building and decoding (rtnetlink(7), netlink(7)): keepalived.conf's
// address / route / rule lines (src/config/model/iproute.ts) become RTM_NEW*/RTM_DEL*
// requests the way keepalived 2.2.7 builds them (vrrp_ipaddress.c netlink_ipaddress,
// vrrp_iproute.c netlink_route, vrrp_iprule.c netlink_rule), and RTM_NEWLINK / RTM_NEWADDR
// messages become plain records. No sockets here: src/net/rtnetlink.ts sends what this builds.

import { AttrStream, FlagsNew, rt, type NetlinkMessage } from 'netlink';
import { getSystemErrorMap } from 'node:util';
import type { Family, IpAddress, IpPrefix, Nexthop, Route, RouteMetric, Rule } from '../config/model/iproute.js';
import { RTPROT_KEEPALIVED } from '../config/model/iproute.js';
import { familyOf, formatAddress, parseAddress } from '../vrrp/addr.js';

// ---------------------------------------------------------------------------------------
// Constants (linux/rtnetlink.h, linux/if_addr.h, linux/fib_rules.h, linux/if.h)

export const AF_INET = 2;
export const AF_INET6 = 10;

/** nlmsg_type values (linux/rtnetlink.h) */
export const RTM = {
  NEWLINK: 16,
  DELLINK: 17,
  GETLINK: 18,
  NEWADDR: 20,
  DELADDR: 21,
  GETADDR: 22,
  NEWROUTE: 24,
  DELROUTE: 25,
  NEWRULE: 32,
  DELRULE: 33,
} as const;

/** NLMSG_ERROR: the kernel's ack (error 0) or failure (-errno) */
export const NLMSG_ERROR = 2;
/** NLM_F_APPEND (linux/netlink.h), absent from the package's FlagsNew typing in some versions */
const NLM_F_APPEND = 0x800;

/** ifaddrmsg.ifa_flags / IFA_FLAGS bits (linux/if_addr.h) */
export const IFA_F = {
  SECONDARY: 0x01,
  NODAD: 0x02,
  HOMEADDRESS: 0x10,
  MANAGETEMPADDR: 0x100,
  NOPREFIXROUTE: 0x200,
  MCAUTOJOIN: 0x400,
} as const;

/** IFA_* attribute types */
const IFA_PROTO = 11;
/** RTA_* attribute types (linux/rtnetlink.h) */
const RTA = { DST: 1, SRC: 2, OIF: 4, GATEWAY: 5, PRIORITY: 6, PREFSRC: 7, METRICS: 8, MULTIPATH: 9, FLOW: 11, TABLE: 15, VIA: 18, PREF: 20, EXPIRES: 23, TTL_PROPAGATE: 26 } as const;
/** RTAX_* route metrics (nested in RTA_METRICS) */
const RTAX: Record<RouteMetric, number> = {
  mtu: 2,
  window: 3,
  rtt: 4,
  rttvar: 5,
  ssthresh: 6,
  cwnd: 7,
  advmss: 8,
  reordering: 9,
  hoplimit: 10,
  initcwnd: 11,
  rto_min: 13,
  initrwnd: 14,
  quickack: 15,
  fastopen_no_cookie: 17,
};
const RTAX_LOCK = 1;
const RTAX_FEATURES = 12;
const RTAX_CC_ALGO = 16;
const RTAX_FEATURE_ECN = 1;
/** rtm_flags / rtnh_flags: gateway is on link even if no prefix says so */
const RTNH_F_ONLINK = 4;

/** FRA_* attribute types (linux/fib_rules.h) */
const FRA = {
  DST: 1,
  SRC: 2,
  IIFNAME: 3,
  GOTO: 4,
  PRIORITY: 6,
  FWMARK: 10,
  FLOW: 11,
  TUN_ID: 12,
  SUPPRESS_IFGROUP: 13,
  SUPPRESS_PREFIXLEN: 14,
  TABLE: 15,
  FWMASK: 16,
  OIFNAME: 17,
  L3MDEV: 19,
  UID_RANGE: 20,
  PROTOCOL: 21,
  IP_PROTO: 22,
  SPORT_RANGE: 23,
  DPORT_RANGE: 24,
} as const;
/** fib_rule_hdr.action (FR_ACT_*) */
const FR_ACT: Record<Rule['action'], number> = { table: 1, goto: 2, nop: 3, blackhole: 6, unreachable: 7, prohibit: 8 };
/** fib_rule_hdr.flags: `not` */
const FIB_RULE_INVERT = 2;

/** RTN_* route types (rtm_type) */
const RTN: Record<string, number> = {
  unicast: 1,
  local: 2,
  broadcast: 3,
  anycast: 4,
  multicast: 5,
  blackhole: 6,
  unreachable: 7,
  prohibit: 8,
  throw: 9,
  nat: 10,
  xresolve: 11,
};

export const RT_TABLE_UNSPEC = 0;
export const RT_TABLE_MAIN = 254;
export const RT_SCOPE_NOWHERE = 255;
/** IFA_CACHEINFO lifetime meaning "forever" (seconds) */
export const INFINITY_LIFE_TIME = 0xffffffff;

// ---------------------------------------------------------------------------------------
// Errors

/** errno values this module synthesizes itself (the kernel reports the rest) */
export const ERRNO = { ENOENT: 2, ESRCH: 3, ENODEV: 19, EINVAL: 22, EOPNOTSUPP: 95, ETIMEDOUT: 110, EEXIST: 17, EADDRNOTAVAIL: 99, EBADF: 9 } as const;

const errnoMap = getSystemErrorMap();

/** errno (positive, as in errno.h) → [name, description], e.g. 17 → ['EEXIST', 'file already exists'] */
export function errnoName(errno: number): { code: string; text: string } {
  const e = errnoMap.get(-Math.abs(errno));
  return e ? { code: e[0], text: e[1] } : { code: `E${errno}`, text: `errno ${errno}` };
}

/**
 * A request the kernel (or this adapter, before asking it) refused. `code` is the errno
 * name (EEXIST, ENODEV, …), `errno` its positive number, `op` what was asked.
 */
export class RtnetlinkError extends Error {
  readonly code: string;
  constructor(
    readonly op: string,
    readonly errno: number,
    detail?: string,
  ) {
    const { code, text } = errnoName(errno);
    super(`rtnetlink ${op}: ${code} (${detail ?? text})`);
    this.name = 'RtnetlinkError';
    this.code = code;
  }
}

/** `add` result: the kernel created it, or it was already there (EEXIST) */
export type AddResult = 'added' | 'exists';
/** `del` result: the kernel removed it, or there was nothing to remove */
export type DelResult = 'deleted' | 'absent';

/**
 * The errnos the kernel gives when deleting something absent: EADDRNOTAVAIL (address),
 * ESRCH (route), ENOENT (rule). keepalived treats these as done.
 */
export function isAbsentErrno(errno: number): boolean {
  return errno === ERRNO.EADDRNOTAVAIL || errno === ERRNO.ESRCH || errno === ERRNO.ENOENT;
}

/** The errno of an NLMSG_ERROR message: 0 for an ack, a positive errno for a failure. */
export function ackErrno(m: NetlinkMessage): number {
  if (m.data.length < 4) return ERRNO.EINVAL;
  return -m.data.readInt32LE(0);
}

// ---------------------------------------------------------------------------------------
// Requests

/** One request ready to send: nlmsg_type, NLM_F_* flags besides REQUEST|ACK, payload. */
export interface Request {
  type: number;
  flags: number;
  body: Uint8Array[];
  /** a human description for errors, e.g. `add address 10.0.0.1/24 dev eth0` */
  what: string;
}

function afOf(f: Family): number {
  return f === 'inet' ? AF_INET : AF_INET6;
}

function bytes(addr: string, family: Family, what: string): Buffer {
  try {
    return parseAddress(addr, family);
  } catch {
    throw new RtnetlinkError(what, ERRNO.EINVAL, `invalid ${family === 'inet' ? 'IPv4' : 'IPv6'} address ${addr}`);
  }
}

function u8(n: number): Buffer {
  return Buffer.from([n & 0xff]);
}
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

/** One netlink attribute (struct nlattr), padded to NLA_ALIGNTO (4). */
function tlv(type: number, payload: Buffer): Buffer {
  const len = 4 + payload.length;
  const b = Buffer.alloc((len + 3) & ~3);
  b.writeUInt16LE(len, 0);
  b.writeUInt16LE(type, 2);
  payload.copy(b, 4);
  return b;
}

function prefixText(p: IpPrefix | undefined): string {
  return p?.address ? `${p.address}/${p.prefixLen}` : 'default';
}

/** `ip address` flags keepalived sets from the line (vrrp_ipaddress.c alloc_ipaddress). */
export function addressFlags(a: IpAddress): number {
  let f = 0;
  if (a.home) f |= IFA_F.HOMEADDRESS;
  if (a.mngtmpaddr) f |= IFA_F.MANAGETEMPADDR;
  if (a.noprefixroute) f |= IFA_F.NOPREFIXROUTE;
  if (a.autojoin) f |= IFA_F.MCAUTOJOIN;
  // keepalived adds IPv6 VIPs with IFA_F_NODAD unless the line says `-nodad` (the model's
  // `nodad` field): VRRP is the address's duplicate detection, and a VIP that failed DAD
  // during a split brain would stay unusable.
  if (a.family === 'inet6' && !a.nodad) f |= IFA_F.NODAD;
  return f;
}

/**
 * RTM_NEWADDR / RTM_DELADDR for one address line on interface `ifindex`.
 * `proto` is IFA_PROTO (Linux ≥ 5.18), sent on add only when given.
 */
export function addressRequest(op: 'add' | 'del', a: IpAddress, ifindex: number, ifname: string, proto?: number): Request {
  const what = `${op} address ${a.address}/${a.prefixLen} dev ${ifname}`;
  const family = a.family;
  const max = family === 'inet' ? 32 : 128;
  if (!Number.isInteger(a.prefixLen) || a.prefixLen < 0 || a.prefixLen > max) throw new RtnetlinkError(what, ERRNO.EINVAL, `invalid prefix length ${a.prefixLen}`);
  const local = bytes(a.address, family, what);
  const flags = op === 'add' ? addressFlags(a) : 0;
  const data: rt.Address = { family: afOf(family), prefixlen: a.prefixLen, scope: a.scope ?? 0, index: ifindex };
  const attrs: rt.AddressAttrs = { local };
  const extra: [number, Buffer][] = [];
  if (op === 'add') {
    if (a.peer !== undefined) attrs.address = bytes(a.peer, family, what);
    else attrs.address = local;
    if (family === 'inet' && a.broadcast !== undefined && a.broadcast !== '0.0.0.0') attrs.broadcast = bytes(a.broadcast, 'inet', what);
    if (a.label !== undefined) attrs.label = a.label;
    // The header's u8 flags carry the low bits for old kernels; IFA_FLAGS (u32) wins when present.
    if (flags) {
      data.flags = rt.parseAddressFlags(flags & 0xff);
      attrs.flags = rt.parseAddressFlags(flags);
    }
    // RFC 3484 deprecation: a preferred_lft of 0 keeps the VIP from being chosen as a source.
    if (family === 'inet6' && a.preferredLft !== undefined && a.preferredLft !== INFINITY_LIFE_TIME) {
      attrs.cacheInfo = { ifaPrefered: a.preferredLft >>> 0, ifaValid: INFINITY_LIFE_TIME };
    }
    if (proto !== undefined) extra.push([IFA_PROTO, u8(proto)]);
  } else if (family === 'inet') {
    // The kernel matches IFA_ADDRESS (the peer, or the address itself) and the prefix length.
    attrs.address = a.peer !== undefined ? bytes(a.peer, family, what) : local;
  }
  const out = new AttrStream();
  rt.formatAddressMessage({ kind: 'address', data, attrs }, out);
  for (const [t, b] of extra) out.push(t, b);
  return { type: op === 'add' ? RTM.NEWADDR : RTM.DELADDR, flags: op === 'add' ? FlagsNew.CREATE | FlagsNew.EXCL : 0, body: out.bufs, what };
}

/** Interface name → index; throws RtnetlinkError ENODEV for an unknown name. */
export type IfindexOf = (name: string) => number;

/** RTA_GATEWAY for a gateway of the route's family, RTA_VIA (struct rtvia) for another family. */
function gatewayAttr(via: string, family: Family, what: string): Buffer {
  const vf = familyOf(via.split('%')[0] ?? via);
  if (!vf) throw new RtnetlinkError(what, ERRNO.EINVAL, `invalid gateway ${via}`);
  const addr = bytes(via, vf, what);
  if (vf === family) return tlv(RTA.GATEWAY, addr);
  const v = Buffer.alloc(2 + addr.length);
  v.writeUInt16LE(afOf(vf), 0);
  addr.copy(v, 2);
  return tlv(RTA.VIA, v);
}

/** RTA_MULTIPATH payload: struct rtnexthop + its attributes, per nexthop (linux/rtnetlink.h). */
function multipath(nhs: Nexthop[], family: Family, ifindexOf: IfindexOf, what: string): Buffer {
  const parts: Buffer[] = [];
  for (const nh of nhs) {
    if (nh.encap?.length) throw new RtnetlinkError(what, ERRNO.EOPNOTSUPP, 'nexthop encap is not supported');
    const attrs: Buffer[] = [];
    if (nh.via !== undefined) attrs.push(gatewayAttr(nh.via, family, what));
    if (nh.realms) attrs.push(tlv(RTA.FLOW, u32(nh.realms)));
    const head = Buffer.alloc(8);
    const len = 8 + attrs.reduce((n, b) => n + b.length, 0);
    head.writeUInt16LE(len, 0);
    head.writeUInt8(nh.onlink ? RTNH_F_ONLINK : 0, 2);
    // rtnh_hops is weight - 1 (the kernel adds one back)
    head.writeUInt8(nh.weight !== undefined ? (nh.weight - 1) & 0xff : 0, 3);
    head.writeInt32LE(nh.dev !== undefined ? ifindexOf(nh.dev) : 0, 4);
    parts.push(head, ...attrs);
  }
  return Buffer.concat(parts);
}

/** RTA_METRICS payload, or undefined when the line sets none. */
function metrics(r: Route): Buffer | undefined {
  const attrs: Buffer[] = [];
  if (r.congctl !== undefined) attrs.push(tlv(RTAX_CC_ALGO, Buffer.from(`${r.congctl}\0`)));
  for (const [name, v] of Object.entries(r.metrics) as [RouteMetric, number | undefined][]) {
    if (v !== undefined) attrs.push(tlv(RTAX[name], u32(v)));
  }
  if (r.featuresEcn) attrs.push(tlv(RTAX_FEATURES, u32(RTAX_FEATURE_ECN)));
  if (!attrs.length) return undefined;
  let lock = 0;
  for (const m of r.locked) lock |= 1 << RTAX[m];
  if (lock) attrs.push(tlv(RTAX_LOCK, u32(lock)));
  return Buffer.concat(attrs);
}

export function routeText(r: Route): string {
  const parts = [r.type !== 'unicast' ? `${r.type} ` : '', prefixText(r.dst)];
  if (r.via) parts.push(` via ${r.via}`);
  if (r.dev) parts.push(` dev ${r.dev}`);
  if (r.table !== RT_TABLE_MAIN) parts.push(` table ${r.table}`);
  if (r.metric !== undefined) parts.push(` metric ${r.metric}`);
  return parts.join('');
}

/**
 * RTM_NEWROUTE / RTM_DELROUTE for one route line. `table` overrides r.table (a `vrf`
 * route's table, resolved by the caller). Flags follow keepalived: `add` creates
 * exclusively, `prepend` (its default) creates, `append` appends.
 */
export function routeRequest(op: 'add' | 'del', r: Route, ifindexOf: IfindexOf, table = r.table): Request {
  const what = `${op} route ${routeText(r)}`;
  if (r.encap?.length) throw new RtnetlinkError(what, ERRNO.EOPNOTSUPP, 'route encap is not supported');
  const type = RTN[r.type] ?? (/^\d+$/.test(r.type) ? Number(r.type) : undefined);
  if (type === undefined) throw new RtnetlinkError(what, ERRNO.EINVAL, `unknown route type ${r.type}`);
  const family = r.family;
  // struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type (u8 each), flags (u32)
  const hdr = Buffer.alloc(12);
  hdr.writeUInt8(afOf(family), 0);
  hdr.writeUInt8(r.dst.address ? r.dst.prefixLen : 0, 1);
  hdr.writeUInt8(r.from?.address ? r.from.prefixLen : 0, 2);
  hdr.writeUInt8(r.tos ?? 0, 3);
  hdr.writeUInt8(table < 256 ? table : RT_TABLE_UNSPEC, 4);
  // keepalived marks the routes it installs with its own protocol unless the line names one
  hdr.writeUInt8(r.protocol ?? RTPROT_KEEPALIVED, 5);
  // a delete matches any scope unless the line gave one (keepalived: RT_SCOPE_NOWHERE)
  hdr.writeUInt8(op === 'del' && r.scope === 0 ? RT_SCOPE_NOWHERE : r.scope, 6);
  hdr.writeUInt8(type, 7);
  hdr.writeUInt32LE(r.onlink ? RTNH_F_ONLINK : 0, 8);
  const attrs: Buffer[] = [];
  if (table >= 256) attrs.push(tlv(RTA.TABLE, u32(table)));
  if (r.dst.address) attrs.push(tlv(RTA.DST, bytes(r.dst.address, family, what)));
  if (r.from?.address) attrs.push(tlv(RTA.SRC, bytes(r.from.address, family, what)));
  if (r.src !== undefined) attrs.push(tlv(RTA.PREFSRC, bytes(r.src, family, what)));
  if (r.via !== undefined) attrs.push(gatewayAttr(r.via, family, what));
  if (r.dev !== undefined) attrs.push(tlv(RTA.OIF, u32(ifindexOf(r.dev))));
  if (r.metric !== undefined) attrs.push(tlv(RTA.PRIORITY, u32(r.metric)));
  if (r.realms) attrs.push(tlv(RTA.FLOW, u32(r.realms)));
  if (r.expires !== undefined) attrs.push(tlv(RTA.EXPIRES, u32(r.expires)));
  const m = metrics(r);
  if (m) attrs.push(tlv(RTA.METRICS, m));
  if (r.pref !== undefined) attrs.push(tlv(RTA.PREF, u8(r.pref)));
  if (r.ttlPropagate !== undefined) attrs.push(tlv(RTA.TTL_PROPAGATE, u8(r.ttlPropagate ? 1 : 0)));
  if (r.nexthops.length) attrs.push(tlv(RTA.MULTIPATH, multipath(r.nexthops, family, ifindexOf, what)));
  let flags = 0;
  if (op === 'add') {
    flags = FlagsNew.CREATE;
    if (r.mode === 'add') flags |= FlagsNew.EXCL;
    else if (r.mode === 'append') flags |= NLM_F_APPEND;
  }
  return { type: op === 'add' ? RTM.NEWROUTE : RTM.DELROUTE, flags, body: [hdr, ...attrs], what };
}

export function ruleText(r: Rule): string {
  const parts = [`${r.not ? 'not ' : ''}from ${r.from?.address ? prefixText(r.from) : 'all'}`];
  if (r.to?.address) parts.push(` to ${prefixText(r.to)}`);
  if (r.fwmark !== undefined) parts.push(` fwmark ${r.fwmark}${r.fwmask !== undefined ? `/${r.fwmask}` : ''}`);
  if (r.iif) parts.push(` iif ${r.iif}`);
  if (r.oif) parts.push(` oif ${r.oif}`);
  parts.push(r.action === 'table' ? ` lookup ${r.table ?? RT_TABLE_MAIN}` : r.action === 'goto' ? ` goto ${r.gotoTarget}` : ` ${r.action}`);
  parts.push(` priority ${r.priority}`);
  return parts.join('');
}

/** RTM_NEWRULE / RTM_DELRULE for one rule line (keepalived netlink_rule). */
export function ruleRequest(op: 'add' | 'del', r: Rule): Request {
  const what = `${op} rule ${ruleText(r)}`;
  const family = r.family;
  const hdr = Buffer.alloc(12); // struct fib_rule_hdr
  hdr.writeUInt8(afOf(family), 0);
  hdr.writeUInt8(r.to?.address ? r.to.prefixLen : 0, 1);
  hdr.writeUInt8(r.from?.address ? r.from.prefixLen : 0, 2);
  hdr.writeUInt8(r.tos ?? 0, 3);
  const attrs: Buffer[] = [];
  if (r.action === 'table' && !r.l3mdev) {
    const table = r.table ?? RT_TABLE_MAIN;
    if (table < 256) hdr.writeUInt8(table, 4);
    else attrs.push(tlv(FRA.TABLE, u32(table)));
  }
  // fib_rule_hdr: family, dst_len, src_len, tos, table, res1, res2, action (u8 each), flags (u32)
  hdr.writeUInt8(FR_ACT[r.action], 7);
  hdr.writeUInt32LE(r.not ? FIB_RULE_INVERT : 0, 8);
  if (r.from?.address) attrs.push(tlv(FRA.SRC, bytes(r.from.address, family, what)));
  if (r.to?.address) attrs.push(tlv(FRA.DST, bytes(r.to.address, family, what)));
  attrs.push(tlv(FRA.PRIORITY, u32(r.priority)));
  if (r.fwmark !== undefined) attrs.push(tlv(FRA.FWMARK, u32(r.fwmark)));
  if (r.fwmask !== undefined) attrs.push(tlv(FRA.FWMASK, u32(r.fwmask)));
  if (r.realms) attrs.push(tlv(FRA.FLOW, u32(r.realms)));
  if (r.suppressPrefixLength !== undefined) attrs.push(tlv(FRA.SUPPRESS_PREFIXLEN, u32(r.suppressPrefixLength)));
  if (r.suppressIfgroup !== undefined) attrs.push(tlv(FRA.SUPPRESS_IFGROUP, u32(r.suppressIfgroup)));
  if (r.iif !== undefined) attrs.push(tlv(FRA.IIFNAME, Buffer.from(`${r.iif}\0`)));
  if (r.oif !== undefined) attrs.push(tlv(FRA.OIFNAME, Buffer.from(`${r.oif}\0`)));
  if (r.tunnelId !== undefined) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(r.tunnelId)); // FRA_TUN_ID is big endian (__be64)
    attrs.push(tlv(FRA.TUN_ID, b));
  }
  if (r.uidRange) {
    const b = Buffer.alloc(8);
    b.writeUInt32LE(r.uidRange.start >>> 0, 0);
    b.writeUInt32LE(r.uidRange.end >>> 0, 4);
    attrs.push(tlv(FRA.UID_RANGE, b));
  }
  if (r.l3mdev) attrs.push(tlv(FRA.L3MDEV, u8(1)));
  if (r.protocol !== undefined) attrs.push(tlv(FRA.PROTOCOL, u8(r.protocol)));
  if (r.ipproto !== undefined) attrs.push(tlv(FRA.IP_PROTO, u8(r.ipproto)));
  for (const [key, t] of [['sport', FRA.SPORT_RANGE], ['dport', FRA.DPORT_RANGE]] as const) {
    const range = r[key];
    if (!range) continue;
    const b = Buffer.alloc(4);
    b.writeUInt16LE(range.start & 0xffff, 0);
    b.writeUInt16LE(range.end & 0xffff, 2);
    attrs.push(tlv(t, b));
  }
  if (r.action === 'goto' && r.gotoTarget !== undefined) attrs.push(tlv(FRA.GOTO, u32(r.gotoTarget)));
  return { type: op === 'add' ? RTM.NEWRULE : RTM.DELRULE, flags: op === 'add' ? FlagsNew.CREATE | FlagsNew.EXCL : 0, body: [hdr, ...attrs], what };
}

// ---------------------------------------------------------------------------------------
// Decoding

/** RFC 2863 ifOperStatus as the kernel reports it (IFLA_OPERSTATE) */
const OPER_STATES = ['unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up'];

export interface LinkInfo {
  index: number;
  name: string;
  /** hardware address, `aa:bb:cc:dd:ee:ff`; undefined for links without one */
  mac?: string;
  /** IFF_UP: administratively up */
  up: boolean;
  /** IFF_RUNNING: operationally up (carrier and oper state up) */
  running: boolean;
  /** IFLA_OPERSTATE as its RFC 2863 name */
  operState: string;
  mtu: number;
}

export interface LinkEvent extends LinkInfo {
  /** RTM_DELLINK: the interface is gone */
  deleted: boolean;
}

export function decodeLink(m: rt.LinkMessage): LinkInfo {
  const f = m.data.flags ?? {};
  const mac = m.attrs.address && m.attrs.address.length > 0 ? [...m.attrs.address].map((b) => b.toString(16).padStart(2, '0')).join(':') : undefined;
  return {
    index: m.data.index ?? 0,
    name: m.attrs.ifname ?? '',
    mac,
    up: f.up === true,
    running: f.running === true,
    operState: OPER_STATES[m.attrs.operstate ?? 0] ?? String(m.attrs.operstate),
    mtu: m.attrs.mtu ?? 0,
  };
}

export interface AddressInfo {
  ifindex: number;
  family: Family;
  /** the interface's own address (IFA_LOCAL, or IFA_ADDRESS when there is no IFA_LOCAL) */
  address: string;
  prefixLen: number;
  /** the other end of a point-to-point address (IFA_ADDRESS differing from IFA_LOCAL) */
  peer?: string;
  broadcast?: string;
  label?: string;
  /** numeric scope: 0 global, 200 site, 253 link, 254 host */
  scope: number;
  /** IFA_F_* bits (IFA_FLAGS when present, else ifa_flags) */
  flags: number;
  secondary: boolean;
  /** IFA_F_TENTATIVE: IPv6 DAD still running */
  tentative: boolean;
  /** IFA_CACHEINFO preferred lifetime, seconds (0xffffffff forever) */
  preferredLft?: number;
}

export interface AddressEvent extends AddressInfo {
  /** RTM_DELADDR: the address was removed */
  deleted: boolean;
}

export function decodeAddress(m: rt.AddressMessage): AddressInfo | undefined {
  const fam = m.data.family === AF_INET ? 'inet' : m.data.family === AF_INET6 ? 'inet6' : undefined;
  if (!fam) return undefined;
  const local = m.attrs.local ?? m.attrs.address;
  if (!local || (local.length !== 4 && local.length !== 16)) return undefined;
  const flags = m.attrs.flags !== undefined ? rt.formatAddressFlags(m.attrs.flags) : rt.formatAddressFlags(m.data.flags ?? {});
  const out: AddressInfo = {
    ifindex: m.data.index ?? 0,
    family: fam,
    address: formatAddress(local),
    prefixLen: m.data.prefixlen ?? 0,
    scope: m.data.scope ?? 0,
    flags,
    secondary: (flags & IFA_F.SECONDARY) !== 0,
    tentative: (flags & 0x40) !== 0,
  };
  if (m.attrs.local && m.attrs.address && !m.attrs.local.equals(m.attrs.address)) out.peer = formatAddress(m.attrs.address);
  if (m.attrs.broadcast && m.attrs.broadcast.length === 4) out.broadcast = formatAddress(m.attrs.broadcast);
  if (m.attrs.label !== undefined) out.label = m.attrs.label;
  if (m.attrs.cacheInfo?.ifaPrefered !== undefined) out.preferredLft = m.attrs.cacheInfo.ifaPrefered;
  return out;
}

/** IFLA_LINKINFO → IFLA_INFO_KIND, and for a VRF its IFLA_VRF_TABLE. */
export function decodeLinkKind(linkinfo: Buffer | undefined): { kind?: string; vrfTable?: number } {
  const out: { kind?: string; vrfTable?: number } = {};
  if (!linkinfo) return out;
  const walk = (buf: Buffer, fn: (type: number, payload: Buffer) => void): void => {
    let off = 0;
    while (off + 4 <= buf.length) {
      const len = buf.readUInt16LE(off);
      const type = buf.readUInt16LE(off + 2) & 0x3fff;
      if (len < 4 || off + len > buf.length) break;
      fn(type, buf.subarray(off + 4, off + len));
      off += (len + 3) & ~3;
    }
  };
  let data: Buffer | undefined;
  walk(linkinfo, (t, p) => {
    if (t === 1) out.kind = p.toString('utf8').replace(/\0.*$/s, '');
    else if (t === 2) data = p;
  });
  if (out.kind === 'vrf' && data) walk(data, (t, p) => {
    if (t === 1 && p.length >= 4) out.vrfTable = p.readUInt32LE(0);
  });
  return out;
}
