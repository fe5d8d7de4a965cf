// The IPVS manager: the imperative shell around the pure table logic
// (desired.ts → diff.ts → ipvsadm.ts). It keeps the kernel's IPVS table equal
// to what the configuration and the health checkers say, the way keepalived's
// checker process does (keepalived/check/ipwrapper.c), with three differences
// that keepalived.conf cannot observe:
//  * at start it reads the kernel table and adopts matching entries instead
//    of deleting and re-adding them, so connections and counters survive a
//    restart; only the difference is applied;
//  * health changes arriving together are coalesced into one `ipvsadm -R`
//    batch (one process) instead of one netlink call per change;
//  * a periodic reconcile re-reads the kernel table and heals changes made
//    behind its back (`ipvsadm -C`, a failed operation), which keepalived
//    never does.
// Log lines keep keepalived's texts (ipwrapper.c perform_svr_state,
// update_quorum_state, update_svr_wgt, clear_service_rs) so that log-based
// tooling keeps working; structured fields carry the same facts.

import { EventEmitter } from 'node:events';

import type { LvsConfig, RealServer as RealServerModel, VirtualServer } from '../config/model/lvs.js';
import { toIpvsSpecs } from '../config/model/lvs.js';
import type { ScriptSpec } from '../config/model/scripts.js';
import { runScript as defaultRunScript } from '../scripts/exec.js';
import type { RunScriptOptions, ScriptResult } from '../scripts/exec.js';
import { formatHostPort } from './addr.js';
import { desiredTable, effectiveQuorum, isRealServerAlive, realServerId, realWeight, stepQuorum } from './desired.js';
import type { HealthInput, RealServerHealth } from './desired.js';
import { applyOpsToTable, diffTables } from './diff.js';
import { formatOp } from './ipvsadm.js';
import type { ApplyResult, IpvsBackend, OpFailure } from './ipvsadm.js';
import { serviceKeyString } from './types.js';
import type { Op, RealServerSpec, Table, VirtualServerSpec } from './types.js';

/* ------------------------------------------------------------- interfaces */

/** A real server's health changed (what the checkers' HealthMonitor emits as 'change'). */
export interface HealthChange {
  vs: Pick<VirtualServer, 'id'>;
  rs: Pick<RealServerModel, 'ip' | 'port'>;
  /** All checkers of the real server pass. */
  up: boolean;
  /** Effective weight after dynamic adjustments; absent = the configured weight. */
  weight?: number;
  /** Why (checker message), for the log. */
  reason: string;
}

/** Where health comes from: src/checkers/monitor.ts HealthMonitor satisfies this. */
export interface HealthSource {
  on(event: 'change', listener: (c: HealthChange) => void): unknown;
  off(event: 'change', listener: (c: HealthChange) => void): unknown;
  /** Current health keyed by realServerId(vs.id, {ip, port}); absent = not checked yet. */
  health(): ReadonlyMap<string, RealServerHealth>;
}

/** The subset of a pino Logger the manager uses (msg = keepalived's text). */
export interface ManagerLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface IpvsManagerOptions {
  lvs: LvsConfig;
  health: HealthSource;
  backend: IpvsBackend;
  log: ManagerLogger;
  /**
   * Period of the reconcile that re-reads the kernel table and heals it, in
   * ms; 0 disables it. Default 10 000: two ipvsadm reads every 10 s cost
   * little, and a table flushed by hand is back within that time.
   */
  reconcileIntervalMs?: number;
  /**
   * How long health changes are gathered before one apply, in ms (default
   * 10). Checkers of many real servers often fire together (a switch port
   * going down); one batch then carries all of them.
   */
  coalesceMs?: number;
  /** Leave the services in the kernel at stop() (keepalived -I / --dont-release-ipvs). */
  keepOnStop?: boolean;
  /**
   * Time limit of notify_up/notify_down/quorum_up/quorum_down scripts, in ms
   * (default 30 000). keepalived gives them none; a hung script must not pile up.
   */
  scriptTimeoutMs?: number;
  /** Runs the scripts; default src/scripts/exec.ts runScript. */
  runScript?: (o: RunScriptOptions) => Promise<ScriptResult>;
}

/** Emitted as 'applied' after every batch (for tests and benchmarks). */
export interface AppliedEvent {
  ops: Op[];
  result: ApplyResult;
  /** The pass re-read the kernel table first (start, reconcile, after an error). */
  reread: boolean;
}

/* ------------------------------------------------------------------ model */

interface RsEntry {
  id: string;
  vs: VirtualServer;
  spec: VirtualServerSpec;
  model: RealServerModel;
  rsSpec: RealServerSpec;
}

interface VsEntry {
  vs: VirtualServer;
  spec: VirtualServerSpec;
  rs: RsEntry[];
}

/** keepalived inet_sockaddrtotrio(): "[10.0.0.1]:tcp:80"; "none" for fwmark services. */
function trio(ip: string, vs: VirtualServer, port: number): string {
  return `[${ip}]:${vs.protocol ? vs.protocol.toLowerCase() : 'none'}:${port}`;
}

/** Stopping scripts get 1 s (keepalived: system_call_script(..., TIMER_HZ, ...) on shutdown). */
const STOP_SCRIPT_TIMEOUT_MS = 1000;

/* ---------------------------------------------------------------- manager */

export class IpvsManager extends EventEmitter {
  private readonly backend: IpvsBackend;
  private readonly log: ManagerLogger;
  private readonly reconcileIntervalMs: number;
  private readonly coalesceMs: number;
  private readonly keepOnStop: boolean;
  private readonly scriptTimeoutMs: number;
  private readonly runScriptFn: (o: RunScriptOptions) => Promise<ScriptResult>;

  private lvs: LvsConfig;
  private source: HealthSource;
  private specs: VirtualServerSpec[] = [];
  private vsById = new Map<string, VsEntry>();
  private rsById = new Map<string, RsEntry>();
  /** Health as last reported, keyed by realServerId. */
  private readonly healthMap = new Map<string, RealServerHealth>();
  /** Quorum state per virtual server id (keepalived vs->quorum_state_up). */
  private readonly quorum = new Map<string, boolean>();
  /** Sum of live real-server weights per virtual server id, kept by deltas. */
  private readonly liveSum = new Map<string, number>();

  /** What the kernel holds as far as we know; undefined = read it before the next diff. */
  private kernel: Table | undefined;
  /** Services this manager is responsible for (serviceKeyString): deleted when no longer desired and at stop. */
  private managed = new Set<string>();
  private readonly warned = new Set<string>();

  private dirty = false;
  private rereadWanted = true;
  private timer: NodeJS.Timeout | undefined;
  private reconcileTimer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;
  private idleWaiters: Array<() => void> = [];
  private readonly scripts = new Set<Promise<unknown>>();
  private started = false;
  private stopped = false;

  private readonly onChange = (c: HealthChange): void => this.handleChange(c);

  constructor(opts: IpvsManagerOptions) {
    super();
    this.lvs = opts.lvs;
    this.source = opts.health;
    this.backend = opts.backend;
    this.log = opts.log;
    this.reconcileIntervalMs = opts.reconcileIntervalMs ?? 10_000;
    this.coalesceMs = opts.coalesceMs ?? 10;
    this.keepOnStop = opts.keepOnStop ?? false;
    this.scriptTimeoutMs = opts.scriptTimeoutMs ?? 30_000;
    this.runScriptFn = opts.runScript ?? defaultRunScript;
  }

  /** Read the kernel table, adopt what matches, apply the rest. Resolves once the first batch is done. */
  async start(): Promise<void> {
    if (this.started) throw new Error('IpvsManager already started');
    this.started = true;
    this.load(this.lvs);
    for (const [id, h] of this.source.health()) this.healthMap.set(id, { ...h });
    this.initQuorum(undefined);
    this.source.on('change', this.onChange);
    this.rereadWanted = true;
    this.kick(0);
    await this.idle();
    if (this.reconcileIntervalMs > 0) {
      this.reconcileTimer = setInterval(() => {
        this.rereadWanted = true;
        this.kick(0);
      }, this.reconcileIntervalMs);
      this.reconcileTimer.unref();
    }
  }

  /**
   * Switch to a new configuration (SIGHUP). Real servers that stay keep their
   * health and virtual servers their quorum state; only the difference of the
   * two desired tables reaches the kernel, so unchanged entries keep their
   * connections and counters. `health` replaces the health source when the
   * checkers were rebuilt for the new configuration.
   */
  async reload(lvs: LvsConfig, health?: HealthSource): Promise<void> {
    if (this.stopped) return;
    if (health && health !== this.source) {
      this.source.off('change', this.onChange);
      this.source = health;
      this.source.on('change', this.onChange);
    }
    const previousQuorum = new Map(this.quorum);
    this.lvs = lvs;
    this.load(lvs);
    for (const id of [...this.healthMap.keys()]) if (!this.rsById.has(id)) this.healthMap.delete(id);
    for (const [id, h] of this.source.health()) if (this.rsById.has(id)) this.healthMap.set(id, { ...h });
    for (const id of [...this.quorum.keys()]) if (!this.vsById.has(id)) this.quorum.delete(id);
    this.initQuorum(previousQuorum);
    this.kick(0);
    await this.idle();
  }

  /**
   * Stop watching health and, unless told to keep them (`keep`, or
   * keepOnStop), delete the services this manager manages. With `omega`
   * the notify_down and quorum_down scripts run (bounded to 1 s each).
   */
  async stop(opts: { keep?: boolean } = {}): Promise<void> {
    if (this.stopped || !this.started) {
      this.stopped = true;
      return;
    }
    this.stopped = true;
    this.source.off('change', this.onChange);
    clearTimeout(this.timer);
    this.timer = undefined;
    clearInterval(this.reconcileTimer);
    this.reconcileTimer = undefined;
    await this.loop;
    const keep = opts.keep ?? this.keepOnStop;
    for (const v of this.vsById.values()) this.stopNotifies(v, keep);
    if (!keep) await this.releaseServices();
    this.backend.close?.();
    this.resolveIdle();
    await Promise.allSettled([...this.scripts]);
  }

  /** Resolves when no change is waiting to be applied and no batch is running. */
  idle(): Promise<void> {
    if (!this.busy()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Ask for a reconcile now (re-read the kernel table and heal it); resolves when done. */
  async reconcileNow(): Promise<void> {
    if (this.stopped || !this.started) return;
    this.rereadWanted = true;
    this.kick(0);
    await this.idle();
  }

  /** The table the configuration and current health call for. */
  desired(): Table {
    const warnings: string[] = [];
    const t = desiredTable(this.specs, this.healthInput(), warnings);
    for (const w of warnings) {
      if (this.warned.has(w)) continue;
      this.warned.add(w);
      this.log.warn({ component: 'ipvs' }, w);
    }
    return t;
  }

  /** Quorum state per virtual server id. */
  quorumStates(): ReadonlyMap<string, boolean> {
    return this.quorum;
  }

  /** Services (serviceKeyString) this manager manages. */
  managedServices(): ReadonlySet<string> {
    return this.managed;
  }

  /* ------------------------------------------------------- configuration */

  private load(lvs: LvsConfig): void {
    this.specs = toIpvsSpecs(lvs);
    this.vsById = new Map();
    this.rsById = new Map();
    lvs.virtualServers.forEach((vs, i) => {
      const spec = this.specs[i]!;
      const entry: VsEntry = { vs, spec, rs: [] };
      vs.realServers.forEach((model, j) => {
        const rsSpec = spec.realServers[j]!;
        const id = realServerId(spec.id, rsSpec);
        const rs: RsEntry = { id, vs, spec, model, rsSpec };
        // keepalived drops a duplicated real server; the first one counts.
        if (this.rsById.has(id)) return;
        this.rsById.set(id, rs);
        entry.rs.push(rs);
      });
      this.vsById.set(spec.id, entry);
    });
  }

  private healthInput(): HealthInput {
    return { realServers: this.healthMap, quorum: this.quorum };
  }

  private alive(r: RsEntry): boolean {
    return isRealServerAlive(r.spec, r.rsSpec, { realServers: this.healthMap });
  }

  private weightOf(r: RsEntry, h: RealServerHealth | undefined): number {
    return realWeight(h?.weight ?? r.rsSpec.weight ?? r.spec.weight ?? 1);
  }

  private contribution(r: RsEntry): number {
    return this.alive(r) ? this.weightOf(r, this.healthMap.get(r.id)) : 0;
  }

  /**
   * Quorum at start (previous undefined) or after a reload (the states kept
   * from before). keepalived update_quorum_state(vs, init=true): it logs and
   * notifies only a quorum that starts down with a sorry server to put in,
   * or a reloaded one that changed.
   */
  private initQuorum(previous: ReadonlyMap<string, boolean> | undefined): void {
    for (const v of this.vsById.values()) {
      const sum = v.rs.reduce((s, r) => s + this.contribution(r), 0);
      this.liveSum.set(v.spec.id, sum);
      const prev = previous?.get(v.spec.id);
      const step = stepQuorum(prev, sum, v.spec);
      this.quorum.set(v.spec.id, step.up);
      if (step.transition === 'gained' || step.transition === 'lost') {
        this.quorumTransition(v, step.transition, sum, false);
      } else if (step.transition === 'init' && !step.up && v.spec.sorryServer) {
        this.quorumTransition(v, 'lost', sum, true);
      }
    }
  }

  /* ---------------------------------------------------------- health events */

  private handleChange(c: HealthChange): void {
    if (this.stopped) return;
    const id = realServerId(c.vs.id, c.rs);
    const r = this.rsById.get(id);
    if (!r) {
      this.log.debug({ component: 'ipvs', vs: c.vs.id, rs: id }, 'health change for a real server not in the configuration - ignored');
      return;
    }
    const vsId = r.spec.id;
    const before = this.healthMap.get(id);
    const wasAlive = this.alive(r);
    const oldWeight = this.weightOf(r, before);
    const oldContribution = wasAlive ? oldWeight : 0;
    const h: RealServerHealth = c.weight === undefined ? { up: c.up } : { up: c.up, weight: c.weight };
    this.healthMap.set(id, h);
    const newWeight = this.weightOf(r, h);
    const isAlive = c.up;
    const rsText = trio(r.model.ip, r.vs, r.model.port);
    const fields = { component: 'ipvs', vs: r.vs.id, rs: rsText, reason: c.reason, weight: newWeight };

    if (newWeight !== oldWeight) {
      // ipwrapper.c update_svr_wgt
      this.log.info(
        fields,
        `Changing weight from ${oldWeight} to ${newWeight} for ${wasAlive ? '' : 'in'}active service ${rsText} of VS ${r.vs.id}`,
      );
    }
    if (isAlive !== wasAlive) {
      // ipwrapper.c perform_svr_state
      const inhibit = r.model.inhibitOnFailure;
      const verb = isAlive ? (inhibit ? 'Enabling' : 'Adding') : inhibit ? 'Disabling' : 'Removing';
      const prep = inhibit ? 'of' : isAlive ? 'to' : 'from';
      this.log.info(fields, `${verb} service ${rsText} ${prep} VS ${r.vs.id}`);
      this.runNotify(isAlive ? r.model.notifyUp : r.model.notifyDown, this.scriptTimeoutMs, fields);
    }

    const sum = (this.liveSum.get(vsId) ?? 0) - oldContribution + (isAlive ? newWeight : 0);
    this.liveSum.set(vsId, sum);
    const step = stepQuorum(this.quorum.get(vsId), sum, r.spec);
    this.quorum.set(vsId, step.up);
    if (step.transition === 'gained' || step.transition === 'lost') {
      this.quorumTransition(this.vsById.get(vsId)!, step.transition, sum, false);
    }
    this.kick(this.coalesceMs);
  }

  /** ipwrapper.c update_quorum_state: the log lines, the sorry-server lines and the quorum script. */
  private quorumTransition(v: VsEntry, transition: 'gained' | 'lost', sum: number, init: boolean): void {
    const { quorum, hysteresis } = effectiveQuorum(v.spec);
    const vsId = v.vs.id;
    const ss = v.vs.sorryServer;
    const base = { component: 'ipvs', vs: vsId, quorum, hysteresis, weight: sum };
    if (transition === 'gained') {
      const threshold = quorum + hysteresis;
      this.log.info({ ...base, threshold }, `Gained quorum ${quorum}+${hysteresis}=${threshold} <= ${sum} for VS ${vsId}`);
      if (ss) {
        const ssText = trio(ss.ip, v.vs, ss.port);
        this.log.info({ ...base, rs: ssText }, `${ss.inhibit ? 'Disabling' : 'Removing'} sorry server ${ssText} from VS ${vsId}`);
        this.log.info(base, `Adding alive servers to the pool for VS ${vsId}`);
      }
      this.runNotify(v.vs.quorumUp, this.scriptTimeoutMs, base);
    } else {
      // Lost while up: the threshold was quorum - hysteresis; starting down: quorum + hysteresis.
      const threshold = init ? quorum + hysteresis : quorum - hysteresis;
      const sign = init ? '+' : '-';
      const what = init ? 'Starting with quorum down' : 'Lost quorum';
      this.log.info({ ...base, threshold }, `${what} ${quorum}${sign}${hysteresis}=${threshold} > ${sum} for VS ${vsId}`);
      if (ss) {
        const ssText = trio(ss.ip, v.vs, ss.port);
        this.log.info({ ...base, rs: ssText }, `${ss.inhibit ? 'Enabling' : 'Adding'} sorry server ${ssText} to VS ${vsId}`);
        this.log.info(base, `Removing alive servers from the pool for VS ${vsId}`);
      }
      this.runNotify(v.vs.quorumDown, this.scriptTimeoutMs, base);
    }
  }

  private runNotify(script: ScriptSpec | undefined, timeoutMs: number, fields: object): void {
    if (!script || script.disabled || script.argv.length === 0) return;
    const p = this.runScriptFn({ argv: script.argv, uid: script.uid, gid: script.gid, timeoutMs })
      .then((res) => {
        if (res.error || res.timedOut || res.code !== 0) {
          const why = res.error ?? (res.timedOut ? `timed out after ${timeoutMs} ms` : res.signal ? `killed by ${res.signal}` : `exit status ${res.code}`);
          this.log.warn({ ...fields, script: script.raw }, `Script ${script.raw}: ${why}`);
        }
      })
      .catch((e: unknown) => this.log.error({ ...fields, script: script.raw, err: String(e) }, `Script ${script.raw} failed: ${String(e)}`))
      .finally(() => this.scripts.delete(p));
    this.scripts.add(p);
  }

  /* ------------------------------------------------------------ apply loop */

  private busy(): boolean {
    return this.loop !== undefined || this.timer !== undefined;
  }

  /** Ask for a pass in `delayMs` (coalescing everything that arrives meanwhile). */
  private kick(delayMs: number): void {
    this.dirty = true;
    if (this.stopped || this.loop || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.runLoop();
    }, delayMs);
  }

  private runLoop(): void {
    if (this.loop) return;
    this.loop = (async () => {
      // Changes arriving during a pass make one more pass; passes never overlap.
      while (this.dirty && !this.stopped) {
        this.dirty = false;
        const reread = this.rereadWanted || this.kernel === undefined;
        this.rereadWanted = false;
        try {
          await this.pass(reread);
        } catch (e) {
          // Never let an unexpected error escape the loop: log, re-read next time.
          this.kernel = undefined;
          this.log.error({ component: 'ipvs', err: String(e) }, `IPVS update failed: ${(e as Error).message ?? String(e)}`);
        }
      }
    })().finally(() => {
      this.loop = undefined;
      if (this.dirty && !this.stopped) this.kick(this.coalesceMs);
      else this.resolveIdle();
    });
  }

  private resolveIdle(): void {
    if (this.busy() && !this.stopped) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  private async pass(reread: boolean): Promise<void> {
    let current = this.kernel;
    if (reread || !current) {
      try {
        current = await this.backend.getTable();
      } catch (e) {
        this.kernel = undefined;
        this.log.error({ component: 'ipvs', err: String(e) }, `Cannot read the IPVS table: ${(e as Error).message ?? String(e)}; retrying at the next reconcile`);
        return;
      }
    }
    const desired = this.desired();
    const desiredKeys = [...desired.keys()];
    const managed = new Set([...this.managed, ...desiredKeys]);
    const ops = diffTables(current, desired, managed);
    if (ops.length === 0) {
      this.kernel = current;
      this.managed = new Set(desiredKeys);
      return;
    }
    if (reread && this.kernel !== undefined && diffTables(this.kernel, desired, managed).length !== ops.length) {
      // Our picture of the kernel disagreed with the kernel: someone else changed it.
      this.log.warn(
        { component: 'ipvs', ops: ops.length },
        `IPVS table changed outside hacheck; restoring it with ${ops.length} operation${ops.length === 1 ? '' : 's'}`,
      );
    }
    let result: ApplyResult;
    try {
      result = await this.backend.apply(ops);
    } catch (e) {
      this.kernel = undefined;
      this.log.error({ component: 'ipvs', err: String(e), ops: ops.length }, `Cannot change the IPVS table: ${(e as Error).message ?? String(e)}; retrying at the next reconcile`);
      return;
    }
    this.kernel = applyOpsToTable(current, result.applied);
    this.managed = new Set(desiredKeys);
    for (const f of result.failed) {
      // A service we failed to delete stays ours, so the next pass retries it.
      if (f.op.kind === 'delete-service') this.managed.add(serviceKeyString(f.op.key));
      this.logFailure(f);
    }
    if (result.failed.length) {
      this.log.error(
        { component: 'ipvs', failed: result.failed.length, applied: result.applied.length },
        `${result.failed.length} of ${ops.length} IPVS operations failed; retrying at the next reconcile`,
      );
    }
    this.emit('applied', { ops, result, reread } satisfies AppliedEvent);
  }

  private logFailure(f: OpFailure): void {
    const fields: Record<string, unknown> = { component: 'ipvs', op: f.op.kind, line: f.line, err: f.message };
    if (f.op.kind !== 'add-service' && f.op.kind !== 'edit-service') {
      fields.service = serviceKeyString(f.op.key);
      if ('server' in f.op) fields.rs = formatHostPort(f.op.server.addr, f.op.server.port);
    } else fields.service = serviceKeyString(f.op.service.key);
    this.log.error(fields, `IPVS: "ipvsadm ${f.line}" failed: ${f.message}`);
  }

  /* ------------------------------------------------------------------ stop */

  /** ipwrapper.c clear_service_rs / update_vs_notifies on shutdown. */
  private stopNotifies(v: VsEntry, keep: boolean): void {
    for (const r of v.rs) {
      const alive = this.alive(r);
      const inhibited = r.model.inhibitOnFailure && !alive;
      if (!alive && !inhibited) continue;
      const rsText = trio(r.model.ip, r.vs, r.model.port);
      const fields = { component: 'ipvs', vs: v.vs.id, rs: rsText, reason: 'shutdown' };
      if (!keep) this.log.info(fields, `Shutting down ${inhibited ? '(inhibited) ' : ''}service ${rsText} from VS ${v.vs.id}`);
      if (alive && v.vs.omega) this.runNotify(r.model.notifyDown, STOP_SCRIPT_TIMEOUT_MS, fields);
    }
    if (v.vs.omega && this.quorum.get(v.spec.id)) {
      this.runNotify(v.vs.quorumDown, STOP_SCRIPT_TIMEOUT_MS, { component: 'ipvs', vs: v.vs.id, reason: 'shutdown' });
    }
  }

  private async releaseServices(): Promise<void> {
    let current: Table | undefined;
    try {
      current = await this.backend.getTable();
    } catch (e) {
      this.log.error({ component: 'ipvs', err: String(e) }, `Cannot read the IPVS table at stop: ${(e as Error).message ?? String(e)}`);
      current = this.kernel;
    }
    const ops: Op[] = [];
    for (const k of this.managed) {
      const vs = current?.get(k);
      if (vs) ops.push({ kind: 'delete-service', key: vs.key });
    }
    if (!ops.length) return;
    try {
      const result = await this.backend.apply(ops);
      for (const f of result.failed) this.logFailure(f);
      this.kernel = applyOpsToTable(current ?? new Map(), result.applied);
    } catch (e) {
      this.log.error({ component: 'ipvs', err: String(e) }, `Cannot remove the IPVS services: ${(e as Error).message ?? String(e)}`);
    }
  }
}

/** One line per operation, for logs and tests. */
export function describeOps(ops: readonly Op[]): string[] {
  return ops.map(formatOp);
}
