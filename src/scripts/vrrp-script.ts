/**
 * vrrp_script: run a check script every `interval`, count successes and failures with
 * rise/fall hysteresis, and report when the script goes up or down (keepalived.conf(5)
 * "VRRP script(s)"; keepalived vrrp_scheduler.c vrrp_script_thread / _child_thread).
 *
 * Functional core: {@link ScriptCounter} (keepalived's `result` counter) and
 * {@link classifyResult} (exit status → outcome). Imperative shell: {@link VrrpScriptTracker}.
 *
 * keepalived's behaviour, kept here:
 * - the first run is at start, then one every `interval` measured from the start of the
 *   previous tick, not from the end of the previous run;
 * - a tick that finds the previous run still going (or being killed) skips, logging
 *   "Track script NAME is already running, expect idle - skipping run";
 * - a run still going at `timeout` (default: the interval) gets SIGTERM to its process group,
 *   SIGKILL 2 s later; a run that dies by our signal is a failure "timed_out";
 * - exit status 0 is success, anything else a failure; death by another signal is a failure;
 * - a script in its initial state ("init": no result yet, unless `init_fail`) goes up on its
 *   first success and down on its first failure, whatever rise and fall are; an instance
 *   tracking it waits (weight 0: stays out of BACKUP/MASTER; weight ≠ 0: no priority change)
 *   until that first result. With `init_fail` the script starts down and needs `rise`
 *   successes.
 */
import { EventEmitter } from 'node:events';
import { constants as osConstants } from 'node:os';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import type { VrrpScript } from '../config/model/vrrp.js';
import { runScript, type RunScriptOptions, type ScriptResult } from './exec.js';

/* ------------------------------------------------------------------ functional core */

export type ScriptState = 'init' | 'up' | 'down';

/**
 * keepalived's rise/fall counter. `result` runs from 0 to rise+fall-1; the script is up when
 * result >= rise. A success while down climbs one step (rise successes in all); a success
 * while up (after some failures) goes straight back to the top. A failure while up steps
 * down (fall failures in all); a failure while down (partway up) goes straight to 0.
 */
export class ScriptCounter {
  result: number;
  /** true until the first result (keepalived SCRIPT_INIT_STATE_INIT) */
  inInit: boolean;

  constructor(
    readonly rise: number,
    readonly fall: number,
    initFail = false,
  ) {
    if (!(rise >= 1) || !(fall >= 1)) throw new RangeError(`rise and fall must be >= 1 (rise ${rise}, fall ${fall})`);
    // init: one success (or one failure) is enough to decide; init_fail: assume failed
    this.result = initFail ? 0 : rise - 1;
    this.inInit = !initFail;
  }

  get state(): ScriptState {
    if (this.inInit) return 'init';
    return this.result >= this.rise ? 'up' : 'down';
  }

  /** Count one result; returns the new state when it changed (leaving init always does). */
  record(success: boolean): 'up' | 'down' | undefined {
    const top = this.rise + this.fall - 1;
    let changed: 'up' | 'down' | undefined;
    if (success) {
      if (this.result < this.rise - 1) this.result++;
      else if (this.result !== top) {
        if (this.result < this.rise) changed = 'up';
        this.result = top;
      }
    } else if (this.result > this.rise) this.result--;
    else {
      if (this.result === this.rise || this.inInit) changed = 'down';
      this.result = 0;
    }
    this.inInit = false;
    return changed;
  }
}

export type ScriptReason = 'success' | 'exit_status' | 'signal' | 'timeout' | 'exec_error';

export interface ScriptOutcome {
  success: boolean;
  reason: ScriptReason;
  /** exit status when the script exited */
  exitCode?: number;
  /** signal number when killed by a signal we did not send */
  signal?: number;
  /** the spawn error (ENOENT, …) for reason exec_error */
  error?: string;
}

/**
 * What a finished run counts as. A run that died by a signal after we timed it out is
 * "timed_out"; one that exited (even after our SIGTERM, if it caught it) counts by its exit
 * status. keepalived's child logs an exec failure and exits 0, so a script that cannot be
 * executed counts as success there; `execErrorIsFailure` makes it a failure instead.
 */
export function classifyResult(r: ScriptResult, execErrorIsFailure = false): ScriptOutcome {
  if (r.error !== undefined) return { success: !execErrorIsFailure, reason: 'exec_error', error: r.error, ...(execErrorIsFailure ? {} : { exitCode: 0 }) };
  if (r.code !== undefined) return r.code === 0 ? { success: true, reason: 'success', exitCode: 0 } : { success: false, reason: 'exit_status', exitCode: r.code };
  if (r.timedOut) return { success: false, reason: 'timeout' };
  const sig = r.signal ? osConstants.signals[r.signal] : undefined;
  return { success: false, reason: 'signal', signal: sig };
}

/** keepalived's "VRRP_Script(NAME) …" line for a result that changed the state. */
export function transitionMessage(name: string, o: ScriptOutcome): string {
  if (o.success) return `VRRP_Script(${name}) succeeded`;
  if (o.reason === 'timeout') return `VRRP_Script(${name}) timed_out`;
  if (o.reason === 'exit_status') return `VRRP_Script(${name}) failed (exited with status ${o.exitCode})`;
  if (o.reason === 'signal') return `VRRP_Script(${name}) failed (due to signal ${o.signal})`;
  return `VRRP_Script(${name}) failed`;
}

/* ------------------------------------------------------------------ imperative shell */

export interface ScriptChange {
  up: boolean;
  reason: ScriptReason;
  exitCode?: number;
  signal?: number;
  /** the change is the script leaving its initial (unknown) state */
  initial: boolean;
}

export interface VrrpScriptTrackerOptions {
  logger?: Logger;
  /** run one script (tests inject a fake); default runScript */
  run?: (o: RunScriptOptions) => Promise<ScriptResult>;
  /** SIGTERM → SIGKILL grace, ms; keepalived: 2 s */
  killGraceMs?: number;
  /** count a script that cannot be executed as a failure (keepalived: success, see classifyResult) */
  execErrorIsFailure?: boolean;
}

export interface VrrpScriptTrackerEvents {
  change: [up: boolean, change: ScriptChange];
  /** every finished run, for observers (status pages, tests) */
  result: [outcome: ScriptOutcome];
}

/**
 * Runs one vrrp_script. Emits `change(up, info)` on every transition, the first being the
 * script leaving its initial state; read `state` for the state before any event ('init', or
 * 'down' with init_fail).
 */
export class VrrpScriptTracker extends EventEmitter<VrrpScriptTrackerEvents> {
  readonly name: string;
  readonly counter: ScriptCounter;
  private readonly argv: readonly string[];
  private readonly uid?: number;
  private readonly gid?: number;
  readonly intervalMs: number;
  /** keepalived: timeout 0 means the interval */
  readonly timeoutMs: number;
  private readonly log: Logger;
  private readonly run: (o: RunScriptOptions) => Promise<ScriptResult>;
  private readonly killGraceMs: number;
  private readonly execErrorIsFailure: boolean;
  private timer?: NodeJS.Timeout;
  private running?: { abort: AbortController; timingOut: boolean; done: Promise<void> };
  /** keepalived's last_status starts at 0, so a first exit 0 is not reported */
  private lastStatus = 0;
  private stopped = true;
  /** runs started / skipped because one was still going, for observers */
  runs = 0;
  skipped = 0;

  constructor(vs: VrrpScript, opts: VrrpScriptTrackerOptions = {}) {
    super();
    // keepalived drops such vrrp_scripts at config time (config/model/scripts.ts finishScripts)
    if (!vs.script || vs.script.argv.length === 0) throw new Error(`vrrp_script ${vs.name} has no script`);
    if (vs.script.disabled) throw new Error(`vrrp_script ${vs.name} is disabled (not found, not executable or insecure)`);
    this.name = vs.name;
    this.argv = vs.script.argv;
    this.uid = vs.script.uid;
    this.gid = vs.script.gid;
    this.intervalMs = Math.max(1, vs.intervalMs);
    this.timeoutMs = vs.timeoutMs > 0 ? vs.timeoutMs : this.intervalMs;
    this.counter = new ScriptCounter(vs.rise, vs.fall, vs.initFail);
    this.log = (opts.logger ?? silentLogger()).child({ script: vs.name });
    this.run = opts.run ?? runScript;
    this.killGraceMs = opts.killGraceMs ?? 2000;
    this.execErrorIsFailure = opts.execErrorIsFailure ?? false;
  }

  get state(): ScriptState {
    return this.counter.state;
  }

  /** up when the script is up; undefined while in its initial state */
  get up(): boolean | undefined {
    const s = this.counter.state;
    return s === 'init' ? undefined : s === 'up';
  }

  /** Start: the first run now, then one per interval. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.tick();
  }

  /** Stop the timer and kill a running script (its result is ignored). Resolves once it is gone. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    const r = this.running;
    if (r) {
      r.abort.abort();
      await r.done;
    }
  }

  private tick(): void {
    if (this.stopped) return;
    // the next tick is due one interval after this one, however long this run takes
    this.timer = setTimeout(() => this.tick(), this.intervalMs);
    if (this.running) {
      this.skipped++;
      this.log.info(
        { state: this.running.timingOut ? 'timing_out' : 'running' },
        `Track script ${this.name} is ${this.running.timingOut ? 'being timed out' : 'already running'}, expect idle - skipping run`,
      );
      return;
    }
    this.runs++;
    const abort = new AbortController();
    const running = { abort, timingOut: false, done: Promise.resolve() };
    running.done = this.run({
      argv: this.argv,
      uid: this.uid,
      gid: this.gid,
      timeoutMs: this.timeoutMs,
      killGraceMs: this.killGraceMs,
      signal: abort.signal,
      // keepalived gives scripts /dev/null; nothing of the output is used
      captureBytes: 0,
      onTimeout: () => {
        running.timingOut = true;
      },
    }).then(
      (res) => {
        if (this.running === running) this.running = undefined;
        if (!abort.signal.aborted) this.handle(classifyResult(res, this.execErrorIsFailure), res);
      },
      (e: unknown) => {
        if (this.running === running) this.running = undefined;
        this.log.error({ err: String(e) }, `Script ${this.name} could not be run: ${String(e)}`);
      },
    );
    this.running = running;
  }

  /** Count one outcome, log as keepalived does, emit a change on a transition. */
  handle(o: ScriptOutcome, res?: ScriptResult): void {
    if (o.reason === 'exec_error')
      this.log.error({ exitCode: o.exitCode, reason: o.reason, error: o.error }, `Error exec-ing command '${this.argv[0]}': ${o.error}`);
    if (o.exitCode !== undefined) {
      if (o.exitCode !== this.lastStatus) this.log.info({ exitCode: o.exitCode }, `Script \`${this.name}\` now returning ${o.exitCode}`);
      this.lastStatus = o.exitCode;
    }
    this.emit('result', o);
    const initial = this.counter.inInit;
    const changed = this.counter.record(o.success);
    if (!changed) return;
    const fields = { exitCode: o.exitCode, reason: o.reason, ...(o.signal !== undefined ? { signal: o.signal } : {}), ...(res?.pid !== undefined ? { pid: res.pid } : {}) };
    this.log.info(fields, transitionMessage(this.name, o));
    this.emit('change', changed === 'up', { up: changed === 'up', reason: o.reason, exitCode: o.exitCode, signal: o.signal, initial });
  }
}
