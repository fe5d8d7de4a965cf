// The IPVS table model (what the kernel holds, as `ipvsadm -S -n` shows it),
// the operations that change it, and the configuration input that the config
// layer hands over for each keepalived `virtual_server` block.

import { formatHostPort } from './addr.js';

export type Family = 'inet' | 'inet6';
export type Protocol = 'tcp' | 'udp' | 'sctp';

/**
 * Packet-forwarding method of a destination (ipvsadm(8) "packet-forwarding-method"):
 * masq = -m (keepalived NAT), gatewaying = -g (DR), ipip = -i (TUN).
 */
export type Forwarding = 'masq' | 'gatewaying' | 'ipip';

/** Tunnel encapsulation for ipip forwarding (ipvsadm --tun-type; keepalived `lvs_method TUN type ...`). */
export type TunnelType = 'ipip' | 'gue' | 'gre';
/** Tunnel checksum mode (ipvsadm --tun-nocsum/--tun-csum/--tun-remcsum; keepalived `nocsum|csum|remcsum`). */
export type TunnelCsum = 'nocsum' | 'csum' | 'remcsum';

export interface Tunnel {
  type: TunnelType;
  /** UDP destination port of the GUE encapsulation; 0 unless type is gue. */
  port: number;
  csum: TunnelCsum;
}

/** A virtual service is keyed by protocol+address+port, or by firewall mark, within an address family. */
export type ServiceKey =
  | { kind: 'addr'; family: Family; protocol: Protocol; addr: string; port: number }
  | { kind: 'fwmark'; family: Family; fwmark: number };

/**
 * Scheduler flag bits, values of IP_VS_SVC_F_SCHED1..3 in linux/ip_vs.h.
 * ipvsadm names them per scheduler: for sh, flag-1 = sh-fallback and
 * flag-2 = sh-port; for mh, flag-1 = mh-fallback and flag-2 = mh-port
 * (ipvsadm(8) -b; keepalived check_parser.c lbflags_handler).
 */
export const SCHED_FLAG_1 = 0x0008;
export const SCHED_FLAG_2 = 0x0010;
export const SCHED_FLAG_3 = 0x0020;
export const SCHED_FLAGS_MASK = SCHED_FLAG_1 | SCHED_FLAG_2 | SCHED_FLAG_3;

/** Default persistence timeout in seconds: ipvsadm 1.31 `-p` without a value and keepalived IPVS_SVC_PERSISTENT_TIMEOUT (360 s). */
export const DEFAULT_PERSISTENCE_TIMEOUT = 360;

/** Largest IPVS destination weight (ipvsadm(8) -w; keepalived IPVS_WEIGHT_MAX = INT32_MAX). */
export const IPVS_WEIGHT_MAX = 2147483647;

/** The service-level attributes of a virtual service (everything `-A`/`-E` sets). */
export interface ServiceAttrs {
  key: ServiceKey;
  /** Scheduler module name (ipvsadm -s; keepalived lb_algo / lvs_sched). */
  scheduler: string;
  /** Bitmask of SCHED_FLAG_1..3 (ipvsadm -b). */
  schedFlags: number;
  /** Persistence timeout in seconds (ipvsadm -p); 0 = not persistent. */
  persistenceTimeout: number;
  /**
   * Persistence granularity (ipvsadm -M): a dotted netmask for IPv4
   * ("255.255.255.255" = per client host) or a prefix length for IPv6
   * ("128"). Always the family default when the service is not persistent,
   * because the kernel ignores it then and ipvsadm does not print it.
   */
  netmask: string;
  /** One-packet scheduling (ipvsadm -o / --ops; keepalived `ops`). */
  ops: boolean;
  /** Persistence engine (ipvsadm --pe; keepalived persistence_engine), "" for none. */
  pe: string;
}

/** A destination (real server) of a virtual service. */
export interface RealServer {
  /** Canonical IP text (IPv6 compressed, as ipvsadm -n prints it). */
  addr: string;
  /** Destination port; 0 for DR/TUN destinations of fwmark services. */
  port: number;
  forwarding: Forwarding;
  /** Only meaningful when forwarding is ipip; defaults {ipip, 0, nocsum}. */
  tunnel: Tunnel;
  /** 0..IPVS_WEIGHT_MAX; 0 = quiescent (no new connections). */
  weight: number;
  /** Upper connection threshold (ipvsadm -x), 0..65535, 0 = unset. */
  uThreshold: number;
  /** Lower connection threshold (ipvsadm -y), 0..65535, 0 = unset. */
  lThreshold: number;
}

export interface VirtualService extends ServiceAttrs {
  /** Destinations keyed by realServerKey() ("10.0.1.2:80", "[2001:db8::2]:80"). */
  realServers: Map<string, RealServer>;
}

/** The whole IPVS table, keyed by serviceKeyString(). */
export type Table = Map<string, VirtualService>;

/** A change to the IPVS table; ipvsadm.ts turns each into one ipvsadm command line. */
export type Op =
  | { kind: 'add-service'; service: ServiceAttrs }
  | { kind: 'edit-service'; service: ServiceAttrs }
  | { kind: 'delete-service'; key: ServiceKey }
  | { kind: 'add-server'; key: ServiceKey; server: RealServer }
  | { kind: 'edit-server'; key: ServiceKey; server: RealServer }
  | { kind: 'delete-server'; key: ServiceKey; server: Pick<RealServer, 'addr' | 'port'> };

export const DEFAULT_TUNNEL: Tunnel = Object.freeze({ type: 'ipip', port: 0, csum: 'nocsum' }) as Tunnel;

/** Default persistence granularity for a family: a single host. */
export function defaultNetmask(family: Family): string {
  return family === 'inet6' ? '128' : '255.255.255.255';
}

/** Stable text key of a service: "tcp 10.0.0.1:80", "udp [2001:db8::1]:53", "fwmark 1 inet". */
export function serviceKeyString(key: ServiceKey): string {
  return key.kind === 'fwmark'
    ? `fwmark ${key.fwmark} ${key.family}`
    : `${key.protocol} ${formatHostPort(key.addr, key.port)}`;
}

/** Stable text key of a destination within its service: "10.0.1.2:80". */
export function realServerKey(rs: Pick<RealServer, 'addr' | 'port'>): string {
  return formatHostPort(rs.addr, rs.port);
}

export function serviceKeyEqual(a: ServiceKey, b: ServiceKey): boolean {
  return serviceKeyString(a) === serviceKeyString(b);
}

/* ------------------------------------------------------------------------ *
 * Configuration input: one VirtualServerSpec per keepalived virtual_server. *
 * Field comments give the keepalived keyword each field comes from.        *
 * Optional fields take keepalived's defaults (check_data.c alloc_vs,        *
 * alloc_rs, validate_check_config).                                         *
 * ------------------------------------------------------------------------ */

/** keepalived `lvs_method` / `lb_kind` value. */
export type LvsMethod = 'NAT' | 'DR' | 'TUN';

/** Tunnel options after `lvs_method TUN` (`type ipip|gue|gre`, `port N`, `nocsum|csum|remcsum`). */
export interface TunnelSpec {
  type?: TunnelType;
  port?: number;
  csum?: TunnelCsum;
}

/** An entry of a `virtual_server_group` block. */
export type VirtualServerGroupEntry =
  /**
   * `IP[-END] PORT`: an address or a range whose END is the last IPv4 octet
   * or last IPv6 16-bit group (10.0.0.1-10 80). The config layer resolves
   * other range forms (IP/mask, IP-IP) to consecutive entries or to this form.
   */
  | { kind: 'range'; ip: string; rangeEnd?: number; port: number }
  /** `fwmark N [inet|inet6]`. */
  | { kind: 'fwmark'; fwmark: number; family?: Family };

/** What the `virtual_server` line names. */
export type VirtualServerTarget =
  /** `virtual_server IP PORT` */
  | { kind: 'ip'; ip: string; port: number }
  /** `virtual_server fwmark N` (family from `ip_family` or the real servers, else inet). */
  | { kind: 'fwmark'; fwmark: number }
  /** `virtual_server group NAME`, with the group's entries resolved by the config layer. */
  | { kind: 'group'; name: string; entries: VirtualServerGroupEntry[] };

export interface RealServerSpec {
  /** `real_server IP [PORT]`; port 0/absent = the virtual service's port (NAT) or forced by the method. */
  ip: string;
  port?: number;
  /** `weight` (0..2147483647); default: the virtual_server's `weight`, itself default 1. */
  weight?: number;
  /** `lvs_method` / `lb_kind` override for this real server. */
  lvsMethod?: LvsMethod;
  tunnel?: TunnelSpec;
  /** `uthreshold` (0..65535). */
  uthreshold?: number;
  /** `lthreshold` (0..65535). */
  lthreshold?: number;
  /** `inhibit_on_failure` override: keep at weight 0 instead of removing when down. */
  inhibitOnFailure?: boolean;
  /** `alpha` override: start down until the first successful check. */
  alpha?: boolean;
}

export interface SorryServerSpec {
  /** `sorry_server IP [PORT]` */
  ip: string;
  port?: number;
  /** `sorry_server_lvs_method`; default the virtual_server's method. */
  lvsMethod?: LvsMethod;
  tunnel?: TunnelSpec;
  /** `sorry_server_inhibit`: keep the sorry server in the table at weight 0 while not in use. */
  inhibit?: boolean;
}

export interface VirtualServerSpec {
  /**
   * Identifier unique among all virtual servers; keys the health and quorum
   * maps. Suggested: keepalived's own FMT_VS text ("10.0.0.1:80",
   * "FWM 1", "[web]:0").
   */
  id: string;
  target: VirtualServerTarget;
  /** `protocol TCP|UDP|SCTP`; keepalived defaults to UDP (the kernel's default) and ignores it for fwmarks. */
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  /** `ip_family inet|inet6`: family for fwmark services when the real servers do not decide it. */
  family?: Family;
  /** `lb_algo` / `lvs_sched`; default "wlc" (keepalived IPVS_DEF_SCHED). */
  scheduler?: string;
  /** `lb_kind` / `lvs_method`; default NAT. */
  lvsMethod?: LvsMethod;
  tunnel?: TunnelSpec;
  /** `persistence_timeout` in seconds; absent = not persistent. */
  persistenceTimeout?: number;
  /** `persistence_granularity`: IPv4 dotted netmask or IPv6 prefix length; implies persistence (360 s if no timeout). */
  persistenceGranularity?: string;
  /** `persistence_engine` (e.g. "sip"). */
  persistenceEngine?: string;
  /** `ops`: one-packet scheduling; keepalived clears it unless UDP or fwmark. */
  ops?: boolean;
  /**
   * Scheduler flags: `flag-1`, `flag-2`, `flag-3`, `sh-fallback` (= flag-1),
   * `sh-port` (= flag-2), `mh-fallback` (= flag-1), `mh-port` (= flag-2).
   */
  schedFlags?: SchedFlagName[];
  /** `quorum`: minimum sum of live real-server weights; default 1. */
  quorum?: number;
  /** `hysteresis`: quorum is lost below quorum-hysteresis and regained at quorum+hysteresis; default 0. */
  hysteresis?: number;
  /** `quorum_up` script; run by the notifier, not by this module. */
  quorumUp?: string;
  /** `quorum_down` script; run by the notifier, not by this module. */
  quorumDown?: string;
  /** `alpha`: real servers start down until their first successful check. */
  alpha?: boolean;
  /**
   * `omega`: run quorum_down / notify_down on shutdown. It has no effect on
   * the IPVS table (keepalived ipwrapper.c uses it only for notifications).
   */
  omega?: boolean;
  /** `inhibit_on_failure` default for the real servers. */
  inhibitOnFailure?: boolean;
  /** `weight`: default weight of real servers that set none; default 1. */
  weight?: number;
  sorryServer?: SorryServerSpec;
  realServers: RealServerSpec[];
}

export type SchedFlagName = 'flag-1' | 'flag-2' | 'flag-3' | 'sh-fallback' | 'sh-port' | 'mh-fallback' | 'mh-port';

/** Bit of a scheduler flag name; undefined for an unknown name. */
export function schedFlagBit(name: string): number | undefined {
  switch (name) {
    case 'flag-1':
    case 'sh-fallback':
    case 'mh-fallback':
      return SCHED_FLAG_1;
    case 'flag-2':
    case 'sh-port':
    case 'mh-port':
      return SCHED_FLAG_2;
    case 'flag-3':
      return SCHED_FLAG_3;
    default:
      return undefined;
  }
}
