// Pure computation of the IPVS table hacheck wants, from the configured
// virtual servers and the current health of their real servers. The rules
// follow keepalived's checker (keepalived/check/ipwrapper.c, ipvswrapper.c,
// check_data.c validate_check_config); each rule cites the function it
// mirrors.

import { canonicalIp, expandRange, familyOf, formatHostPort, prefixToNetmask } from './addr.js';
import {
  DEFAULT_PERSISTENCE_TIMEOUT,
  DEFAULT_TUNNEL,
  IPVS_WEIGHT_MAX,
  defaultNetmask,
  realServerKey,
  schedFlagBit,
  serviceKeyString,
} from './types.js';
import type {
  Family,
  Forwarding,
  LvsMethod,
  Protocol,
  RealServer,
  RealServerSpec,
  ServiceAttrs,
  ServiceKey,
  SorryServerSpec,
  Table,
  Tunnel,
  TunnelSpec,
  VirtualServerSpec,
} from './types.js';

/** Health of one real server as the checkers report it. */
export interface RealServerHealth {
  /** All checkers of the real server pass (keepalived ISALIVE(rs)). */
  up: boolean;
  /**
   * Effective weight after dynamic adjustments (misc_dynamic exit codes,
   * track_file weights); absent = the configured weight. Clamped to
   * 0..IPVS_WEIGHT_MAX like keepalived's real_weight() (check_data.h).
   */
  weight?: number;
}

export interface HealthInput {
  /** Keyed by realServerId(). A real server without an entry has not been checked yet. */
  realServers?: ReadonlyMap<string, RealServerHealth>;
  /**
   * Quorum state per VirtualServerSpec.id as last returned by stepQuorum();
   * a virtual server without an entry gets its initial state computed here.
   */
  quorum?: ReadonlyMap<string, boolean>;
}

/** Key of a real server in HealthInput.realServers: "<vs id> <ip:port>", port as configured (0 if absent). */
export function realServerId(vsId: string, rs: Pick<RealServerSpec, 'ip' | 'port'>): string {
  return `${vsId} ${formatHostPort(canonicalIp(rs.ip), rs.port ?? 0)}`;
}

/** keepalived real_weight(): clamp an effective weight into the kernel's range. */
export function realWeight(weight: number): number {
  if (!Number.isFinite(weight) || weight < 0) return 0;
  return Math.min(Math.trunc(weight), IPVS_WEIGHT_MAX);
}

function configuredWeight(spec: VirtualServerSpec, rs: RealServerSpec): number {
  // check_data.c: a real server without `weight` takes the virtual_server `weight` (default 1).
  return rs.weight ?? spec.weight ?? 1;
}

/**
 * Whether a real server counts as alive. Before its first check result it is
 * alive unless alpha is set: with `alpha` keepalived starts every checker as
 * failed and only adds the server after the first success (ipwrapper.c,
 * init_service_rs).
 */
export function isRealServerAlive(spec: VirtualServerSpec, rs: RealServerSpec, health: HealthInput): boolean {
  const h = health.realServers?.get(realServerId(spec.id, rs));
  if (h) return h.up;
  return !(rs.alpha ?? spec.alpha ?? false);
}

function effectiveWeight(spec: VirtualServerSpec, rs: RealServerSpec, health: HealthInput): number {
  const h = health.realServers?.get(realServerId(spec.id, rs));
  return realWeight(h?.weight ?? configuredWeight(spec, rs));
}

/** Sum of the weights of live real servers (ipwrapper.c, weigh_live_realservers). */
export function liveWeightSum(spec: VirtualServerSpec, health: HealthInput): number {
  let sum = 0;
  for (const rs of spec.realServers) {
    if (isRealServerAlive(spec, rs, health)) sum += effectiveWeight(spec, rs, health);
  }
  return sum;
}

/**
 * Quorum and hysteresis after keepalived's configuration checks
 * (check_data.c, validate_check_config): quorum defaults to 1 and is lowered
 * to the total configured weight so it can be reached; hysteresis defaults to
 * 0 and is lowered to quorum-1.
 */
export function effectiveQuorum(spec: VirtualServerSpec): { quorum: number; hysteresis: number } {
  let quorum = spec.quorum ?? 1;
  const total = spec.realServers.reduce((s, rs) => s + configuredWeight(spec, rs), 0);
  if (quorum > total) quorum = total;
  let hysteresis = spec.hysteresis ?? 0;
  if (hysteresis >= quorum) hysteresis = Math.max(quorum - 1, 0);
  return { quorum, hysteresis };
}

export type QuorumTransition = 'gained' | 'lost' | 'init' | null;

/**
 * One step of the quorum state machine (ipwrapper.c set_quorum_states and
 * update_quorum_state):
 *  - initially (prev undefined) the quorum is up when sum >= quorum + hysteresis
 *    and sum > 0;
 *  - while down, it is gained when sum >= quorum + hysteresis;
 *  - while up, it is lost when sum < quorum - hysteresis, or when sum is 0
 *    (no live weight at all, whatever the hysteresis).
 * `transition` is 'init' for the first call, 'gained'/'lost' on a change,
 * null otherwise; the notifier runs quorum_up/quorum_down on changes.
 */
export function stepQuorum(
  prev: boolean | undefined,
  sumWeights: number,
  spec: VirtualServerSpec,
): { up: boolean; transition: QuorumTransition } {
  const { quorum, hysteresis } = effectiveQuorum(spec);
  // At start keepalived sets the state from quorum + hysteresis, then its
  // first update_quorum_state(init) drops it again if no weight is live.
  if (prev === undefined) return { up: sumWeights > 0 && sumWeights >= quorum + hysteresis, transition: 'init' };
  if (!prev) {
    // sum > 0 only matters for a quorum lowered to 0 (all weights 0), where
    // keepalived would regain and lose the quorum on alternate updates.
    return sumWeights > 0 && sumWeights >= quorum + hysteresis
      ? { up: true, transition: 'gained' }
      : { up: false, transition: null };
  }
  if (sumWeights === 0 || sumWeights < quorum - hysteresis) return { up: false, transition: 'lost' };
  return { up: true, transition: null };
}

/** One IPVS service a virtual_server stands for, plus the port DR/TUN destinations must use. */
interface ExpandedService {
  key: ServiceKey;
  /** Port forced on DR/TUN destinations: the service port, or 0 for fwmark services. */
  directPort: number;
}

function protocolOf(spec: VirtualServerSpec): Protocol {
  // check_data.c: "no protocol set - defaulting to UDP" (the kernel's default).
  switch (spec.protocol) {
    case 'TCP':
      return 'tcp';
    case 'SCTP':
      return 'sctp';
    default:
      return 'udp';
  }
}

function forwardingOf(method: LvsMethod | undefined): Forwarding {
  switch (method) {
    case 'DR':
      return 'gatewaying';
    case 'TUN':
      return 'ipip';
    default:
      return 'masq'; // check_data.c: "no forwarding method set, setting default NAT"
  }
}

/**
 * Family of a fwmark virtual server (check_parser.c vs_end_handler): from
 * `ip_family`, else from the first non-tunnelled sorry/real server, else from
 * the tunnelled servers when they agree, else IPv4.
 */
function fwmarkFamily(spec: VirtualServerSpec): Family {
  if (spec.family) return spec.family;
  const servers: Array<{ ip: string; lvsMethod?: LvsMethod }> = [
    ...(spec.sorryServer ? [spec.sorryServer] : []),
    ...spec.realServers,
  ];
  for (const s of servers) {
    if ((s.lvsMethod ?? spec.lvsMethod) !== 'TUN') return familyOf(s.ip) ?? 'inet';
  }
  const families = new Set(servers.map((s) => familyOf(s.ip)));
  if (families.size === 1) return [...families][0] ?? 'inet';
  return 'inet';
}

function expandServices(spec: VirtualServerSpec): ExpandedService[] {
  const t = spec.target;
  const protocol = protocolOf(spec);
  const addrService = (ip: string, port: number): ExpandedService => ({
    key: { kind: 'addr', family: familyOf(ip)!, protocol, addr: ip, port },
    directPort: port,
  });
  switch (t.kind) {
    case 'ip':
      return [addrService(canonicalIp(t.ip), t.port)];
    case 'fwmark':
      return [{ key: { kind: 'fwmark', family: fwmarkFamily(spec), fwmark: t.fwmark }, directPort: 0 }];
    case 'group': {
      // ipvswrapper.c ipvs_group_cmd: every address of every range with the
      // entry's port, then every fwmark entry (family from the entry, else
      // the virtual server, else IPv4).
      const out: ExpandedService[] = [];
      for (const e of t.entries) {
        if (e.kind === 'range') {
          for (const ip of expandRange(e.ip, e.rangeEnd)) out.push(addrService(ip, e.port));
        }
      }
      for (const e of t.entries) {
        if (e.kind === 'fwmark') {
          out.push({
            key: { kind: 'fwmark', family: e.family ?? fwmarkFamily(spec), fwmark: e.fwmark },
            directPort: 0,
          });
        }
      }
      return out;
    }
  }
}

function tunnelOf(forwarding: Forwarding, t: TunnelSpec | undefined): Tunnel {
  if (forwarding !== 'ipip' || !t) return { ...DEFAULT_TUNNEL };
  const type = t.type ?? 'ipip';
  return { type, port: type === 'gue' ? (t.port ?? 0) : 0, csum: type === 'ipip' ? 'nocsum' : (t.csum ?? 'nocsum') };
}

/**
 * Destination port (check_data.c validate_check_config, ipvswrapper.c
 * ipvs_cmd): DR and TUN destinations use the service port (0 for fwmark
 * services); NAT destinations keep their own port, defaulting to the service
 * port for address services.
 */
function destPort(forwarding: Forwarding, port: number | undefined, svc: ExpandedService): number {
  if (forwarding !== 'masq') return svc.directPort;
  return port !== undefined && port !== 0 ? port : svc.directPort;
}

function serviceAttrs(spec: VirtualServerSpec, key: ServiceKey, warn: (m: string) => void): ServiceAttrs {
  const scheduler = spec.scheduler ?? 'wlc'; // ipvswrapper.h IPVS_DEF_SCHED
  let schedFlags = 0;
  for (const name of spec.schedFlags ?? []) {
    const bit = schedFlagBit(name);
    // check_parser.c lbflags_handler: sh-* only with sh, mh-* only with mh.
    const prefix = name.startsWith('sh-') ? 'sh' : name.startsWith('mh-') ? 'mh' : undefined;
    if (bit === undefined || (prefix && prefix !== scheduler)) {
      warn(`virtual server ${spec.id}: scheduler flag ${name} ignored with scheduler ${scheduler}`);
      continue;
    }
    schedFlags |= bit;
  }
  let persistenceTimeout = spec.persistenceTimeout ?? 0;
  // check_parser.c pgr_handler: a granularity without a timeout makes the service persistent.
  if (!persistenceTimeout && spec.persistenceGranularity !== undefined) persistenceTimeout = DEFAULT_PERSISTENCE_TIMEOUT;
  // check_data.c: "zero port only valid for persistent services - setting".
  if (!persistenceTimeout && key.kind === 'addr' && key.port === 0) persistenceTimeout = DEFAULT_PERSISTENCE_TIMEOUT;
  let netmask = defaultNetmask(key.family);
  // ipvswrapper.c ipvs_group_range_cmd / ipvs_group_cmd: keepalived sends the family's
  // default mask for every service of a virtual_server_group, so the keyword has no effect there.
  if (persistenceTimeout && spec.persistenceGranularity !== undefined && spec.target.kind !== 'group') {
    const g = spec.persistenceGranularity.trim().replace(/^\//, '');
    if (key.family === 'inet6') {
      if (/^\d+$/.test(g) && Number(g) >= 1 && Number(g) <= 128) netmask = String(Number(g));
      else warn(`virtual server ${spec.id}: IPv6 persistence_granularity ${g} ignored`);
    } else if (/^\d+$/.test(g) && Number(g) <= 32) {
      netmask = prefixToNetmask(Number(g));
    } else if (familyOf(g) === 'inet') {
      netmask = g;
    } else {
      warn(`virtual server ${spec.id}: IPv4 persistence_granularity ${g} ignored`);
    }
  }
  // check_data.c: "one packet scheduling requires UDP - resetting" (fwmark services may use it).
  const ops = !!spec.ops && (key.kind === 'fwmark' || key.protocol === 'udp');
  // ipvswrapper.c ipvs_set_srule: the persistence engine is only passed for persistent services.
  const pe = persistenceTimeout ? (spec.persistenceEngine ?? '') : '';
  return { key, scheduler, schedFlags, persistenceTimeout, netmask, ops, pe };
}

function destination(
  svc: ExpandedService,
  server: { ip: string; port?: number; lvsMethod?: LvsMethod; tunnel?: TunnelSpec },
  spec: VirtualServerSpec,
  weight: number,
  thresholds: { u: number; l: number },
): RealServer {
  const forwarding = forwardingOf(server.lvsMethod ?? spec.lvsMethod);
  return {
    addr: canonicalIp(server.ip),
    port: destPort(forwarding, server.port, svc),
    forwarding,
    tunnel: tunnelOf(forwarding, server.tunnel ?? spec.tunnel),
    weight,
    uThreshold: thresholds.u,
    lThreshold: thresholds.l,
  };
}

/** Sorry server weight: keepalived gives it effective_weight 1 (check_data.c alloc_ssvr). */
const SORRY_WEIGHT = 1;

/**
 * The table hacheck wants in the kernel.
 *
 * Per service of each virtual server, with quorum up (or no sorry_server):
 * a live real server is present with its effective weight; a down one is
 * absent, or present with weight 0 under inhibit_on_failure (ipvswrapper.c
 * ipvs_cmd turns the delete into an edit to weight 0).
 * With quorum down and a sorry_server (ipwrapper.c update_quorum_state,
 * perform_quorum_state): every real server is removed (weight 0 under
 * inhibit_on_failure) and the sorry server is present with weight 1.
 * With sorry_server_inhibit the sorry server stays present at weight 0 while
 * not in use (ipwrapper.c init_service_vs). Quorum down without a
 * sorry_server changes nothing.
 *
 * When two virtual servers produce the same IPVS service, the first wins and
 * a message is appended to `warnings`.
 */
export function desiredTable(
  specs: readonly VirtualServerSpec[],
  health: HealthInput = {},
  warnings: string[] = [],
): Table {
  const table: Table = new Map();
  const warn = (m: string): void => {
    warnings.push(m);
  };
  for (const spec of specs) {
    const quorumUp = health.quorum?.get(spec.id) ?? stepQuorum(undefined, liveWeightSum(spec, health), spec).up;
    const sorry: SorryServerSpec | undefined = spec.sorryServer;
    const sorryActive = !!sorry && !quorumUp;
    for (const svc of expandServices(spec)) {
      const keyText = serviceKeyString(svc.key);
      if (table.has(keyText)) {
        warn(`virtual server ${spec.id}: IPVS service ${keyText} already defined by another virtual server - ignored`);
        continue;
      }
      const realServers = new Map<string, RealServer>();
      for (const rs of spec.realServers) {
        const fwd = forwardingOf(rs.lvsMethod ?? spec.lvsMethod);
        const rsFamily = familyOf(rs.ip);
        // check_parser.c rs_end_handler: families must match unless tunnelled.
        if (rsFamily !== svc.key.family && fwd !== 'ipip') {
          warn(`virtual server ${spec.id}: real server ${rs.ip} family differs from ${keyText} - skipped`);
          continue;
        }
        const alive = isRealServerAlive(spec, rs, health);
        const inhibit = rs.inhibitOnFailure ?? spec.inhibitOnFailure ?? false;
        let weight: number | undefined;
        if (alive && !sorryActive) weight = effectiveWeight(spec, rs, health);
        else if (inhibit) weight = 0;
        if (weight === undefined) continue;
        const d = destination(svc, rs, spec, weight, { u: rs.uthreshold ?? 0, l: rs.lthreshold ?? 0 });
        const k = realServerKey(d);
        // check_data.c: "real server ... is duplicated - removing second rs".
        if (realServers.has(k)) {
          warn(`virtual server ${spec.id}: real server ${k} duplicated in ${keyText} - second ignored`);
          continue;
        }
        realServers.set(k, d);
      }
      if (sorry && (sorryActive || sorry.inhibit)) {
        const d = destination(svc, sorry, spec, sorryActive ? SORRY_WEIGHT : 0, { u: 0, l: 0 });
        const k = realServerKey(d);
        // A sorry server that is also a real server (keepalived
        // s_svr_duplicates_rs) only replaces that entry while in use.
        if (sorryActive || !realServers.has(k)) realServers.set(k, d);
      }
      table.set(keyText, { ...serviceAttrs(spec, svc.key, warn), realServers });
    }
  }
  return table;
}
