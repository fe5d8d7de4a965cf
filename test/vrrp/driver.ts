/**
 * Test driver: executes the reducer's actions. setTimer/cancelTimer map onto real
 * setTimeout/clearTimeout (run under sinon fake timers); sendAdvert goes through the codec onto a
 * simulated LAN segment and arrives at the other routers as a decoded advert.
 */
import { VRRP_MCAST_GROUP4, VRRP_MCAST_GROUP6 } from '../../src/vrrp/addr.js';
import { encodeAdvert, type AdvertInput } from '../../src/vrrp/codec.js';
import {
  initialState,
  receiveAdvert,
  step,
  type TimerName,
  type VrrpAction,
  type VrrpEvent,
  type VrrpState,
} from '../../src/vrrp/fsm.js';
import { createSyncGroup, stepSyncGroup, type SyncGroupAction, type SyncGroupState } from '../../src/vrrp/sync.js';
import { withDefaults, type VrrpInstanceInput } from '../../src/vrrp/types.js';

export interface Executed {
  t: number;
  instance: string;
  action: VrrpAction;
}

/** Runs the timers and network for a set of instances. */
abstract class Host {
  readonly executed: Executed[] = [];
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  lan?: Lan;

  protected abstract deliver(instance: string, event: VrrpEvent): void;
  abstract stateOf(instance: string): VrrpState;
  abstract instances(): string[];

  protected exec(instance: string, action: VrrpAction): void {
    this.executed.push({ t: Date.now(), instance, action });
    const key = `${instance}/${action.type === 'setTimer' || action.type === 'cancelTimer' ? action.name : ''}`;
    if (action.type === 'setTimer') {
      const old = this.timers.get(key);
      if (old) clearTimeout(old);
      const name: TimerName = action.name;
      this.timers.set(key, setTimeout(() => {
        this.timers.delete(key);
        this.deliver(instance, { type: 'timer', name });
      }, action.ms));
    } else if (action.type === 'cancelTimer') {
      const old = this.timers.get(key);
      if (old) clearTimeout(old);
      this.timers.delete(key);
    } else if (action.type === 'sendAdvert') {
      this.lan?.transmit(this, this.stateOf(instance), action.priority);
    }
  }

  receive(instance: string, payload: Buffer, source: string, destination: string, ttl = 255): void {
    this.receivePayload(instance, payload, source, destination, ttl);
  }

  protected abstract receivePayload(instance: string, payload: Buffer, source: string, destination: string, ttl: number): void;

  /** Executed actions, optionally filtered by instance and type. */
  actions(filter: { instance?: string; type?: VrrpAction['type'] } = {}): Executed[] {
    return this.executed.filter((e) =>
      (filter.instance === undefined || e.instance === filter.instance) &&
      (filter.type === undefined || e.action.type === filter.type));
  }

  logs(instance?: string): string[] {
    return this.executed
      .filter((e) => instance === undefined || e.instance === instance)
      .map((e) => (e.action.type === 'log' ? e.action.msg : undefined))
      .filter((m): m is string => m !== undefined);
  }

  stopTimers(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}

/** A single vrrp_instance. */
export class Router extends Host {
  state: VrrpState;

  constructor(input: VrrpInstanceInput) {
    super();
    this.state = initialState(withDefaults(input));
  }

  get name(): string {
    return this.state.cfg.name;
  }

  get current(): string {
    return this.state.state;
  }

  dispatch(event: VrrpEvent): void {
    const r = step(this.state, event, Date.now());
    this.state = r.state;
    for (const a of r.actions) this.exec(this.name, a);
  }

  protected deliver(_instance: string, event: VrrpEvent): void {
    this.dispatch(event);
  }

  stateOf(): VrrpState {
    return this.state;
  }

  instances(): string[] {
    return [this.name];
  }

  protected receivePayload(_instance: string, payload: Buffer, source: string, destination: string, ttl: number): void {
    const multicast = destination.startsWith('224.') || destination.startsWith('ff');
    const r = receiveAdvert(this.state, payload, {
      family: this.state.cfg.family, source, destination, ttl, multicast,
    }, Date.now());
    this.state = r.state;
    for (const a of r.actions) this.exec(this.name, a);
  }
}

/** A vrrp_sync_group of instances on one host. */
export class GroupHost extends Host {
  group: SyncGroupState;

  constructor(name: string, inputs: VrrpInstanceInput[]) {
    super();
    this.group = createSyncGroup(name, inputs.map((i) => initialState(withDefaults(i))));
  }

  dispatch(instance: string, event: VrrpEvent): void {
    this.apply(stepSyncGroup(this.group, instance, event, Date.now()));
  }

  private apply(r: { group: SyncGroupState; actions: SyncGroupAction[] }): void {
    this.group = r.group;
    for (const a of r.actions) this.exec(a.instance ?? `group:${this.group.name}`, a.action);
  }

  protected deliver(instance: string, event: VrrpEvent): void {
    this.dispatch(instance, event);
  }

  stateOf(instance: string): VrrpState {
    const m = this.group.members[instance];
    if (!m) throw new Error(`no member ${instance}`);
    return m;
  }

  instances(): string[] {
    return [...this.group.order];
  }

  current(instance: string): string {
    return this.stateOf(instance).state;
  }

  protected receivePayload(instance: string, payload: Buffer, source: string, destination: string, ttl: number): void {
    // Decode against the member, then step through the group so that peers follow.
    const member = this.stateOf(instance);
    const multicast = destination.startsWith('224.') || destination.startsWith('ff');
    const r = receiveAdvert(member, payload, { family: member.cfg.family, source, destination, ttl, multicast }, Date.now());
    if (!r.decode.ok) return;
    this.apply(stepSyncGroup(this.group, instance, { type: 'advertReceived', advert: r.decode.advert, from: source }, Date.now()));
  }
}

/** Multicast LAN segment: every advert reaches every other host's instances with the same VRID. */
export class Lan {
  readonly hosts: Host[] = [];
  /** Wire delay, ms. */
  constructor(readonly delayMs = 0) {}

  attach<T extends Host>(host: T): T {
    host.lan = this;
    this.hosts.push(host);
    return host;
  }

  transmit(from: Host, sender: VrrpState, priority: number): void {
    const cfg = sender.cfg;
    const source = cfg.primaryAddress ?? (cfg.family === 'inet' ? '192.0.2.1' : 'fe80::1');
    const destination = cfg.mcastGroup ?? (cfg.family === 'inet' ? VRRP_MCAST_GROUP4 : VRRP_MCAST_GROUP6);
    const payload = encodeAdvert(
      { version: cfg.version, vrid: cfg.vrid, priority, addresses: cfg.vips, advertIntervalCs: cfg.advertIntervalCs, authType: cfg.authType },
      { family: cfg.family, source, destination, authPass: cfg.authPass, v3ChecksumAsV2: cfg.v3ChecksumAsV2 },
    );
    for (const host of this.hosts) {
      if (host === from) continue;
      for (const inst of host.instances()) {
        if (host.stateOf(inst).cfg.vrid !== cfg.vrid) continue;
        setTimeout(() => host.receive(inst, payload, source, destination), this.delayMs);
      }
    }
  }
}

/** A scripted remote router: sends adverts straight into `host` through the codec. */
export function injectAdvert(
  host: Host,
  instance: string,
  advert: Partial<AdvertInput> & { priority: number },
  source: string,
): void {
  const cfg = host.stateOf(instance).cfg;
  const destination = cfg.mcastGroup ?? (cfg.family === 'inet' ? VRRP_MCAST_GROUP4 : VRRP_MCAST_GROUP6);
  const payload = encodeAdvert(
    {
      version: cfg.version, vrid: cfg.vrid, addresses: cfg.vips, advertIntervalCs: cfg.advertIntervalCs,
      authType: cfg.authType, ...advert,
    },
    { family: cfg.family, source, destination, authPass: cfg.authPass },
  );
  host.receive(instance, payload, source, destination);
}
