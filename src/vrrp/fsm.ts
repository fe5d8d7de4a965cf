/**
 * VRRP state machine as a pure reducer: step(state, event, now) → { state, actions }.
 *
 * States and transitions follow RFC 3768 §6.4 / RFC 5798 §6.4 with keepalived's extensions
 * (FAULT and STOP states, tracking, preempt_delay, sync groups, GARP scheduling) and log texts.
 * `now` is a millisecond clock reading supplied by the caller; it is only used to remember when
 * the master down timer will expire. Timers are requested through setTimer/cancelTimer actions
 * and come back as `timer` events.
 */
import { canonicalAddress, compareAddresses } from './addr.js';
import { decodeAdvert, expectationsFor, type Advert, type DecodeResult, type RxInfo } from './codec.js';
import {
  VRRP_PRIO_OWNER,
  VRRP_PRIO_STOP,
  csToMs,
  masterDownIntervalUs,
  skewTimeUs,
  usToTimerMs,
} from './timing.js';
import type { TrackKind, TrackedObject, VrrpInstanceConfig } from './types.js';

export type VrrpStateName = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP';

export type TimerName =
  | 'masterDown' // RFC 3768 §6.2 Master_Down_Timer
  | 'advert' // RFC 3768 §6.2 Adver_Timer
  | 'preemptDelay' // keepalived preempt_delay
  | 'garpDelay' // keepalived garp_master_delay: second GARP burst after becoming master
  | 'garpRefresh' // keepalived garp_master_refresh
  | 'garpLowerPrio'; // keepalived garp_lower_prio_delay

export interface TrackStatus {
  /** interface/script/process/bfd: up (or script OK). */
  up: boolean;
  /** track_file: the integer read from the file. */
  value: number;
}

export type TrackSnapshot = Readonly<Record<string, Partial<TrackStatus>>>;

export function trackKey(kind: TrackKind, name: string): string {
  return `${kind}:${name}`;
}

export type NotifyState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP' | 'MASTER_RX_LOWER_PRI';

export interface LogFields {
  instance: string;
  vrid?: number;
  group?: string;
  from?: string;
  to?: string;
  peer?: string;
  reason?: string;
  priority?: number;
  ours?: number;
  theirs?: number;
  [key: string]: string | number | boolean | undefined;
}

export type VrrpAction =
  | { type: 'sendAdvert'; priority: number; advertIntervalCs: number }
  | { type: 'addVips'; vips: string[] }
  | { type: 'removeVips'; vips: string[] }
  | { type: 'garpBurst'; vips: string[]; count: number }
  | { type: 'setTimer'; name: TimerName; ms: number; us: number }
  | { type: 'cancelTimer'; name: TimerName }
  | { type: 'runNotify'; state: NotifyState; group?: string }
  | { type: 'log'; msg: string; fields: LogFields };

export type SyncTarget = 'MASTER' | 'BACKUP' | 'FAULT';

export type VrrpEvent =
  | { type: 'startup'; track?: TrackSnapshot }
  | { type: 'advertReceived'; advert: Advert; from: string }
  | { type: 'timer'; name: TimerName }
  | { type: 'trackChanged'; kind: TrackKind; name: string; up?: boolean; value?: number }
  | { type: 'shutdown' }
  | { type: 'syncGroup'; to: SyncTarget; group: string };

/** View of the other sync group members, maintained by stepSyncGroup(). */
export interface SyncMembership {
  group: string;
  /** Every other member is MASTER or wants to be (keepalived vrrp_sync_can_goto_master). */
  peersWantMaster: boolean;
  /** Some other member is in FAULT for a reason of its own. */
  groupFault: boolean;
}

export interface VrrpStats {
  becomeMaster: number;
  releaseMaster: number;
  advertSent: number;
  priZeroSent: number;
  priZeroRcvd: number;
}

export interface VrrpState {
  readonly cfg: VrrpInstanceConfig;
  state: VrrpStateName;
  /** State we would be in disregarding the sync group (keepalived wantstate). */
  wantState: VrrpStateName;
  /** base priority + tracking weights, unclamped (keepalived total_priority). */
  totalPriority: number;
  /** Priority advertised: totalPriority clamped to 1..254; 255 for an address owner. */
  effectivePriority: number;
  track: Readonly<Record<string, TrackStatus>>;
  /** Unweighted tracked objects currently failed: the instance's own fault reasons. */
  faults: readonly string[];
  /** In FAULT only because another sync group member is. */
  syncFault: boolean;
  /** RFC 5798 §6.1 Master_Adver_Interval, cs (v2: always our advert_int). */
  masterAdverIntCs: number;
  masterAddress?: string;
  masterPriority?: number;
  preempt: 'idle' | 'running' | 'expired';
  /** When the master down timer fires, in `now` units (ms). */
  masterDownDeadline?: number;
  /** Interval the master down timer was last armed with, µs. */
  masterDownUs?: number;
  vipsSet: boolean;
  /** A peer used the pre-1.3.7 VRRPv3 unicast checksum: send with it too (old_unicast_checksum). */
  oldUnicastChecksum: boolean;
  /** Peers whose lower-priority adverts have been logged while MASTER (dual master). */
  loggedLowerPrioPeers: readonly string[];
  /** Peers whose adverts for a foreign VRID have been logged. */
  loggedForeignVridPeers: readonly string[];
  sync?: SyncMembership;
  lastTransition?: number;
  stats: VrrpStats;
}

export interface StepResult {
  state: VrrpState;
  actions: VrrpAction[];
}

interface TrackingResult {
  total: number;
  effective: number;
  faults: string[];
}

const UNKNOWN_STATUS: TrackStatus = { up: true, value: 0 };

/**
 * Effective priority and fault reasons from the tracked objects (keepalived vrrp_track.c,
 * track_file.c semantics). The instance's own interface is tracked unweighted unless
 * dont_track_primary is set or it is listed in track_interface.
 */
export function evaluateTracking(cfg: VrrpInstanceConfig, track: Readonly<Record<string, TrackStatus>>): TrackingResult {
  const objects: TrackedObject[] = [...cfg.tracked];
  if (!cfg.dontTrackPrimary && !objects.some((o) => o.kind === 'interface' && o.name === cfg.interface)) {
    objects.push({ kind: 'interface', name: cfg.interface, weight: 0, reverse: false });
  }
  let total = cfg.priority;
  const faults: string[] = [];
  for (const o of objects) {
    const st = track[trackKey(o.kind, o.name)] ?? UNKNOWN_STATUS;
    const sign = o.reverse ? -1 : 1;
    if (o.kind === 'file') {
      if (o.weight === 0) {
        // Unweighted file: a non-zero value is a failure (zero when reversed).
        if ((st.value !== 0) === (sign === 1)) faults.push(`file ${o.name}`);
      } else {
        const contribution = Math.max(-254, Math.min(253, st.value * o.weight * sign));
        if (contribution === -254) faults.push(`file ${o.name}`);
        else total += contribution;
      }
      continue;
    }
    if (o.weight === 0) {
      if (st.up !== (sign === 1)) faults.push(`${o.kind} ${o.name}`);
    } else if (st.up) {
      if (o.weight > 0) total += o.weight * sign;
    } else if (o.weight < 0) {
      total += o.weight * sign;
    }
  }
  // keepalived: an address owner's priority is never changed by tracking.
  const effective = cfg.priority === VRRP_PRIO_OWNER ? VRRP_PRIO_OWNER : Math.max(1, Math.min(VRRP_PRIO_OWNER - 1, total));
  return { total, effective, faults };
}

export function initialState(cfg: VrrpInstanceConfig): VrrpState {
  const { total, effective, faults } = evaluateTracking(cfg, {});
  return {
    cfg,
    state: 'INIT',
    wantState: cfg.priority === VRRP_PRIO_OWNER ? 'MASTER' : 'BACKUP',
    totalPriority: total,
    effectivePriority: effective,
    track: {},
    faults,
    syncFault: false,
    masterAdverIntCs: cfg.advertIntervalCs,
    preempt: 'idle',
    vipsSet: false,
    oldUnicastChecksum: cfg.unicastChecksumCompat === 'config',
    loggedLowerPrioPeers: [],
    loggedForeignVridPeers: [],
    stats: { becomeMaster: 0, releaseMaster: 0, advertSent: 0, priZeroSent: 0, priZeroRcvd: 0 },
  };
}

/** Master_Down_Interval for the current state, µs. */
export function currentMasterDownUs(s: VrrpState): number {
  const { cfg } = s;
  return masterDownIntervalUs(cfg.version, skewPriority(s), adverIntCs(s), cfg.downTimerAdverts);
}

/** Skew_Time for the current state, µs. */
export function currentSkewUs(s: VrrpState): number {
  return skewTimeUs(s.cfg.version, skewPriority(s), adverIntCs(s));
}

function skewPriority(s: VrrpState): number {
  return s.cfg.priority === VRRP_PRIO_OWNER ? VRRP_PRIO_OWNER : s.effectivePriority;
}

function adverIntCs(s: VrrpState): number {
  // RFC 3768 has no Master_Adver_Interval: v2 always uses our own Advertisement_Interval.
  return s.cfg.version === 3 ? s.masterAdverIntCs : s.cfg.advertIntervalCs;
}

function fmtSeconds(ms: number): string {
  const us = Math.round(ms * 1000);
  return `${Math.floor(us / 1_000_000)}.${String(us % 1_000_000).padStart(6, '0')}`;
}

/** Mutable working copy for one step; the input state is never modified. */
class Stepper {
  readonly s: VrrpState;
  readonly actions: VrrpAction[] = [];

  constructor(state: VrrpState, readonly now: number) {
    this.s = { ...state, stats: { ...state.stats } };
  }

  get cfg(): VrrpInstanceConfig {
    return this.s.cfg;
  }

  get tag(): string {
    return `(${this.cfg.name})`;
  }

  log(msg: string, fields: Omit<LogFields, 'instance'> = {}): void {
    this.actions.push({ type: 'log', msg, fields: { instance: this.cfg.name, vrid: this.cfg.vrid, ...fields } });
  }

  setTimer(name: TimerName, us: number): void {
    this.actions.push({ type: 'setTimer', name, ms: usToTimerMs(us), us });
  }

  cancelTimer(name: TimerName): void {
    this.actions.push({ type: 'cancelTimer', name });
  }

  setMasterDown(us: number): void {
    this.setTimer('masterDown', us);
    this.s.masterDownDeadline = this.now + us / 1000;
    this.s.masterDownUs = us;
  }

  cancelMasterDown(): void {
    this.cancelTimer('masterDown');
    this.s.masterDownDeadline = undefined;
    this.s.masterDownUs = undefined;
  }

  sendAdvert(priority: number): void {
    this.actions.push({ type: 'sendAdvert', priority, advertIntervalCs: this.cfg.advertIntervalCs });
    this.s.stats.advertSent++;
    if (priority === VRRP_PRIO_STOP) this.s.stats.priZeroSent++;
  }

  armAdvertTimer(): void {
    this.setTimer('advert', this.cfg.advertIntervalCs * 10_000);
  }

  garp(count: number): void {
    if (count > 0 && this.cfg.vips.length > 0) this.actions.push({ type: 'garpBurst', vips: [...this.cfg.vips], count });
  }

  notify(state: NotifyState): void {
    this.actions.push({ type: 'runNotify', state });
  }

  transition(to: VrrpStateName): VrrpStateName {
    const from = this.s.state;
    this.s.state = to;
    this.s.lastTransition = this.now;
    return from;
  }

  // -- transitions --------------------------------------------------------------------------

  /** keepalived vrrp_state_goto_master + vrrp_state_master_tx + vrrp_state_become_master. */
  gotoMaster(reason: string, forced = false): void {
    const { s, cfg } = this;
    s.wantState = 'MASTER';
    if (!forced && s.sync && !s.sync.peersWantMaster) {
      // Sync group: only go master when every member wants to; wait another full interval.
      this.setMasterDown(currentMasterDownUs(s));
      return;
    }
    this.cancelMasterDown();
    if (s.preempt !== 'idle') this.cancelTimer('preemptDelay');
    s.preempt = 'idle';
    // RFC 5798 §6.4.1: a master advertises its own Advertisement_Interval.
    s.masterAdverIntCs = cfg.advertIntervalCs;
    const from = this.transition('MASTER');
    // The previous master must see our advert (and drop the VIPs) before our GARPs go out.
    this.sendAdvert(s.effectivePriority);
    this.log(`${this.tag} Entering MASTER STATE`, { from, to: 'MASTER', reason, priority: s.effectivePriority });
    if (cfg.vips.length > 0) this.actions.push({ type: 'addVips', vips: [...cfg.vips] });
    s.vipsSet = true;
    this.garp(cfg.garpMasterRepeat);
    if (cfg.garpMasterDelayMs > 0) this.setTimer('garpDelay', cfg.garpMasterDelayMs * 1000);
    if (cfg.garpMasterRefreshMs > 0) this.setTimer('garpRefresh', (cfg.garpMasterDelayMs + cfg.garpMasterRefreshMs) * 1000);
    this.notify('MASTER');
    this.armAdvertTimer();
    s.loggedLowerPrioPeers = [];
    s.stats.becomeMaster++;
  }

  /** keepalived vrrp_state_leave_master (+ vrrp_restore_interface). */
  leaveMaster(to: 'BACKUP' | 'FAULT', reason: string, sendPrioZero: boolean): void {
    const { s, cfg } = this;
    this.cancelTimer('advert');
    this.cancelTimer('garpDelay');
    this.cancelTimer('garpRefresh');
    this.cancelTimer('garpLowerPrio');
    this.log(`${this.tag} Entering ${to} STATE`, { from: 'MASTER', to, reason });
    // RFC 3768 §6.4.3: a master that stops advertises priority 0 so backups take over after Skew_Time.
    if (sendPrioZero) this.sendAdvert(VRRP_PRIO_STOP);
    if (s.vipsSet && cfg.vips.length > 0) this.actions.push({ type: 'removeVips', vips: [...cfg.vips] });
    s.vipsSet = false;
    this.transition(to);
    s.wantState = to;
    this.notify(to);
    s.loggedLowerPrioPeers = [];
    s.stats.releaseMaster++;
    if (to === 'BACKUP') {
      s.preempt = 'idle';
      this.setMasterDown(currentMasterDownUs(s));
    }
  }

  enterFault(reason: string, init = false): void {
    const { s } = this;
    if (s.state === 'MASTER') {
      this.leaveMaster('FAULT', reason, true);
      return;
    }
    this.cancelMasterDown();
    if (s.preempt !== 'idle') this.cancelTimer('preemptDelay');
    s.preempt = 'idle';
    const from = this.transition('FAULT');
    s.wantState = 'FAULT';
    this.log(`${this.tag} Entering FAULT STATE${init ? ' (init)' : ''}`, { from, to: 'FAULT', reason });
    this.notify('FAULT');
  }

  /** keepalived try_up_instance + vrrp_state_leave_fault. */
  leaveFault(reason: string): void {
    const { s, cfg } = this;
    s.syncFault = false;
    s.masterAdverIntCs = cfg.advertIntervalCs;
    if (cfg.priority === VRRP_PRIO_OWNER && (!s.sync || s.sync.peersWantMaster)) {
      this.gotoMaster(reason);
      return;
    }
    const from = this.transition('BACKUP');
    s.wantState = cfg.priority === VRRP_PRIO_OWNER ? 'MASTER' : 'BACKUP';
    s.preempt = 'idle';
    this.log(`${this.tag} Entering BACKUP STATE`, { from, to: 'BACKUP', reason });
    this.notify('BACKUP');
    this.setMasterDown(currentMasterDownUs(s));
  }

  // -- events -------------------------------------------------------------------------------

  startup(snapshot: TrackSnapshot | undefined): void {
    const { s, cfg } = this;
    if (s.state !== 'INIT') return;
    if (snapshot) {
      const track: Record<string, TrackStatus> = { ...s.track };
      for (const [key, st] of Object.entries(snapshot)) track[key] = { ...UNKNOWN_STATUS, ...st };
      s.track = track;
    }
    this.applyTracking(false);
    s.masterAdverIntCs = cfg.advertIntervalCs;
    if (s.faults.length > 0 || s.sync?.groupFault) {
      s.syncFault = s.faults.length === 0;
      this.enterFault(s.faults.join(', ') || 'sync group fault', true);
      return;
    }
    // RFC 3768 §6.4.1: the address owner becomes master at once.
    if (cfg.priority === VRRP_PRIO_OWNER && (!s.sync || s.sync.peersWantMaster)) {
      this.gotoMaster('address owner');
      return;
    }
    const from = this.transition('BACKUP');
    this.log(`${this.tag} Entering BACKUP STATE (init)`, { from, to: 'BACKUP', reason: 'startup' });
    this.notify('BACKUP');
    if (cfg.priority === VRRP_PRIO_OWNER) {
      // Owner held back by its sync group: allow one advert interval for another master to show.
      s.wantState = 'MASTER';
      this.setMasterDown(adverIntCs(s) * 10_000 + skewTimeUs(cfg.version, 255, adverIntCs(s)));
    } else {
      s.wantState = 'BACKUP';
      this.setMasterDown(currentMasterDownUs(s));
    }
  }

  advertReceived(advert: Advert, fromRaw: string): void {
    const { s, cfg } = this;
    const from = canonicalAddress(fromRaw);
    if (advert.vrid !== cfg.vrid) {
      if (!s.loggedForeignVridPeers.includes(from)) {
        s.loggedForeignVridPeers = [...s.loggedForeignVridPeers, from];
        this.log(`Unknown VRID(${advert.vrid}) received on interface(${cfg.interface}) from ${from}. ignoring...`,
          { peer: from, theirVrid: advert.vrid, reason: 'foreign vrid' });
      }
      return;
    }
    if (advert.priority === VRRP_PRIO_STOP) s.stats.priZeroRcvd++;
    if (s.state === 'BACKUP') this.backupRx(advert, from);
    else if (s.state === 'MASTER') this.masterRx(advert, from);
    // INIT, FAULT, STOP: adverts are ignored (keepalived vrrp_dispatcher_read).
  }

  /** RFC 3768 §6.4.2 / RFC 5798 §6.4.2, keepalived vrrp_state_backup. */
  private backupRx(advert: Advert, from: string): void {
    const { s, cfg } = this;
    const ours = s.effectivePriority;
    if (advert.priority === VRRP_PRIO_STOP) {
      this.log(`${this.tag} Backup received priority 0 advertisement`, { peer: from, theirs: 0 });
      this.setMasterDown(currentSkewUs(s));
      return;
    }
    const preemptHeld = cfg.preemptDelayMs > 0 && s.preempt !== 'expired';
    if (cfg.nopreempt || advert.priority >= ours || preemptHeld) {
      if (cfg.version === 3 && advert.advertIntervalCs !== s.masterAdverIntCs) {
        this.log(`${this.tag} advertisement interval updated from ${csToMs(s.masterAdverIntCs)}ms to ${csToMs(advert.advertIntervalCs)}ms by master`,
          { peer: from, oursCs: s.masterAdverIntCs, theirsCs: advert.advertIntervalCs });
        s.masterAdverIntCs = advert.advertIntervalCs;
      }
      this.setMasterDown(currentMasterDownUs(s));
      s.masterAddress = from;
      s.masterPriority = advert.priority;
      if (cfg.preemptDelayMs > 0) {
        if (advert.priority >= ours) {
          if (s.preempt !== 'idle') {
            this.log(`${this.tag} stop preempt delay`, { peer: from });
            this.cancelTimer('preemptDelay');
            s.preempt = 'idle';
          }
        } else if (s.preempt === 'idle') {
          this.log(`${this.tag} start preempt delay (${fmtSeconds(cfg.preemptDelayMs)})`, { peer: from, theirs: advert.priority, ours });
          this.setTimer('preemptDelay', cfg.preemptDelayMs * 1000);
          s.preempt = 'running';
        }
      }
      s.wantState = 'BACKUP';
      return;
    }
    // Preempting: let the master down timer run out.
    this.log(`${this.tag} received lower priority (${advert.priority}) advert from ${from} - discarding`,
      { peer: from, theirs: advert.priority, ours });
    s.masterAddress = from;
  }

  /** RFC 3768 §6.4.3 / RFC 5798 §6.4.3, keepalived vrrp_state_master_rx. */
  private masterRx(advert: Advert, from: string): void {
    const { s, cfg } = this;
    const ours = s.effectivePriority;
    const theirs = advert.priority;
    const addrCmp = cfg.primaryAddress !== undefined ? compareAddresses(from, cfg.primaryAddress) : 0;
    const theyWin = theirs > ours || (theirs === ours && addrCmp > 0);

    if (theirs === VRRP_PRIO_STOP || (cfg.higherPrioSendAdvert && theyWin)) {
      this.sendAdvert(ours);
      this.armAdvertTimer();
      if (theirs === VRRP_PRIO_STOP) {
        this.log(`${this.tag} Master received priority 0 message`, { peer: from, theirs, ours });
        return;
      }
    }

    if (theirs === ours) {
      if (addrCmp === 0) {
        this.log(`${this.tag} WARNING - equal priority advert received from remote host with our IP address.`, { peer: from, theirs, ours });
        return;
      }
      if (ours === VRRP_PRIO_OWNER) {
        this.log(`${this.tag} CONFIGURATION ERROR: local instance and ${from} are both configured as address owner, please resolve`,
          { peer: from, theirs, ours });
      }
    }

    if (!theyWin) {
      // Dual master: a lower priority router also believes it is master.
      if (!s.loggedLowerPrioPeers.includes(from)) {
        s.loggedLowerPrioPeers = [...s.loggedLowerPrioPeers, from];
        this.log(`${this.tag} Received advert from ${from} with lower priority ${theirs}, ours ${ours}${cfg.lowerPrioNoAdvert ? '' : ', forcing new election'}`,
          { peer: from, theirs, ours, reason: 'dual master' });
      }
      if (!cfg.lowerPrioNoAdvert) {
        this.sendAdvert(ours);
        this.armAdvertTimer();
      }
      if (cfg.garpLowerPrioRepeat > 0) {
        this.garp(cfg.garpLowerPrioRepeat);
        if (cfg.garpLowerPrioDelayMs > 0) this.setTimer('garpLowerPrio', cfg.garpLowerPrioDelayMs * 1000);
      }
      this.notify('MASTER_RX_LOWER_PRI');
      return;
    }

    if (theirs > ours && cfg.priority !== VRRP_PRIO_OWNER) {
      this.log(`${this.tag} Master received advert from ${from} with higher priority ${theirs}, ours ${ours}`, { peer: from, theirs, ours });
    } else {
      this.log(`${this.tag} Master received advert from ${from} with same priority ${theirs} but higher IP address than ours`, { peer: from, theirs, ours });
    }
    if (cfg.version === 3) s.masterAdverIntCs = advert.advertIntervalCs;
    s.masterAddress = from;
    s.masterPriority = theirs;
    this.leaveMaster('BACKUP', theirs > ours ? 'higher priority advert' : 'equal priority, higher address', false);
  }

  timer(name: TimerName): void {
    const { s, cfg } = this;
    switch (name) {
      case 'masterDown':
        if (s.state !== 'BACKUP') return;
        s.masterDownDeadline = undefined;
        s.masterDownUs = undefined;
        this.log(`${this.tag} Receive advertisement timeout`, { reason: 'master down timer' });
        this.gotoMaster('master down timer expired');
        return;
      case 'advert':
        if (s.state !== 'MASTER') return;
        this.sendAdvert(s.effectivePriority);
        this.armAdvertTimer();
        return;
      case 'preemptDelay':
        if (s.state !== 'BACKUP' || s.preempt !== 'running') return;
        s.preempt = 'expired';
        this.log(`${this.tag} preempt delay expired`, { reason: 'preempt_delay' });
        return;
      case 'garpDelay':
        if (s.state === 'MASTER') this.garp(cfg.garpMasterRepeat);
        return;
      case 'garpRefresh':
        if (s.state !== 'MASTER') return;
        this.garp(cfg.garpMasterRefreshRepeat);
        this.setTimer('garpRefresh', cfg.garpMasterRefreshMs * 1000);
        return;
      case 'garpLowerPrio':
        if (s.state === 'MASTER') this.garp(cfg.garpLowerPrioRepeat);
        return;
    }
  }

  /** Recompute priority and fault reasons; returns the previous fault list. */
  private applyTracking(logChange: boolean): readonly string[] {
    const { s } = this;
    const prevFaults = s.faults;
    const prevEffective = s.effectivePriority;
    const prevDownUs = s.masterDownUs;
    const r = evaluateTracking(s.cfg, s.track);
    s.totalPriority = r.total;
    s.effectivePriority = r.effective;
    s.faults = r.faults;
    if (logChange && r.effective !== prevEffective) {
      this.log(`${this.tag} Changing effective priority from ${prevEffective} to ${r.effective}`,
        { from: String(prevEffective), to: String(r.effective), priority: r.effective });
      // keepalived vrrp_set_effective_priority: move the pending master down expiry by the
      // change in Master_Down_Interval (Skew_Time depends on the priority).
      if (s.state === 'BACKUP' && s.masterDownDeadline !== undefined && prevDownUs !== undefined) {
        const newDownUs = currentMasterDownUs(s);
        const deadline = s.masterDownDeadline + (newDownUs - prevDownUs) / 1000;
        const remainingUs = Math.max(0, Math.round((deadline - this.now) * 1000));
        this.setTimer('masterDown', remainingUs);
        s.masterDownDeadline = deadline;
        s.masterDownUs = newDownUs;
      }
    }
    return prevFaults;
  }

  trackChanged(kind: TrackKind, name: string, up: boolean | undefined, value: number | undefined): void {
    const { s } = this;
    const key = trackKey(kind, name);
    const prev = s.track[key] ?? UNKNOWN_STATUS;
    s.track = { ...s.track, [key]: { up: up ?? prev.up, value: value ?? prev.value } };
    if (s.state === 'INIT' || s.state === 'STOP') {
      this.applyTracking(false);
      return;
    }
    const prevFaults = this.applyTracking(true);
    if (s.faults.length > 0) {
      s.syncFault = false;
      if (s.state !== 'FAULT') this.enterFault(s.faults.join(', '));
      return;
    }
    if (s.state === 'FAULT' && prevFaults.length > 0) {
      if (s.sync?.groupFault) {
        // Our own fault cleared, but a sync group peer's has not: stay down with the group.
        s.syncFault = true;
        return;
      }
      this.leaveFault(`${kind} ${name} recovered`);
    }
  }

  shutdown(): void {
    const { s, cfg } = this;
    if (s.state === 'STOP') return;
    if (s.state === 'MASTER') {
      this.cancelTimer('advert');
      this.cancelTimer('garpDelay');
      this.cancelTimer('garpRefresh');
      this.cancelTimer('garpLowerPrio');
      // RFC 3768 §6.4.3 Shutdown: send an advert with priority 0.
      this.sendAdvert(VRRP_PRIO_STOP);
      this.log(`${this.tag} sent 0 priority`, { priority: 0 });
      if (s.vipsSet && cfg.vips.length > 0) this.actions.push({ type: 'removeVips', vips: [...cfg.vips] });
      s.vipsSet = false;
      s.stats.releaseMaster++;
    } else if (s.state === 'BACKUP') {
      this.cancelMasterDown();
    }
    if (s.preempt !== 'idle') this.cancelTimer('preemptDelay');
    s.preempt = 'idle';
    const from = this.transition('STOP');
    s.wantState = 'STOP';
    this.log(`${this.tag} Entering STOP STATE`, { from, to: 'STOP', reason: 'shutdown' });
    this.notify('STOP');
  }

  syncGroup(to: SyncTarget, group: string): void {
    const { s } = this;
    const reason = `sync group ${group}`;
    if (to === 'MASTER') {
      if (s.state === 'BACKUP') this.gotoMaster(reason, true);
    } else if (to === 'BACKUP') {
      if (s.state === 'MASTER') this.leaveMaster('BACKUP', reason, false);
      else if (s.state === 'FAULT' && s.faults.length === 0) this.leaveFault(reason);
    } else if (s.state === 'MASTER' || s.state === 'BACKUP') {
      s.syncFault = true;
      this.enterFault(reason);
    }
  }
}

export function step(state: VrrpState, event: VrrpEvent, now: number): StepResult {
  const st = new Stepper(state, now);
  switch (event.type) {
    case 'startup':
      st.startup(event.track);
      break;
    case 'advertReceived':
      st.advertReceived(event.advert, event.from);
      break;
    case 'timer':
      st.timer(event.name);
      break;
    case 'trackChanged':
      st.trackChanged(event.kind, event.name, event.up, event.value);
      break;
    case 'shutdown':
      st.shutdown();
      break;
    case 'syncGroup':
      st.syncGroup(event.to, event.group);
      break;
  }
  return { state: st.s, actions: st.actions };
}

export interface ReceiveResult extends StepResult {
  decode: DecodeResult;
}

/**
 * Receive path for one VRRP message (IP payload after any AH header): validate it against the
 * instance (codec.decodeAdvert), log the verdict, and step the FSM only for a valid advert.
 * A rejected packet leaves the state object untouched. Counting decode.counter / advert_rcvd
 * and rate-limiting repeated log texts (keepalived's rlflags) are the caller's business.
 */
export function receiveAdvert(state: VrrpState, payload: Buffer, rx: RxInfo, now: number): ReceiveResult {
  const { cfg } = state;
  // keepalived: a backup with skip_check_adv_addr only checks the VIP list when the master changes.
  const checkVipAddr = state.state !== 'BACKUP' || !cfg.skipCheckAdvAddr || state.masterAddress !== rx.source;
  const decode = decodeAdvert(payload, { ...rx, ...expectationsFor(cfg), checkVipAddr, unicastChecksumCompat:
    state.oldUnicastChecksum && cfg.unicastChecksumCompat === 'none' ? 'auto' : cfg.unicastChecksumCompat });
  const fields: LogFields = { instance: cfg.name, vrid: cfg.vrid, peer: rx.source };
  if (!decode.ok) {
    return {
      state,
      actions: [{ type: 'log', msg: decode.msg, fields: { ...fields, reason: decode.reason, counter: decode.counter } }],
      decode,
    };
  }
  const actions: VrrpAction[] = decode.warnings.map((w) => ({
    type: 'log' as const, msg: w.msg, fields: { ...fields, reason: w.reason, counter: w.counter },
  }));
  let next = state;
  if (decode.oldUnicastChecksum && !state.oldUnicastChecksum) next = { ...state, oldUnicastChecksum: true };
  const r = step(next, { type: 'advertReceived', advert: decode.advert, from: rx.source }, now);
  return { state: r.state, actions: [...actions, ...r.actions], decode };
}
