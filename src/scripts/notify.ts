/**
 * Notify scripts (keepalived.conf(5) vrrp_instance / vrrp_sync_group "notify scripts and
 * alerts", real_server notify_up / notify_down; keepalived vrrp_notify.c, ipwrapper.c).
 *
 * What runs, as keepalived:
 * - a vrrp_instance entering MASTER / BACKUP / FAULT / STOP runs notify_master / _backup /
 *   _fault / _stop with its argv as written, then the generic `notify` with four words
 *   added: `INSTANCE NAME STATE PRIORITY` (NAME unquoted, one argv word; PRIORITY the
 *   effective priority);
 * - an instance removed at reload is reported as FAULT, unless `notify_deleted` is set:
 *   then its notify_deleted script (if any) runs and the generic notify gets DELETED;
 * - a vrrp_sync_group runs its notify_* script and the generic notify with
 *   `GROUP NAME STATE 0` (a group has no priority: keepalived passes 0);
 * - notify_master_rx_lower_pri (a MASTER receiving a lower priority advert) runs as
 *   written, with no words added;
 * - a real server going up / down runs notify_up / notify_down as written; a virtual server
 *   gaining / losing quorum runs quorum_up / quorum_down as written.
 * Each event also writes its line to the notify FIFOs (see fifo.ts), after starting the
 * scripts, as keepalived does.
 *
 * Differences from keepalived, chosen:
 * - keepalived forks notify scripts and never waits for them nor times them out (except
 *   STOP scripts at shutdown, SIGKILLed after 1 s). Here every notify script is killed
 *   (SIGTERM to its process group, SIGKILL `killGraceMs` later) at `timeoutMs`, default
 *   60 s, and the kill is logged; STOP scripts keep keepalived's 1 s (`stopTimeoutMs`).
 * - keepalived starts the scripts of successive events without waiting, so a slow
 *   notify_master can finish after the notify_backup of a later event. Here events of one
 *   object (one instance, group, real server, virtual server) are queued: the scripts of
 *   one event start together (the specific script first, then the generic one, as
 *   keepalived), and the next event's scripts start when they have all exited or been
 *   killed. Different objects never wait for each other. A queue longer than `maxQueue`
 *   drops its oldest waiting event (logged): a flapping instance cannot grow memory
 *   without bound. The FIFO line is written at once, never queued.
 */
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import type { ScriptSpec } from '../config/model/scripts.js';
import type { NotifyScripts } from '../config/model/vrrp.js';
import { cmdStr } from '../config/model/scripts.js';
import { runScript, type RunScriptOptions, type ScriptResult } from './exec.js';
import type { NotifyFifos } from './fifo.js';

export type VrrpNotifyState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP' | 'DELETED';

/** One script to run: argv final (generic notify words added). */
export interface NotifyRun {
  keyword: string;
  argv: string[];
  uid?: number;
  gid?: number;
}

/* ------------------------------------------------------------------ plans (pure) */

function usable(s: ScriptSpec | undefined): s is ScriptSpec {
  return !!s && !s.disabled && s.argv.length > 0;
}

function specificScript(scripts: NotifyScripts, state: VrrpNotifyState, group: boolean): { kw: string; spec?: ScriptSpec } {
  switch (state) {
    case 'MASTER':
      return { kw: 'notify_master', spec: scripts.notifyMaster };
    case 'BACKUP':
      return { kw: 'notify_backup', spec: scripts.notifyBackup };
    case 'FAULT':
      return { kw: 'notify_fault', spec: scripts.notifyFault };
    case 'STOP':
      return { kw: 'notify_stop', spec: scripts.notifyStop };
    case 'DELETED':
      // a sync group has no notify_deleted
      return { kw: 'notify_deleted', spec: group ? undefined : scripts.notifyDeleted };
  }
}

/**
 * The state an instance reports: DELETED becomes FAULT unless notify_deleted is configured
 * (keepalived keeps the old FAULT report for backward compatibility).
 */
export function reportedInstanceState(state: VrrpNotifyState, notifyDeleted: boolean): VrrpNotifyState {
  return state === 'DELETED' && !notifyDeleted ? 'FAULT' : state;
}

/**
 * The scripts a vrrp_instance (group=false) or vrrp_sync_group (group=true) state change
 * runs, in start order. `state` must already be the reported state (reportedInstanceState).
 */
export function vrrpNotifyPlan(scripts: NotifyScripts, group: boolean, name: string, state: VrrpNotifyState, priority: number): NotifyRun[] {
  const out: NotifyRun[] = [];
  const sp = specificScript(scripts, state, group);
  if (usable(sp.spec)) out.push({ keyword: sp.kw, argv: [...sp.spec.argv], uid: sp.spec.uid, gid: sp.spec.gid });
  if (usable(scripts.notify))
    out.push({
      keyword: 'notify',
      argv: [...scripts.notify.argv, group ? 'GROUP' : 'INSTANCE', name, state, String(group ? 0 : priority)],
      uid: scripts.notify.uid,
      gid: scripts.notify.gid,
    });
  return out;
}

/** A script run as written (notify_up/down, quorum_up/down, notify_master_rx_lower_pri). */
export function plainPlan(keyword: string, spec: ScriptSpec | undefined): NotifyRun[] {
  return usable(spec) ? [{ keyword, argv: [...spec.argv], uid: spec.uid, gid: spec.gid }] : [];
}

/**
 * keepalived sends no instance notifies when the instance has sent notifies before, is in
 * a sync group, and is already in the group's state: the group's notifies said it.
 */
export function instanceNotifiesSuppressed(o: { notifiesSent: boolean; inSyncGroup: boolean; state: VrrpNotifyState; groupState?: VrrpNotifyState }): boolean {
  return o.notifiesSent && o.inSyncGroup && o.state === o.groupState;
}

/* ------------------------------------------------------------------ runner (shell) */

export interface NotifyRunnerOptions {
  logger?: Logger;
  /** kill a notify script still running after this long, ms (default 60 000; 0: never) */
  timeoutMs?: number;
  /** STOP notifies, ms (keepalived: 1 s at shutdown) */
  stopTimeoutMs?: number;
  /** SIGTERM → SIGKILL grace, ms (default 1000) */
  killGraceMs?: number;
  /** waiting events per object before the oldest is dropped (default 100) */
  maxQueue?: number;
  /** FIFOs to write each event's line to */
  fifos?: NotifyFifos;
  run?: (o: RunScriptOptions) => Promise<ScriptResult>;
}

interface QueuedEvent {
  what: string;
  runs: NotifyRun[];
  timeoutMs: number;
  resolve: () => void;
}

interface ObjectQueue {
  busy: boolean;
  waiting: QueuedEvent[];
}

export class NotifyRunner {
  private readonly log: Logger;
  readonly timeoutMs: number;
  readonly stopTimeoutMs: number;
  private readonly killGraceMs: number;
  private readonly maxQueue: number;
  private readonly run: (o: RunScriptOptions) => Promise<ScriptResult>;
  private readonly queues = new Map<string, ObjectQueue>();
  private readonly aborts = new Set<AbortController>();
  fifos?: NotifyFifos;
  /** events dropped because their object's queue was full; scripts killed at their timeout */
  droppedEvents = 0;
  timedOut = 0;

  constructor(opts: NotifyRunnerOptions = {}) {
    this.log = opts.logger ?? silentLogger();
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    this.stopTimeoutMs = opts.stopTimeoutMs ?? 1000;
    this.killGraceMs = opts.killGraceMs ?? 1000;
    this.maxQueue = opts.maxQueue ?? 100;
    this.run = opts.run ?? runScript;
    this.fifos = opts.fifos;
  }

  /**
   * A vrrp_instance entered `state` (with `notifyDeleted`: notify_deleted was configured).
   * Returns a promise for the event's scripts' end; callers need not wait for it.
   */
  instance(name: string, scripts: NotifyScripts, state: VrrpNotifyState, priority: number, notifyDeleted = false): Promise<void> {
    const st = reportedInstanceState(state, notifyDeleted);
    const p = this.enqueue(`INSTANCE ${name}`, `${st}`, vrrpNotifyPlan(scripts, false, name, st, priority), st === 'STOP');
    this.fifos?.instance(name, st, priority);
    return p;
  }

  /** A vrrp_sync_group entered `state`. */
  group(name: string, scripts: NotifyScripts, state: Exclude<VrrpNotifyState, 'DELETED'>): Promise<void> {
    const p = this.enqueue(`GROUP ${name}`, state, vrrpNotifyPlan(scripts, true, name, state, 0), state === 'STOP');
    this.fifos?.group(name, state);
    return p;
  }

  /** A MASTER received an advert with a lower priority (notify_master_rx_lower_pri). */
  masterRxLowerPri(name: string, scripts: NotifyScripts, priority: number): Promise<void> {
    const p = this.enqueue(`INSTANCE ${name}`, 'MASTER_RX_LOWER_PRI', plainPlan('notify_master_rx_lower_pri', scripts.notifyMasterRxLowerPri), false);
    this.fifos?.instance(name, 'MASTER_RX_LOWER_PRI', priority);
    return p;
  }

  /** notify_priority_changes: only a FIFO line (MASTER_PRIORITY / BACKUP_PRIORITY). */
  priorityChange(name: string, master: boolean, priority: number): void {
    this.fifos?.instance(name, master ? 'MASTER_PRIORITY' : 'BACKUP_PRIORITY', priority);
  }

  /** A real server went up / down: `rs` and `vs` as keepalived formats them (fifo.ts trio). */
  realServer(rs: string, vs: string, up: boolean, spec: { notifyUp?: ScriptSpec; notifyDown?: ScriptSpec }, stopping = false): Promise<void> {
    const p = this.enqueue(`RS ${rs} ${vs}`, up ? 'UP' : 'DOWN', plainPlan(up ? 'notify_up' : 'notify_down', up ? spec.notifyUp : spec.notifyDown), stopping);
    this.fifos?.realServer(rs, vs, up);
    return p;
  }

  /** A virtual server gained / lost quorum. */
  virtualServer(vs: string, up: boolean, spec: { quorumUp?: ScriptSpec; quorumDown?: ScriptSpec }, stopping = false): Promise<void> {
    const p = this.enqueue(`VS ${vs}`, up ? 'UP' : 'DOWN', plainPlan(up ? 'quorum_up' : 'quorum_down', up ? spec.quorumUp : spec.quorumDown), stopping);
    this.fifos?.virtualServer(vs, up);
    return p;
  }

  /** Queue `runs` for object `key`; resolves when they have all ended (or were dropped). */
  enqueue(key: string, what: string, runs: NotifyRun[], stop: boolean): Promise<void> {
    if (runs.length === 0) return Promise.resolve();
    let q = this.queues.get(key);
    if (!q) {
      q = { busy: false, waiting: [] };
      this.queues.set(key, q);
    }
    return new Promise<void>((resolve) => {
      q.waiting.push({ what, runs, timeoutMs: stop ? this.stopTimeoutMs : this.timeoutMs, resolve });
      while (q.waiting.length > this.maxQueue) {
        const old = q.waiting.shift()!;
        this.droppedEvents++;
        this.log.warn({ object: key, state: old.what }, `${key}: too many notify events waiting - not running the ${old.what} notify scripts`);
        old.resolve();
      }
      if (!q.busy) void this.drain(key, q);
    });
  }

  private async drain(key: string, q: ObjectQueue): Promise<void> {
    q.busy = true;
    while (q.waiting.length) {
      const ev = q.waiting.shift()!;
      await Promise.all(ev.runs.map((r) => this.runOne(key, r, ev.timeoutMs)));
      ev.resolve();
    }
    q.busy = false;
    this.queues.delete(key);
  }

  private async runOne(key: string, r: NotifyRun, timeoutMs: number): Promise<void> {
    const abort = new AbortController();
    this.aborts.add(abort);
    const cmd = cmdStr(r.argv);
    const fields = { object: key, keyword: r.keyword, script: cmd };
    try {
      const res = await this.run({ argv: r.argv, uid: r.uid, gid: r.gid, timeoutMs, killGraceMs: this.killGraceMs, signal: abort.signal, captureBytes: 0 });
      if (res.error !== undefined && !res.aborted) this.log.error({ ...fields, error: res.error }, `Error exec-ing command '${r.argv[0]}': ${res.error}`);
      else if (res.timedOut) {
        this.timedOut++;
        this.log.warn({ ...fields, timeoutMs, pid: res.pid, reason: 'timeout' }, `${r.keyword} script ${cmd} timed out after ${timeoutMs} ms - killed`);
      } else if (res.code !== 0 && !res.aborted) this.log.debug({ ...fields, exitCode: res.code, signal: res.signal }, `${r.keyword} script ${cmd} exited with status ${res.code ?? res.signal}`);
    } catch (e) {
      this.log.error({ ...fields, err: String(e) }, `${r.keyword} script ${cmd} could not be run: ${String(e)}`);
    } finally {
      this.aborts.delete(abort);
    }
  }

  /** Resolves when no notify script is running or waiting. */
  async idle(): Promise<void> {
    while (this.queues.size) {
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Kill every running script, drop waiting events; resolves when they have exited. */
  async close(): Promise<void> {
    for (const q of this.queues.values()) {
      for (const ev of q.waiting.splice(0)) ev.resolve();
    }
    for (const a of this.aborts) a.abort();
    await this.idle();
  }
}
