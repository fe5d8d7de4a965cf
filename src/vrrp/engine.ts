/**
 * The VRRP engine: the imperative shell around the pure state machine (fsm.ts, sync.ts).
 * It owns the timers, demultiplexes received packets onto instances, and carries out the
 * reducer's actions through a VrrpSystem (raw socket, rtnetlink, AF_PACKET) and a notifier.
 * Every decision about state lives in the reducer; this file only executes.
 */
import type { Config } from '../config/model/types.js';
import type { NotifyScripts, VrrpInstanceConfig as ModelInstance } from '../config/model/vrrp.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { isMulticastAddress } from './addr.js';
import { encodeAdvert, splitIpv4Packet, type RxInfo, type VrrpCounter } from './codec.js';
import { coreInstanceConfig, runnableInstances } from './from-config.js';
import {
  initialState,
  receiveAdvert,
  step,
  trackKey,
  type NotifyState,
  type LogFields,
  type TimerName,
  type TrackStatus,
  type VrrpAction,
  type VrrpEvent,
  type VrrpState,
} from './fsm.js';
import type { AddressOwner, RxPacket, VrrpSystem, VrrpTransport } from './io.js';
import { createSyncGroup, stepSyncGroup, type SyncGroupState } from './sync.js';
import type { TrackKind } from './types.js';

export interface NotifyRequest {
  kind: 'INSTANCE' | 'GROUP';
  name: string;
  state: NotifyState;
  priority: number;
  scripts: NotifyScripts;
}

export interface EngineOptions {
  system: VrrpSystem;
  log?: Logger;
  /** Run notify scripts / FIFO lines for a state change (never awaited). */
  notify?: (n: NotifyRequest) => void;
  /** -V / --dont-release-vrrp: leave the VIPs in place at stop. */
  dontReleaseVrrp?: boolean;
  /** Monotonic clock, ms (default performance.now). */
  now?: () => number;
  /** Bad-packet log lines: one per instance, peer and reason per this many ms (default 10 s). */
  badPacketLogIntervalMs?: number;
  /**
   * How long before a VRRP timer's deadline Node's setTimeout hands over to a check on every
   * event-loop turn (setImmediate), ms (default 2). setTimeout counts whole ms from the
   * loop's cached clock, so on its own it fires up to ~1 ms early or a few ms late; the
   * last stretch on `now()` puts the Master_Down_Timer and Adver_Timer within tens of µs of
   * the RFC interval, as keepalived's µs timers are. 0: plain setTimeout to the deadline
   * (tests under fake timers).
   */
  timerSlackMs?: number;
  /** `now()` reading → wall clock, epoch ms, for the failover log timestamps (default
   *  performance.timeOrigin + t, which matches the default `now`). */
  toEpochMs?: (t: number) => number;
}

/**
 * Why an instance changed state, as the failover log's `reason` field gives it (the fsm's
 * own wording stays in `detail`).
 */
export type TransitionReason =
  | 'startup'
  | 'address owner'
  | 'advert timeout'
  | 'priority 0 received'
  | 'preempt'
  | 'higher-priority advert'
  | 'equal priority, higher address'
  | 'tracked interface down'
  | 'script failed'
  | 'tracked file'
  | 'tracked process down'
  | 'bfd down'
  | 'tracking recovered'
  | 'sync group'
  | 'signal'
  | 'reload'
  | 'shutdown'
  | 'other';

export interface InstanceStatus {
  name: string;
  vrid: number;
  interface: string;
  family: string;
  advertIntervalCs: number;
  state: string;
  wantState: string;
  basePriority: number;
  effectivePriority: number;
  masterAddress?: string;
  masterPriority?: number;
  syncGroup?: string;
  lastTransition?: number;
  /** canonical reason of the last state change (see TransitionReason) */
  lastTransitionReason?: string;
  faults: readonly string[];
  /** peers seen advertising as master with a lower priority while we were master (dual master) */
  dualMasterPeers: readonly string[];
  /** peers seen advertising a VRID other than ours on our socket */
  foreignVridPeers: readonly string[];
  stats: VrrpState['stats'] & { advertRcvd: number; errors: Record<string, number> };
}

type Executed = { instance?: string; action: VrrpAction };

/** A standalone instance or a sync group: whatever is stepped as one. */
interface Unit {
  name: string;
  instances: string[];
  stateOf(instance: string): VrrpState;
  dispatch(instance: string, event: VrrpEvent, now: number): Executed[];
  receive(instance: string, payload: Buffer, rx: RxInfo, now: number): { executed: Executed[]; ok: boolean; counter?: VrrpCounter };
}

class SingleUnit implements Unit {
  constructor(public state: VrrpState) {}
  get name(): string {
    return this.state.cfg.name;
  }
  get instances(): string[] {
    return [this.name];
  }
  stateOf(): VrrpState {
    return this.state;
  }
  dispatch(instance: string, event: VrrpEvent, now: number): Executed[] {
    const r = step(this.state, event, now);
    this.state = r.state;
    return r.actions.map((action) => ({ instance, action }));
  }
  receive(instance: string, payload: Buffer, rx: RxInfo, now: number) {
    const r = receiveAdvert(this.state, payload, rx, now);
    this.state = r.state;
    return {
      executed: r.actions.map((action) => ({ instance, action })),
      ok: r.decode.ok,
      counter: r.decode.ok ? undefined : r.decode.counter,
    };
  }
}

class GroupUnit implements Unit {
  constructor(public group: SyncGroupState) {}
  get name(): string {
    return this.group.name;
  }
  get instances(): string[] {
    return [...this.group.order];
  }
  stateOf(instance: string): VrrpState {
    const m = this.group.members[instance];
    if (!m) throw new RangeError(`${instance} is not in sync group ${this.group.name}`);
    return m;
  }
  dispatch(instance: string, event: VrrpEvent, now: number): Executed[] {
    const r = stepSyncGroup(this.group, instance, event, now);
    this.group = r.group;
    return r.actions;
  }
  receive(instance: string, payload: Buffer, rx: RxInfo, now: number) {
    // Validate against the member alone, then step the advert through the group so the
    // other members follow.
    const r = receiveAdvert(this.stateOf(instance), payload, rx, now);
    if (!r.decode.ok) {
      return { executed: r.actions.map((action) => ({ instance, action })), ok: false, counter: r.decode.counter };
    }
    const warnings = r.actions.slice(0, r.decode.warnings.length).map((action) => ({ instance, action }));
    const executed = this.dispatch(instance, { type: 'advertReceived', advert: r.decode.advert, from: rx.source }, now);
    return { executed: [...warnings, ...executed], ok: true };
  }
}

interface InstanceRuntime {
  model: ModelInstance;
  unit: Unit;
  transport?: VrrpTransport;
  transportKey: string;
  owner: AddressOwner;
  log: Logger;
  advertRcvd: number;
  errors: Record<string, number>;
  /** a queued advert not yet on the wire: GARPs wait for it (RFC 5798 §6.4.1 order) */
  lastSend?: Promise<void>;
  /** the last valid advert received for our VRID: who was master, and when it was last heard */
  lastRx?: { at: number; peer: string; priority: number };
  /** the state change being carried out, until its VIPs are in place (follow-up log entry) */
  pending?: PendingTransition;
  lastReason?: TransitionReason;
  /** the primary address used as advert source when no unicast_src_ip is set */
  source?: string;
  /** encoded adverts by priority, destination and checksum variant (see buildAdvert) */
  adverts: Map<string, Buffer>;
}

/** What caused the step being executed: the failover log's reason and detection time. */
type Cause =
  | { kind: 'timer'; name: TimerName; at: number }
  | { kind: 'advert'; at: number; peer: string; priority: number }
  | { kind: 'track'; at: number; trackKind: TrackKind; name: string }
  | { kind: 'stop'; at: number; reason: string }
  | { kind: 'startup'; at: number };

/** Timestamps of one state change, `now()` ms; logged as epoch ms. */
interface PendingTransition {
  to: string;
  detection: number;
  advertSent?: number;
  firstGarp?: number;
  vipsChanged?: number;
  /** netlink add/remove outstanding for this transition */
  vipOp?: 'add' | 'remove';
}

const STATES = new Set(['INIT', 'BACKUP', 'MASTER', 'FAULT', 'STOP']);

/**
 * One-shot timer at a deadline on the engine's monotonic clock: setTimeout until `slackMs`
 * before it, then a check on each event-loop turn (setImmediate keeps I/O flowing, so a
 * received advert can still cancel it). Costs at most ~slackMs of loop turns per expiry.
 */
/** Rounds of warmUp() per instance at start. */
const WARM_UP_ROUNDS = 20;

export class DeadlineTimer {
  private timeout?: NodeJS.Timeout;
  private immediate?: NodeJS.Immediate;
  private done = false;

  constructor(
    readonly deadline: number,
    private readonly now: () => number,
    private readonly slackMs: number,
    private readonly fire: (at: number) => void,
  ) {
    // Never fire from inside the constructor: the caller has not stored the handle yet.
    if (deadline - now() > 0) this.arm();
    else this.immediate = setImmediate(this.arm);
  }

  private arm = (): void => {
    this.timeout = undefined;
    this.immediate = undefined;
    if (this.done) return;
    const t = this.now();
    const left = this.deadline - t;
    if (left <= 0) {
      this.done = true;
      this.fire(t);
    } else if (this.slackMs <= 0) {
      this.timeout = setTimeout(this.arm, Math.ceil(left));
    } else if (left > this.slackMs) {
      this.timeout = setTimeout(this.arm, Math.max(1, left - this.slackMs));
    } else {
      this.immediate = setImmediate(this.arm);
    }
  };

  cancel(): void {
    this.done = true;
    if (this.timeout) clearTimeout(this.timeout);
    if (this.immediate) clearImmediate(this.immediate);
    this.timeout = undefined;
    this.immediate = undefined;
  }
}

function canonicalReason(fsmReason: string | undefined, to: string, cause: Cause | undefined, rt: InstanceRuntime, ours: number): TransitionReason {
  const r = fsmReason ?? '';
  if (cause?.kind === 'stop') return cause.reason === 'reload' ? 'reload' : cause.reason === 'signal' ? 'signal' : 'shutdown';
  if (r.startsWith('sync group')) return 'sync group';
  if (r === 'startup') return 'startup';
  if (r === 'address owner') return 'address owner';
  if (r === 'higher priority advert') return 'higher-priority advert';
  if (r === 'equal priority, higher address') return 'equal priority, higher address';
  if (r.endsWith(' recovered')) return 'tracking recovered';
  if (to === 'MASTER' && cause?.kind === 'timer' && cause.name === 'masterDown') {
    const last = rt.lastRx;
    if (last?.priority === 0) return 'priority 0 received';
    // A lower-priority master kept advertising: we let its adverts go by (preempt).
    // (A dead master was last heard a whole Master_Down_Interval ago, a live one within an interval.)
    if (last && last.priority > 0 && last.priority < ours && cause.at - last.at < 2 * advertIntervalMs(rt)) return 'preempt';
    return 'advert timeout';
  }
  if (to === 'FAULT' || cause?.kind === 'track') {
    if (/^interface /.test(r) || cause?.kind === 'track' && cause.trackKind === 'interface') return 'tracked interface down';
    if (/^script /.test(r) || cause?.kind === 'track' && cause.trackKind === 'script') return 'script failed';
    if (/^file /.test(r)) return 'tracked file';
    if (/^process /.test(r)) return 'tracked process down';
    if (/^bfd /.test(r)) return 'bfd down';
  }
  return 'other';
}

function isTransition(fields: LogFields): boolean {
  return typeof fields.from === 'string' && typeof fields.to === 'string' && STATES.has(fields.from) && STATES.has(fields.to);
}

/**
 * When the event behind a state change happened, `now()` ms: a priority-0 advert is detected
 * when it arrives (the change follows Skew_Time later); anything else when its event ran.
 */
function detectionTime(to: string, cause: Cause | undefined, rt: InstanceRuntime, at: number): number {
  if (to === 'MASTER' && cause?.kind === 'timer' && cause.name === 'masterDown' && rt.lastRx?.priority === 0) return rt.lastRx.at;
  return cause?.at ?? at;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function advertIntervalMs(rt: InstanceRuntime): number {
  const s = rt.unit.stateOf(rt.model.name);
  return (s.cfg.version === 3 ? s.masterAdverIntCs : s.cfg.advertIntervalCs) * 10;
}

interface TransportEntry {
  transport?: VrrpTransport;
  opening?: Promise<VrrpTransport>;
  /** VRID → instances on this transport */
  byVrid: Map<number, string[]>;
  unicast: boolean;
  /** the group joined, or our unicast source: the IPv6 destination when the socket can't tell */
  localDestination?: string;
}

export class VrrpEngine {
  private readonly system: VrrpSystem;
  private readonly log: Logger;
  private readonly now: () => number;
  /** now() is performance.now(): the socket's receipt times are on the same clock */
  private readonly realClock: boolean;
  private readonly runtimes = new Map<string, InstanceRuntime>();
  private readonly units: Unit[] = [];
  private readonly transports = new Map<string, TransportEntry>();
  private readonly timers = new Map<string, DeadlineTimer>();
  private readonly slackMs: number;
  private readonly toEpochMs: (t: number) => number;
  private readonly pendingAddr = new Set<Promise<void>>();
  private readonly badPacketLogged = new Map<string, { at: number; suppressed: number }>();
  private readonly track: Record<string, Partial<TrackStatus>> = {};
  private started = false;
  private stopped = false;

  constructor(private readonly cfg: Config, private readonly opts: EngineOptions) {
    this.system = opts.system;
    this.log = opts.log ?? silentLogger();
    this.now = opts.now ?? (() => performance.now());
    this.realClock = opts.now === undefined;
    this.slackMs = opts.timerSlackMs ?? 2;
    this.toEpochMs = opts.toEpochMs ?? ((t) => performance.timeOrigin + t);
  }

  /** Feed a tracked object's state (vrrp_script, track_file, track_process, interface). */
  setTrack(kind: TrackKind, name: string, status: Partial<TrackStatus>): void {
    const key = trackKey(kind, name);
    this.track[key] = { ...this.track[key], ...status };
    if (!this.started || this.stopped) return;
    for (const rt of this.runtimes.values()) {
      const st = rt.unit.stateOf(rt.model.name);
      const interested = st.cfg.tracked.some((t) => t.kind === kind && t.name === name) ||
        (kind === 'interface' && st.cfg.interface === name);
      if (interested) this.dispatch(rt, { type: 'trackChanged', kind, name, up: status.up, value: status.value }, { kind: 'track', at: this.now(), trackKind: kind, name });
    }
  }

  async start(): Promise<void> {
    const instances = runnableInstances(this.cfg);
    const byName = new Map(instances.map((i) => [i.name, i]));
    const inGroup = new Set<string>();
    // Primary addresses first: they are the advert source and the equal-priority tie-break.
    const cores = new Map<string, VrrpState>();
    for (const inst of instances) {
      const ifname = inst.interface ?? 'eth0';
      const primary = inst.srcIp ? undefined : await this.system.primaryAddress(ifname, inst.family).catch(() => undefined);
      cores.set(inst.name, initialState(coreInstanceConfig(this.cfg, inst, { primaryAddress: primary })));
    }
    for (const g of this.cfg.vrrp.syncGroups) {
      const members = g.group.filter((n) => cores.has(n));
      if (members.length === 0) continue;
      members.forEach((m) => inGroup.add(m));
      this.units.push(new GroupUnit(createSyncGroup(g.name, members.map((m) => cores.get(m)!))));
    }
    for (const inst of instances) if (!inGroup.has(inst.name)) this.units.push(new SingleUnit(cores.get(inst.name)!));

    for (const unit of this.units) {
      for (const name of unit.instances) {
        const model = byName.get(name)!;
        const ifname = model.interface ?? 'eth0';
        const unicast = model.unicastPeers.length > 0;
        const transportKey = `${model.family}|${ifname}|${unicast ? 'unicast' : unit.stateOf(name).cfg.mcastGroup}`;
        const rt: InstanceRuntime = {
          model,
          unit,
          transportKey,
          owner: {
            instance: name,
            ifname,
            vips: [...model.vips, ...model.excludedVips],
            routes: model.virtualRoutes,
            rules: model.virtualRules,
          },
          log: this.log.child({ instance: name, vrid: model.vrid }),
          advertRcvd: 0,
          errors: {},
          adverts: new Map(),
          source: model.srcIp ?? unit.stateOf(name).cfg.primaryAddress,
        };
        this.runtimes.set(name, rt);
      }
    }
    // Interface state for track_interface and the instance's own interface.
    const ifnames = new Set<string>();
    for (const rt of this.runtimes.values()) {
      ifnames.add(rt.owner.ifname);
      for (const t of rt.model.trackInterface) ifnames.add(t.name);
    }
    for (const ifname of ifnames) {
      const up = await this.system.linkUp(ifname).catch(() => undefined);
      this.track[trackKey('interface', ifname)] = { up: up ?? false };
    }
    this.system.onLinkChange(({ ifname, up }) => {
      const key = trackKey('interface', ifname);
      if (this.track[key]?.up === up) return;
      this.setTrack('interface', ifname, { up });
    });
    // Open the sockets before any instance can send.
    for (const rt of this.runtimes.values()) {
      try {
        rt.transport = await this.openTransport(rt);
      } catch (e) {
        rt.log.error({ err: (e as Error).message }, `(${rt.model.name}) cannot open the VRRP socket on ${rt.owner.ifname}: ${(e as Error).message}`);
      }
    }
    for (const rt of this.runtimes.values()) this.warmUp(rt);
    // keepalived removes VIPs left behind by an earlier run before it starts (the
    // "(VI_1) removing VIPs." at init), so a restarted node never holds a stale VIP.
    // Then the interface indexes a takeover's VIP request needs, looked up now rather than
    // between the advert and the VIP.
    await Promise.all(
      [...this.runtimes.values()].flatMap((rt) => [
        this.system.removeAddresses(rt.owner).catch(() => undefined),
        this.system.prepareAddresses?.(rt.owner).catch(() => undefined),
      ]),
    );
    this.started = true;
    for (const unit of this.units) {
      for (const name of unit.instances) {
        this.dispatch(this.runtimes.get(name)!, { type: 'startup', track: { ...this.track } }, { kind: 'startup', at: this.now() });
      }
    }
  }

  /**
   * Graceful stop: priority-0 adverts, VIPs removed (unless -V), notify_stop; bounded by
   * `timeoutMs`. `reason` ('signal', 'reload', ...) goes into the failover log.
   */
  async stop(timeoutMs = 5000, reason = 'shutdown'): Promise<void> {
    if (this.stopped) return;
    for (const rt of this.runtimes.values()) this.dispatch(rt, { type: 'shutdown' }, { kind: 'stop', at: this.now(), reason });
    this.stopped = true;
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.pendingAddr]),
      new Promise((r) => (timer = setTimeout(r, timeoutMs))),
    ]);
    clearTimeout(timer);
    for (const e of this.transports.values()) e.transport?.close();
    this.transports.clear();
  }

  status(): InstanceStatus[] {
    return [...this.runtimes.values()].map((rt) => {
      const s = rt.unit.stateOf(rt.model.name);
      return {
        name: s.cfg.name,
        vrid: s.cfg.vrid,
        interface: s.cfg.interface,
        family: s.cfg.family,
        advertIntervalCs: s.cfg.advertIntervalCs,
        state: s.state,
        wantState: s.wantState,
        basePriority: s.cfg.priority,
        effectivePriority: s.effectivePriority,
        masterAddress: s.masterAddress,
        masterPriority: s.masterPriority,
        syncGroup: rt.unit instanceof GroupUnit ? rt.unit.name : undefined,
        lastTransition: s.lastTransition,
        lastTransitionReason: rt.lastReason,
        faults: s.faults,
        dualMasterPeers: s.loggedLowerPrioPeers,
        foreignVridPeers: s.loggedForeignVridPeers,
        stats: { ...s.stats, advertRcvd: rt.advertRcvd, errors: { ...rt.errors } },
      };
    });
  }

  // -- plumbing ---------------------------------------------------------------------------------

  private async openTransport(rt: InstanceRuntime): Promise<VrrpTransport> {
    let e = this.transports.get(rt.transportKey);
    const unicast = rt.model.unicastPeers.length > 0;
    if (!e) {
      const core = rt.unit.stateOf(rt.model.name).cfg;
      const entry: TransportEntry = { byVrid: new Map(), unicast, localDestination: unicast ? rt.source : core.mcastGroup };
      entry.opening = this.system.openTransport(
        {
          family: rt.model.family,
          ifname: rt.owner.ifname,
          srcIp: rt.model.srcIp,
          mcastGroup: unicast ? undefined : core.mcastGroup,
          unicastTtl: rt.model.unicastTtl,
        },
        (p) => this.onPacket(entry, p),
      );
      this.transports.set(rt.transportKey, entry);
      e = entry;
    }
    const list = e.byVrid.get(rt.model.vrid!) ?? [];
    list.push(rt.model.name);
    e.byVrid.set(rt.model.vrid!, list);
    if (!e.transport) e.transport = await e.opening!;
    return e.transport;
  }

  private onPacket(entry: TransportEntry, p: RxPacket): void {
    if (!this.started || this.stopped) return;
    let payload: Buffer;
    let rx: RxInfo;
    let verifyAh: ((authPass: string, unicast: boolean) => boolean) | undefined;
    if (p.family === 'inet') {
      const split = splitIpv4Packet(p.packet);
      if (!split.ok) return;
      ({ rx, payload, verifyAh } = split);
    } else {
      payload = p.packet;
      // Without the recv6 addon the IPv6 destination is unknown: the socket's own group (or our
      // unicast source) is what the kernel delivered to it.
      const to = p.to ?? entry.localDestination ?? '';
      rx = { family: 'inet6', source: p.from, destination: to, ttl: p.hopLimit ?? -1, multicast: to === '' ? !entry.unicast : isMulticastAddress(to), ipHeaderLength: 0, kernelChecksum: !!p.kernelChecksum };
    }
    // A unicast socket and a multicast socket on one interface both see every packet.
    if (rx.destination && rx.multicast === entry.unicast) return;
    if (payload.length < 2) return;
    const vrid = payload[1];
    const targets = entry.byVrid.get(vrid) ?? [...entry.byVrid.values()].flat();
    // The receipt time: the socket's, when the engine runs on the same clock (never later than now).
    const now = this.realClock && p.receivedAt !== undefined ? Math.min(p.receivedAt, this.now()) : this.now();
    // RFC 3768 §5.3.4 / RFC 5798 §5.2.4: the priority octet follows the VRID.
    const priority = payload.length > 2 ? payload[2] : -1;
    for (const name of targets) {
      const rt = this.runtimes.get(name)!;
      // The AH ICV depends on the receiving instance's password.
      const rxi = verifyAh ? { ...rx, ahIcvOk: verifyAh(rt.model.auth?.pass ?? '', rt.model.unicastPeers.length > 0) } : rx;
      const r = rt.unit.receive(name, payload, rxi, now);
      if (r.ok) {
        rt.advertRcvd++;
        if (vrid === rt.model.vrid) rt.lastRx = { at: now, peer: rx.source, priority };
      } else if (r.counter) rt.errors[r.counter] = (rt.errors[r.counter] ?? 0) + 1;
      this.execute(rt.unit, r.executed, r.ok ? undefined : `${name}|${rx.source}`, { kind: 'advert', at: now, peer: rx.source, priority }, now);
    }
  }

  private dispatch(rt: InstanceRuntime, event: VrrpEvent, cause?: Cause, at = this.now()): void {
    this.execute(rt.unit, rt.unit.dispatch(rt.model.name, event, at), undefined, cause, at);
  }

  private timerKey(instance: string, name: TimerName): string {
    return `${instance}/${name}`;
  }

  /**
   * Carry out one step's actions. Wire actions run first and in the reducer's order (advert,
   * VIP add, GARP: keepalived's vrrp_state_master_tx + vrrp_state_become_master; the netlink
   * VIP add is requested just after the GARPs, see 'addVips'); log lines and notify scripts
   * run after them, so neither a log write nor a fork sits between the timer and the packets.
   * `at` is the `now()` the step was taken at: timers count from it.
   */
  private execute(unit: Unit, executed: Executed[], rateKey?: string, cause?: Cause, at = this.now()): void {
    // A transition's timestamps are collected while its packets go out, then logged.
    for (const { instance, action } of executed) {
      const rt = instance ? this.runtimes.get(instance) : undefined;
      if (rt && action.type === 'log' && isTransition(action.fields)) {
        rt.pending = { to: String(action.fields.to), detection: detectionTime(String(action.fields.to), cause, rt, at) };
      }
    }
    const deferred: Executed[] = [];
    const vipAdds: InstanceRuntime[] = [];
    for (const x of executed) {
      const { instance, action } = x;
      const rt = instance ? this.runtimes.get(instance) : undefined;
      switch (action.type) {
        case 'setTimer': {
          if (!rt || this.stopped) break;
          const key = this.timerKey(rt.model.name, action.name);
          this.timers.get(key)?.cancel();
          const name = action.name;
          const timer = new DeadlineTimer(at + action.us / 1000, this.now, this.slackMs, (firedAt) => {
            if (this.timers.get(key) === timer) this.timers.delete(key);
            if (!this.stopped) this.dispatch(rt, { type: 'timer', name }, { kind: 'timer', name, at: firedAt }, firedAt);
          });
          this.timers.set(key, timer);
          break;
        }
        case 'cancelTimer': {
          if (!rt) break;
          const key = this.timerKey(rt.model.name, action.name);
          this.timers.get(key)?.cancel();
          this.timers.delete(key);
          break;
        }
        case 'sendAdvert':
          if (rt) this.sendAdvert(rt, action.priority);
          break;
        case 'addVips':
          // Asked for right after this step's GARPs rather than before them: setting up the
          // netlink request (~0.3 ms on a busy host) would sit between the advert and the
          // GARPs. It is sent within this call (rtnetlink sends at once when idle, and the
          // interface index is known from start-up), ahead of the log lines below.
          if (rt) vipAdds.push(rt);
          break;
        case 'removeVips':
          if (rt && !this.opts.dontReleaseVrrp) this.changeVips(rt, 'remove');
          break;
        case 'garpBurst':
          if (rt) {
            const count = action.count;
            // The advert must be on the wire first (RFC 5798 §6.4.1, keepalived): it usually is,
            // since sendto(2) ran in sendAdvert; only a queued send is waited for.
            if (rt.lastSend) void rt.lastSend.then(() => this.garp(rt, count));
            else this.garp(rt, count);
          }
          break;
        case 'runNotify':
        case 'log':
          deferred.push(x);
          break;
      }
    }
    for (const rt of vipAdds) this.changeVips(rt, 'add');
    for (const x of deferred) {
      const { instance, action } = x;
      const rt = instance ? this.runtimes.get(instance) : undefined;
      if (action.type === 'runNotify') this.runNotify(unit, rt, action.state, action.group);
      else if (action.type === 'log') {
        if (rt && isTransition(action.fields)) this.logTransition(rt, action.msg, action.fields, cause);
        else this.writeLog(rt, action.msg, action.fields, rateKey);
      }
    }
  }

  /** The failover log entry of one state change (issue 5.3): reason, priorities, timestamps. */
  private logTransition(rt: InstanceRuntime, msg: string, fields: LogFields, cause: Cause | undefined): void {
    const { instance: _i, vrid: _v, reason: fsmReason, ...rest } = fields;
    const s = rt.unit.stateOf(rt.model.name);
    const to = String(fields.to);
    const ours = s.effectivePriority;
    const reason = canonicalReason(fsmReason === undefined ? undefined : String(fsmReason), to, cause, rt, ours);
    rt.lastReason = reason;
    const p = rt.pending;
    const peer = cause?.kind === 'advert' ? { address: cause.peer, priority: cause.priority } : rt.lastRx ? { address: rt.lastRx.peer, priority: rt.lastRx.priority } : undefined;
    const entry: Record<string, unknown> = {
      ...rest,
      event: 'transition',
      reason,
      ...(fsmReason !== undefined && fsmReason !== reason ? { detail: fsmReason } : {}),
      priority: ours,
      ...(peer ? { peer: peer.address, peerPriority: peer.priority } : {}),
      ...(rt.lastRx && to === 'MASTER' ? { lastAdvert: this.epoch(rt.lastRx.at) } : {}),
      ...(p ? { detection: this.epoch(p.detection) } : {}),
      ...(p?.advertSent !== undefined ? { advertSent: this.epoch(p.advertSent) } : {}),
      ...(p?.firstGarp !== undefined ? { firstGarp: this.epoch(p.firstGarp) } : {}),
    };
    rt.log.info(entry, msg);
    if (p && !p.vipOp) rt.pending = undefined;
  }

  /** Follow-up entry once a transition's VIPs are in place or gone (keepalived's detail line). */
  private logVipsDone(rt: InstanceRuntime, p: PendingTransition): void {
    const add = p.vipOp === 'add';
    const done = p.vipsChanged!;
    rt.log.info(
      {
        event: add ? 'vipsAdded' : 'vipsRemoved',
        to: p.to,
        reason: rt.lastReason,
        vips: rt.owner.vips.map((v) => v.address),
        detection: this.epoch(p.detection),
        ...(p.advertSent !== undefined ? { advertSent: this.epoch(p.advertSent) } : {}),
        ...(p.firstGarp !== undefined ? { firstGarp: this.epoch(p.firstGarp) } : {}),
        [add ? 'vipAdded' : 'vipRemoved']: this.epoch(done),
        sinceDetectionMs: round3(done - p.detection),
      },
      `(${rt.model.name}) ${add ? 'setting' : 'removing'} VIPs.`,
    );
  }

  private epoch(t: number): number {
    return round3(this.toEpochMs(t));
  }

  private changeVips(rt: InstanceRuntime, op: 'add' | 'remove'): void {
    const p = rt.pending;
    if (p && rt.owner.vips.length > 0) p.vipOp = op;
    const q = (op === 'add' ? this.system.addAddresses(rt.owner) : this.system.removeAddresses(rt.owner)).then(
      () => {
        if (!p?.vipOp) return;
        p.vipsChanged = this.now();
        this.logVipsDone(rt, p);
        if (rt.pending === p) rt.pending = undefined;
      },
      (e: Error) => {
        if (rt.pending === p) rt.pending = undefined;
        rt.log.error({ err: e.message }, `(${rt.model.name}) cannot ${op} virtual addresses: ${e.message}`);
      },
    );
    this.pendingAddr.add(q);
    void q.finally(() => this.pendingAddr.delete(q));
  }

  /**
   * Run the code of a takeover and of a shutdown once, with nothing sent: the pure reducer on
   * copies of the state, the advert encoder and the socket's packet builder, the GARP frame
   * builder. V8 compiles functions on first call; measured cold, this path cost ~1.7 ms
   * between the Master_Down_Timer and the first advert of a backup that had never sent one.
   */
  private warmUp(rt: InstanceRuntime): void {
    try {
      const s = rt.unit.stateOf(rt.model.name);
      const t = this.now();
      // A few rounds, not one: a function's first runs also fill its inline caches, and V8
      // moves code run repeatedly to its baseline compiler (measured: with one round the
      // advert still left 0.5 ms after the timer, most of it in this path).
      const byDev = this.vipsByDev(rt);
      for (let round = 0; round < WARM_UP_ROUNDS; round++) {
        step({ ...s, state: 'BACKUP' }, { type: 'timer', name: 'masterDown' }, t);
        step({ ...s, state: 'MASTER', vipsSet: true }, { type: 'shutdown' }, t);
        for (const priority of [s.effectivePriority, 0]) this.sendAdvert(rt, priority, true);
        for (const [dev, addrs] of byDev) this.system.prepareGarp?.(dev, addrs);
      }
    } catch {
      /* only a warm-up: the real send reports its own errors */
    }
  }

  private advertDestinations(rt: InstanceRuntime): string[] {
    const c = rt.unit.stateOf(rt.model.name).cfg;
    const peers = rt.model.unicastPeers.map((p) => p.address);
    return peers.length > 0 ? peers : [c.mcastGroup ?? (c.family === 'inet' ? '224.0.0.18' : 'ff02::12')];
  }

  /**
   * The advert for `priority` to `destination`. Everything else in it is configuration, so it
   * is encoded once and reused (the encoder and its checksum cost ~0.2 ms a call on a busy
   * host, and a new master's first advert waits for it).
   */
  private buildAdvert(rt: InstanceRuntime, priority: number, destination: string): Buffer {
    const s = rt.unit.stateOf(rt.model.name);
    const key = `${priority}|${destination}|${s.oldUnicastChecksum ? 1 : 0}`;
    let payload = rt.adverts.get(key);
    if (!payload) {
      payload = this.encodeAdvertFor(rt, priority, destination);
      if (rt.adverts.size >= 64) rt.adverts.clear();
      rt.adverts.set(key, payload);
    }
    return payload;
  }

  private encodeAdvertFor(rt: InstanceRuntime, priority: number, destination: string): Buffer {
    const s = rt.unit.stateOf(rt.model.name);
    const c = s.cfg;
    return encodeAdvert(
      { version: c.version, vrid: c.vrid, priority, addresses: c.vips, advertIntervalCs: c.advertIntervalCs, authType: c.authType === 'AH' ? 'NONE' : c.authType },
      {
        family: c.family,
        source: rt.source,
        destination,
        authPass: c.authPass,
        v3ChecksumAsV2: c.v3ChecksumAsV2,
        oldUnicastChecksum: s.oldUnicastChecksum,
        mcastGroup: c.mcastGroup,
      },
    );
  }

  /** `dry`: everything but the send (warmUp), and no state touched. */
  private sendAdvert(rt: InstanceRuntime, priority: number, dry = false): void {
    if (!rt.transport) return;
    if (!dry) rt.lastSend = undefined;
    for (const destination of this.advertDestinations(rt)) {
      try {
        const payload = this.buildAdvert(rt, priority, destination);
        if (dry) {
          rt.transport.prepare?.(payload, destination);
          continue;
        }
        const queued = rt.transport.send(payload, destination);
        if (queued) {
          const q: Promise<void> = queued.then(() => {
            if (rt.lastSend === q) rt.lastSend = undefined;
          });
          rt.lastSend = q;
        }
      } catch (e) {
        rt.log.error({ err: (e as Error).message }, `(${rt.model.name}) cannot send advert: ${(e as Error).message}`);
      }
    }
    if (!dry && rt.pending && rt.pending.advertSent === undefined) {
      const p = rt.pending;
      if (rt.lastSend) void rt.lastSend.then(() => (p.advertSent ??= this.now()));
      else p.advertSent = this.now();
    }
  }

  private vipsByDev(rt: InstanceRuntime): Map<string, string[]> {
    const byDev = new Map<string, string[]>();
    for (const v of rt.owner.vips) {
      const dev = v.dev ?? rt.owner.ifname;
      const list = byDev.get(dev) ?? [];
      list.push(v.address);
      byDev.set(dev, list);
    }
    return byDev;
  }

  private garp(rt: InstanceRuntime, count: number): void {
    const byDev = this.vipsByDev(rt);
    const p = rt.pending;
    for (let i = 0; i < count; i++) {
      for (const [dev, addrs] of byDev) {
        try {
          this.system.garp(dev, addrs);
          if (p && p.firstGarp === undefined) p.firstGarp = this.now();
        } catch (e) {
          rt.log.error({ err: (e as Error).message }, `(${rt.model.name}) cannot send gratuitous ARP on ${dev}: ${(e as Error).message}`);
        }
      }
    }
    // keepalived (log_detail): one line per address for the first of the repeats.
    if (count > 0 && rt.log.isLevelEnabled('debug')) {
      for (const [dev, addrs] of byDev) {
        for (const a of addrs) {
          rt.log.debug({ dev, vip: a, count }, `(${rt.model.name}) Sending/queueing ${a.includes(':') ? 'Unsolicited Neighbour Adverts' : 'gratuitous ARPs'} on ${dev} for ${a}`);
        }
      }
    }
  }

  private runNotify(unit: Unit, rt: InstanceRuntime | undefined, state: NotifyState, group?: string): void {
    if (!this.opts.notify) return;
    if (group) {
      const g = this.cfg.vrrp.syncGroups.find((x) => x.name === group);
      if (g) this.opts.notify({ kind: 'GROUP', name: group, state, priority: 0, scripts: g });
      return;
    }
    if (!rt) return;
    const s = unit.stateOf(rt.model.name);
    this.opts.notify({ kind: 'INSTANCE', name: rt.model.name, state, priority: s.effectivePriority, scripts: rt.model });
  }

  private writeLog(rt: InstanceRuntime | undefined, msg: string, fields: Record<string, unknown>, rateKey?: string): void {
    const logger = rt?.log ?? this.log;
    if (rateKey) {
      // Bad packets: one line per instance, peer and reason per interval, with the count suppressed.
      const key = `${rateKey}|${String(fields.reason)}`;
      const now = this.now();
      const seen = this.badPacketLogged.get(key);
      const interval = this.opts.badPacketLogIntervalMs ?? 10_000;
      if (seen && now - seen.at < interval) {
        seen.suppressed++;
        return;
      }
      this.badPacketLogged.set(key, { at: now, suppressed: 0 });
      const { instance: _i, vrid: _v, ...rest } = fields;
      logger.warn({ ...rest, suppressed: seen?.suppressed ?? 0 }, msg);
      return;
    }
    const { instance: _i, vrid: _v, ...rest } = fields;
    logger.info(rest, msg);
  }
}
