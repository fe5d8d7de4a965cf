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
}

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
  faults: readonly string[];
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
  /** the last advert handed to the socket: GARPs go out after it (RFC 5798 §6.4.1 order) */
  lastSend?: Promise<void>;
  /** the primary address used as advert source when no unicast_src_ip is set */
  source?: string;
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
  private readonly runtimes = new Map<string, InstanceRuntime>();
  private readonly units: Unit[] = [];
  private readonly transports = new Map<string, TransportEntry>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly pendingAddr = new Set<Promise<void>>();
  private readonly badPacketLogged = new Map<string, { at: number; suppressed: number }>();
  private readonly track: Record<string, Partial<TrackStatus>> = {};
  private started = false;
  private stopped = false;

  constructor(private readonly cfg: Config, private readonly opts: EngineOptions) {
    this.system = opts.system;
    this.log = opts.log ?? silentLogger();
    this.now = opts.now ?? (() => performance.now());
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
      if (interested) this.dispatch(rt, { type: 'trackChanged', kind, name, up: status.up, value: status.value });
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
    // keepalived removes VIPs left behind by an earlier run before it starts (the
    // "(VI_1) removing VIPs." at init), so a restarted node never holds a stale VIP.
    await Promise.all([...this.runtimes.values()].map((rt) => this.system.removeAddresses(rt.owner).catch(() => undefined)));
    this.started = true;
    for (const unit of this.units) {
      for (const name of unit.instances) {
        this.dispatch(this.runtimes.get(name)!, { type: 'startup', track: { ...this.track } });
      }
    }
  }

  /** Graceful stop: priority-0 adverts, VIPs removed (unless -V), notify_stop; bounded by `timeoutMs`. */
  async stop(timeoutMs = 5000): Promise<void> {
    if (this.stopped) return;
    for (const rt of this.runtimes.values()) this.dispatch(rt, { type: 'shutdown' });
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
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
        faults: s.faults,
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
      // raw-socket cannot report the IPv6 destination: the socket's own group (or our unicast
      // source) is what the kernel delivered to it.
      const to = p.to ?? entry.localDestination ?? '';
      rx = { family: 'inet6', source: p.from, destination: to, ttl: p.hopLimit ?? -1, multicast: to === '' ? !entry.unicast : isMulticastAddress(to), ipHeaderLength: 0, kernelChecksum: !!p.kernelChecksum };
    }
    // A unicast socket and a multicast socket on one interface both see every packet.
    if (rx.destination && rx.multicast === entry.unicast) return;
    if (payload.length < 2) return;
    const vrid = payload[1];
    const targets = entry.byVrid.get(vrid) ?? [...entry.byVrid.values()].flat();
    const now = this.now();
    for (const name of targets) {
      const rt = this.runtimes.get(name)!;
      // The AH ICV depends on the receiving instance's password.
      const rxi = verifyAh ? { ...rx, ahIcvOk: verifyAh(rt.model.auth?.pass ?? '', rt.model.unicastPeers.length > 0) } : rx;
      const r = rt.unit.receive(name, payload, rxi, now);
      if (r.ok) rt.advertRcvd++;
      else if (r.counter) rt.errors[r.counter] = (rt.errors[r.counter] ?? 0) + 1;
      this.execute(rt.unit, r.executed, r.ok ? undefined : `${name}|${rx.source}`);
    }
  }

  private dispatch(rt: InstanceRuntime, event: VrrpEvent): void {
    this.execute(rt.unit, rt.unit.dispatch(rt.model.name, event, this.now()));
  }

  private timerKey(instance: string, name: TimerName): string {
    return `${instance}/${name}`;
  }

  private execute(unit: Unit, executed: Executed[], rateKey?: string): void {
    for (const { instance, action } of executed) {
      const rt = instance ? this.runtimes.get(instance) : undefined;
      switch (action.type) {
        case 'setTimer': {
          if (!rt || this.stopped) break;
          const key = this.timerKey(rt.model.name, action.name);
          const old = this.timers.get(key);
          if (old) clearTimeout(old);
          const name = action.name;
          this.timers.set(key, setTimeout(() => {
            this.timers.delete(key);
            if (!this.stopped) this.dispatch(rt, { type: 'timer', name });
          }, action.us / 1000));
          break;
        }
        case 'cancelTimer': {
          if (!rt) break;
          const key = this.timerKey(rt.model.name, action.name);
          clearTimeout(this.timers.get(key));
          this.timers.delete(key);
          break;
        }
        case 'sendAdvert':
          if (rt) this.sendAdvert(rt, action.priority);
          break;
        case 'addVips':
          if (rt) this.track_(this.system.addAddresses(rt.owner), rt, 'add');
          break;
        case 'removeVips':
          if (rt && !this.opts.dontReleaseVrrp) this.track_(this.system.removeAddresses(rt.owner), rt, 'remove');
          break;
        case 'garpBurst':
          if (rt) {
            const count = action.count;
            if (rt.lastSend) void rt.lastSend.then(() => this.garp(rt, count));
            else this.garp(rt, count);
          }
          break;
        case 'runNotify':
          this.runNotify(unit, rt, action.state, action.group);
          break;
        case 'log':
          this.writeLog(rt, action.msg, action.fields, rateKey);
          break;
      }
    }
  }

  private track_(p: Promise<void>, rt: InstanceRuntime, what: string): void {
    const q = p.catch((e: Error) => {
      rt.log.error({ err: e.message }, `(${rt.model.name}) cannot ${what} virtual addresses: ${e.message}`);
    });
    this.pendingAddr.add(q);
    void q.finally(() => this.pendingAddr.delete(q));
  }

  private sendAdvert(rt: InstanceRuntime, priority: number): void {
    if (!rt.transport) return;
    const s = rt.unit.stateOf(rt.model.name);
    const c = s.cfg;
    const peers = rt.model.unicastPeers.map((p) => p.address);
    const dests = peers.length > 0 ? peers : [c.mcastGroup ?? (c.family === 'inet' ? '224.0.0.18' : 'ff02::12')];
    for (const destination of dests) {
      try {
        const payload = encodeAdvert(
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
        rt.lastSend = rt.transport.send(payload, destination);
      } catch (e) {
        rt.log.error({ err: (e as Error).message }, `(${rt.model.name}) cannot send advert: ${(e as Error).message}`);
      }
    }
  }

  private garp(rt: InstanceRuntime, count: number): void {
    const byDev = new Map<string, string[]>();
    for (const v of rt.owner.vips) {
      const dev = v.dev ?? rt.owner.ifname;
      const list = byDev.get(dev) ?? [];
      list.push(v.address);
      byDev.set(dev, list);
    }
    for (let i = 0; i < count; i++) {
      for (const [dev, addrs] of byDev) {
        try {
          this.system.garp(dev, addrs);
        } catch (e) {
          rt.log.error({ err: (e as Error).message }, `(${rt.model.name}) cannot send gratuitous ARP on ${dev}: ${(e as Error).message}`);
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
