// When each checker runs and what a result does to its state: keepalived's checker epilogs
// (check_tcp.c tcp_epilog, check_http.c epilog/timeout_epilog, check_misc.c
// misc_check_child_thread, check_dns.c dns_final, check_smtp.c smtp_final) as a pure step
// function, and one scheduler for every checker: a min-heap of next-run times behind a single
// timer, so 5,000 checkers at delay_loop 1 cost one timer, not 5,000 intervals.

import { CheckFailure, timeoutReason, type CheckFn, type CheckResult } from './common.js';

/* ------------------------------------------------------------------------ *
 * The pure part                                                             *
 * ------------------------------------------------------------------------ */

/** keepalived checker_t: is_up, has_run, retry_it (+ HTTP's failed_url). */
export interface CheckerState {
  up: boolean;
  hasRun: boolean;
  retryIt: number;
  /** HTTP_GET/SSL_GET: a failure was confirmed (keepalived failed_url) and not yet cleared */
  failed: boolean;
}

export interface StepTiming {
  retry: number;
  delayLoopMs: number;
  delayBeforeRetryMs: number;
}

/**
 * How a checker type handles retries (the epilogs differ):
 *  - 'standard' (TCP_CHECK, UDP_CHECK, PING_CHECK): retries only while up; an alpha checker
 *    failing before its first success stays down without retries;
 *  - 'retryUnknown' (MISC_CHECK, DNS_CHECK, SMTP_CHECK): retries while up or before the first
 *    run, whatever alpha says;
 *  - 'http' (HTTP_GET, SSL_GET): retries while up or before the first run; once down, a
 *    success only clears the failure, and the server is up after the next full success
 *    (a delay_loop later, or at once with fast_recovery).
 */
export type RetryStyle = 'standard' | 'retryUnknown' | 'http';

export interface Flavor {
  style: RetryStyle;
  /** HTTP fast_recovery */
  fastRecovery?: boolean;
  /** MISC_CHECK: the next run is timed from the start of this one, not its end */
  fromStart?: boolean;
}

export type StepLog =
  | { kind: 'success' }
  /** the checker is declared down; afterRetries is set when keepalived says "after N retries" */
  | { kind: 'failed'; afterRetries?: number }
  /** a failure that will be retried (logged only with log_all_failures) */
  | { kind: 'retrying'; attempt: number };

export interface StepOutcome {
  state: CheckerState;
  /** ms until the next run (from the end of this run, or its start with Flavor.fromStart) */
  delayMs: number;
  /** the checker's own up/down changed */
  transition?: 'up' | 'down';
  log?: StepLog;
}

export function initialState(alpha: boolean): CheckerState {
  return { up: !alpha, hasRun: false, retryIt: 0, failed: false };
}

/** Apply one result to a checker's state: keepalived's epilog for the checker type. */
export function step(s0: CheckerState, ok: boolean, t: StepTiming, f: Flavor): StepOutcome {
  const s = { ...s0 };
  const out: StepOutcome = { state: s, delayMs: t.delayLoopMs };
  const goUp = () => {
    if (!s.up || !s.hasRun) out.log = { kind: 'success' };
    if (!s.up) out.transition = 'up';
    s.up = true;
  };
  const goDown = (afterRetries: number | undefined) => {
    out.log = afterRetries === undefined ? { kind: 'failed' } : { kind: 'failed', afterRetries };
    if (s.up) out.transition = 'down';
    s.up = false;
  };

  if (f.style === 'http') {
    if (ok) {
      if (s.failed) {
        // epilog(REGISTER_CHECKER_NEW) with failed_url: the failing url answers again; all urls are re-checked next time
        s.failed = false;
        s.retryIt = 0;
        out.delayMs = f.fastRecovery && !s.up ? 0 : t.delayLoopMs;
      } else {
        goUp();
        s.retryIt = 0;
      }
      s.hasRun = true;
      return out;
    }
    if (s.up || !s.hasRun) {
      // timeout_epilog: has_run is set before epilog(REGISTER_CHECKER_RETRY)
      s.hasRun = true;
      s.retryIt++;
      if (s.retryIt > t.retry) {
        goDown(t.retry ? s.retryIt - 1 : undefined);
        s.failed = true;
      } else out.log = { kind: 'retrying', attempt: s.retryIt };
    }
    out.delayMs = s.failed ? Math.max(t.delayBeforeRetryMs, t.delayLoopMs) : f.fastRecovery && !s.up ? 0 : t.delayBeforeRetryMs;
    return out;
  }

  if (ok) {
    s.retryIt = 0;
    goUp();
  } else if (f.style === 'standard') {
    if ((s.up || !s.hasRun) && s.retryIt >= t.retry) {
      s.retryIt = 0;
      goDown(t.retry && s.hasRun ? t.retry : undefined);
    } else if (s.up) {
      s.retryIt++;
      out.delayMs = t.delayBeforeRetryMs;
      out.log = { kind: 'retrying', attempt: s.retryIt };
    }
  } else if (s.up || !s.hasRun) {
    if (s.retryIt < t.retry) {
      s.retryIt++;
      out.delayMs = t.delayBeforeRetryMs;
      out.log = { kind: 'retrying', attempt: s.retryIt };
    } else {
      goDown(t.retry && s.hasRun ? t.retry : undefined);
      s.retryIt = 0;
    }
  }
  s.hasRun = true;
  return out;
}

/** keepalived register_checkers_thread(): BOOTSTRAP_DELAY (1 s) + warmup × random(). */
export const BOOTSTRAP_DELAY_MS = 1000;

export function firstDelay(warmupMs: number, random: () => number, bootstrapMs = BOOTSTRAP_DELAY_MS): number {
  return bootstrapMs + (warmupMs > 0 ? warmupMs * random() : 0);
}

/* ------------------------------------------------------------------------ *
 * Min-heap of next-run times                                                *
 * ------------------------------------------------------------------------ */

interface HeapItem {
  at: number;
  /** insertion order: equal times run first-in first-out */
  seq: number;
}

export class MinHeap<T extends HeapItem> {
  private a: T[] = [];
  get size(): number {
    return this.a.length;
  }
  peek(): T | undefined {
    return this.a[0];
  }
  private less(i: number, j: number): boolean {
    const x = this.a[i];
    const y = this.a[j];
    return x.at < y.at || (x.at === y.at && x.seq < y.seq);
  }
  private swap(i: number, j: number): void {
    const t = this.a[i];
    this.a[i] = this.a[j];
    this.a[j] = t;
  }
  push(v: T): void {
    const a = this.a;
    a.push(v);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  pop(): T | undefined {
    const a = this.a;
    if (!a.length) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(l, m)) m = l;
        if (r < a.length && this.less(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
  clear(): void {
    this.a = [];
  }
}

/* ------------------------------------------------------------------------ *
 * The scheduler                                                             *
 * ------------------------------------------------------------------------ */

export interface JobSpec {
  run: CheckFn;
  timing: StepTiming & { alpha: boolean; warmupMs: number };
  flavor: Flavor;
  /** the run is aborted after this long, whatever the checker's own timeouts (a safety net) */
  hardTimeoutMs: number;
}

/** What the scheduler reports after each run. */
export interface RunReport {
  job: Job;
  result: CheckResult;
  outcome: StepOutcome;
  /** the state before this run */
  before: CheckerState;
  latencyMs: number;
}

export class Job {
  state: CheckerState;
  running = false;
  /** next planned run (ms on the scheduler's clock), while queued */
  nextAt = 0;
  runs = 0;
  constructor(
    readonly id: number,
    readonly spec: JobSpec,
  ) {
    this.state = initialState(spec.timing.alpha);
  }
}

interface Entry extends HeapItem {
  job: Job;
  gen: number;
}

export interface SchedulerOptions {
  /** monotonic ms clock (default performance.now) */
  now?: () => number;
  /** [0,1) (default Math.random) */
  random?: () => number;
  /** keepalived's BOOTSTRAP_DELAY before the first run (default 1000 ms) */
  bootstrapDelayMs?: number;
  onReport?: (r: RunReport) => void;
}

export class Scheduler {
  private heap = new MinHeap<Entry>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private seq = 0;
  private gen = 0;
  private running = new Map<Job, AbortController>();
  private jobs: Job[] = [];
  private started = false;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly bootstrapMs: number;

  constructor(private readonly opts: SchedulerOptions = {}) {
    this.now = opts.now ?? (() => performance.now());
    this.random = opts.random ?? Math.random;
    this.bootstrapMs = opts.bootstrapDelayMs ?? BOOTSTRAP_DELAY_MS;
  }

  add(spec: JobSpec): Job {
    const job = new Job(this.jobs.length, spec);
    this.jobs.push(job);
    if (this.started) this.queue(job, this.now() + firstDelay(spec.timing.warmupMs, this.random, this.bootstrapMs));
    return job;
  }

  get size(): number {
    return this.jobs.length;
  }

  /** checks in flight */
  get inFlight(): number {
    return this.running.size;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    const now = this.now();
    for (const j of this.jobs) this.queue(j, now + firstDelay(j.spec.timing.warmupMs, this.random, this.bootstrapMs));
  }

  /** Stop: nothing runs any more; checks in flight are aborted. */
  stop(): void {
    this.started = false;
    this.gen++;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    this.heap.clear();
    for (const ac of this.running.values()) ac.abort(new CheckFailure('stopped'));
    this.running.clear();
  }

  private queue(job: Job, at: number): void {
    job.nextAt = at;
    this.heap.push({ at, seq: this.seq++, job, gen: this.gen });
    if (at < this.timerAt) this.arm(at);
  }

  private arm(at: number): void {
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.tick(), Math.max(0, at - this.now()));
  }

  private tick(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.now();
    for (;;) {
      const top = this.heap.peek();
      if (!top) break;
      if (top.gen !== this.gen) {
        this.heap.pop();
        continue;
      }
      // timers may fire a little early; 1 ms of slack avoids a spin of zero-length timeouts
      if (top.at > now + 1) break;
      this.heap.pop();
      this.launch(top.job);
    }
    const next = this.heap.peek();
    if (next && this.started) this.arm(next.at);
  }

  private launch(job: Job): void {
    // a check never overlaps itself: it is only queued again once it has finished
    if (job.running) return;
    job.running = true;
    job.runs++;
    const gen = this.gen;
    const ac = new AbortController();
    this.running.set(job, ac);
    const startedAt = this.now();
    const hard = job.spec.hardTimeoutMs;
    const hardTimer = setTimeout(() => ac.abort(new CheckFailure(timeoutReason(hard))), hard);
    let p: Promise<CheckResult>;
    try {
      p = job.spec.run(ac.signal);
    } catch (e) {
      p = Promise.resolve({ ok: false, reason: `error ${(e as Error).message}` });
    }
    // the hard bound also covers a checker that ignores its signal
    const bounded = new Promise<CheckResult>((resolve) => {
      const onAbort = () => resolve({ ok: false, reason: (ac.signal.reason as CheckFailure | undefined)?.reason ?? 'aborted' });
      ac.signal.addEventListener('abort', onAbort, { once: true });
      p.then(
        (r) => {
          ac.signal.removeEventListener('abort', onAbort);
          resolve(r);
        },
        (e: unknown) => {
          ac.signal.removeEventListener('abort', onAbort);
          resolve({ ok: false, reason: e instanceof CheckFailure ? e.reason : `error ${(e as Error)?.message ?? String(e)}` });
        },
      );
    });
    void bounded.then((result) => {
      clearTimeout(hardTimer);
      job.running = false;
      if (gen !== this.gen) return; // stopped meanwhile
      this.running.delete(job);
      const endedAt = this.now();
      const before = job.state;
      const outcome = step(before, result.ok, job.spec.timing, job.spec.flavor);
      job.state = outcome.state;
      const base = job.spec.flavor.fromStart ? startedAt : endedAt;
      this.queue(job, Math.max(endedAt, base + outcome.delayMs));
      this.opts.onReport?.({ job, result, outcome, before, latencyMs: endedAt - startedAt });
    });
  }
}
