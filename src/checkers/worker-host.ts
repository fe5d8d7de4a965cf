// The main thread's side of the checker worker (worker.ts): WorkerHealthMonitor has the
// surface the daemon uses of HealthMonitor ('change' events, health(), start(), stop()), while
// the checks themselves run in a worker thread, so their load cannot delay VRRP adverts on
// the main event loop (keepalived's checker process, inside one process).
//
// The worker's log records are written by the main logger (same text and fields as an
// in-process HealthMonitor, so syslog idents are unchanged). A worker that dies is logged and
// restarted after a bounded backoff, resuming from the health held here; the daemon goes on.

import { EventEmitter, once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { pino, type Logger } from 'pino';
import type { LvsConfig } from '../config/model/lvs.js';
import type { RealServerHealth } from '../ipvs/desired.js';
import { initialHealth, isRunChecker, realServerSlots, type HealthChange, type RsSlot } from './monitor.js';
import { closePingSockets, localEcho } from './ping.js';
import type { FromWorker, ToWorker, WorkerInit } from './worker-protocol.js';

export interface WorkerHealthMonitorOptions {
  log?: Logger;
  /** keepalived's BOOTSTRAP_DELAY before the first run, in ms (default 1000; tests shorten it) */
  bootstrapDelayMs?: number;
  /** how long stop() waits for the worker to end before terminating it, in ms (default 5000) */
  stopTimeoutMs?: number;
  /** restart backoff after a worker died: first delay, doubled each time up to max, in ms (default 100 … 10,000) */
  restartMinMs?: number;
  restartMaxMs?: number;
  /** a worker that ran this long before dying restarts after restartMinMs again, in ms (default 30,000) */
  restartResetMs?: number;
  /**
   * How many nice steps the checker thread runs below the main thread (default 0, as keepalived
   * runs its checker process unless checker_priority says otherwise): under CPU contention the
   * kernel then runs the main thread (VRRP adverts) first. Scripts the checkers start inherit it.
   */
  niceIncrement?: number;
  /** let crashForTest() work (tests) */
  testHooks?: boolean;
}

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);

export class WorkerHealthMonitor extends EventEmitter {
  private readonly log: Logger;
  private readonly slots: RsSlot[][] = [];
  private readonly healthMap: Map<string, RealServerHealth>;
  private readonly hasPing: boolean;
  private worker?: Worker;
  private workerStartedAt = 0;
  private wanted = false;
  private failures = 0;
  private restartTimer?: NodeJS.Timeout;
  private readonly pings = new Map<number, AbortController>();
  private stopping?: Promise<void>;
  /** workers started after one died */
  restarts = 0;

  constructor(
    private readonly lvs: LvsConfig,
    private readonly opts: WorkerHealthMonitorOptions = {},
  ) {
    super();
    this.log = opts.log ?? pino({ enabled: false });
    for (const s of realServerSlots(lvs)) (this.slots[s.vi] ??= [])[s.ri] = s;
    this.healthMap = initialHealth(lvs);
    this.hasPing = lvs.virtualServers.some((vs) => vs.realServers.some((rs) => rs.checkers.some((c) => isRunChecker(c) && c.type === 'PING_CHECK')));
  }

  /** Health of every real server, keyed by realServerId(vs spec id, rs): the last the worker reported. */
  health(): Map<string, RealServerHealth> {
    const m = new Map<string, RealServerHealth>();
    for (const [id, h] of this.healthMap) m.set(id, { ...h });
    return m;
  }

  /** The worker thread's id while one runs (tests). */
  get threadId(): number | undefined {
    return this.worker?.threadId;
  }

  start(): void {
    if (this.wanted) return;
    this.wanted = true;
    this.spawn(false);
  }

  /** Stop the checks: the worker is asked to stop, and terminated if it has not ended within stopTimeoutMs. */
  stop(): Promise<void> {
    this.wanted = false;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const w = this.worker;
    if (!w) {
      this.endPings();
      return Promise.resolve();
    }
    this.stopping ??= (async () => {
      const exited = once(w, 'exit').catch(() => {});
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), this.opts.stopTimeoutMs ?? 5000)));
      this.send(w, { t: 'stop' });
      const r = await Promise.race([exited, late]);
      clearTimeout(timer);
      if (r === 'late') {
        this.log.warn({ component: 'checker' }, 'Healthcheck worker did not stop in time - terminating it');
        await w.terminate().catch(() => {});
      }
      this.endPings();
    })().finally(() => {
      this.stopping = undefined;
    });
    return this.stopping;
  }

  /** Make the worker throw from its event loop (testHooks only). */
  crashForTest(): void {
    if (this.opts.testHooks && this.worker) this.send(this.worker, { t: 'crash' });
  }

  private spawn(restart: boolean): void {
    const init: WorkerInit = { lvs: this.lvs, level: this.log.level };
    if (restart) init.knownUp = [...this.healthMap].map(([id, h]) => [id, h.up]);
    if (this.opts.bootstrapDelayMs !== undefined) init.bootstrapDelayMs = this.opts.bootstrapDelayMs;
    init.niceIncrement = this.opts.niceIncrement ?? 0;
    if (this.opts.testHooks) init.testHooks = true;
    let w: Worker;
    try {
      w = new Worker(new URL('./worker.js', import.meta.url), { workerData: init });
    } catch (e) {
      this.log.error({ component: 'checker', err: (e as Error).message }, `Healthcheck worker could not be started: ${(e as Error).message}`);
      this.scheduleRestart();
      return;
    }
    this.worker = w;
    this.workerStartedAt = Date.now();
    if (restart) this.restarts++;
    w.on('message', (m: FromWorker) => this.onMessage(w, m));
    w.on('error', (e: Error) => {
      this.log.error({ component: 'checker', err: e.message }, `Healthcheck worker failed: ${e.message}`);
    });
    w.on('exit', (code: number) => this.onExit(w, code));
  }

  private onExit(w: Worker, code: number): void {
    if (this.worker !== w) return;
    this.worker = undefined;
    this.endPings();
    if (!this.wanted) return;
    // keepalived: "Healthcheck child process(%d) died: Respawning"
    this.log.warn({ component: 'checker', code }, `Healthcheck worker exited with code ${code}: Respawning`);
    if (Date.now() - this.workerStartedAt >= (this.opts.restartResetMs ?? 30_000)) this.failures = 0;
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    if (!this.wanted || this.restartTimer) return;
    const min = this.opts.restartMinMs ?? 100;
    const delay = Math.min(this.opts.restartMaxMs ?? 10_000, min * 2 ** Math.min(this.failures, 20));
    this.failures++;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.wanted && !this.worker) this.spawn(true);
    }, delay);
  }

  private onMessage(w: Worker, m: FromWorker): void {
    if (this.worker !== w && m?.t !== 'log') return;
    switch (m?.t) {
      case 'change':
        return this.onChange(m);
      case 'log': {
        const level = LEVELS.has(m.level) ? (m.level as 'info') : 'info';
        this.log[level](m.fields ?? {}, m.msg);
        return;
      }
      case 'ping': {
        const ac = new AbortController();
        this.pings.set(m.id, ac);
        void localEcho(m.v6, m.ip, m.timeoutMs, ac.signal).then((r) => {
          if (this.pings.get(m.id) !== ac) return;
          this.pings.delete(m.id);
          if (this.worker === w) this.send(w, r.reason === undefined ? { t: 'pong', id: m.id, ok: r.ok } : { t: 'pong', id: m.id, ok: r.ok, reason: r.reason });
        });
        return;
      }
      case 'ping-abort': {
        const ac = this.pings.get(m.id);
        this.pings.delete(m.id);
        ac?.abort();
        return;
      }
      case 'stopped':
        return;
    }
  }

  private onChange(m: Extract<FromWorker, { t: 'change' }>): void {
    const slot = this.slots[m.vi]?.[m.ri];
    if (!slot) return;
    this.healthMap.set(slot.id, m.weight === undefined ? { up: m.up } : { up: m.up, weight: m.weight });
    const c: HealthChange = { vs: slot.vs, rs: slot.rs, up: m.up, reason: m.reason };
    if (m.weight !== undefined) c.weight = m.weight;
    if (m.latencyMs !== undefined) c.latencyMs = m.latencyMs;
    this.emit('change', c);
  }

  private send(w: Worker, m: ToWorker): void {
    try {
      w.postMessage(m);
    } catch {
      /* the worker is gone: its exit is handled */
    }
  }

  /** Echo requests of a worker that is gone end now; the raw sockets close when no checker needs them. */
  private endPings(): void {
    for (const ac of this.pings.values()) ac.abort();
    this.pings.clear();
    if (!this.wanted && this.hasPing) closePingSockets();
  }
}
