import assert from 'node:assert/strict';
import sinon from 'sinon';
import { MinHeap, Scheduler, firstDelay, initialState, step, type CheckerState, type Flavor, type RunReport, type StepTiming } from '../../src/checkers/scheduler.js';
import type { CheckResult } from '../../src/checkers/common.js';

const T: StepTiming = { retry: 2, delayLoopMs: 10_000, delayBeforeRetryMs: 1_000 };
const STD: Flavor = { style: 'standard' };

function run(flavor: Flavor, t: StepTiming, s: CheckerState, results: boolean[]) {
  const outs = [];
  for (const ok of results) {
    const o = step(s, ok, t, flavor);
    outs.push(o);
    s = o.state;
  }
  return outs;
}

describe('checkers/scheduler step (keepalived epilogs)', () => {
  it('standard: first success of a non-alpha checker logs success without a transition', () => {
    const [o] = run(STD, T, initialState(false), [true]);
    assert.deepEqual(o.log, { kind: 'success' });
    assert.equal(o.transition, undefined);
    assert.equal(o.delayMs, 10_000);
    assert.equal(o.state.up, true);
  });

  it('standard: down only after retry+1 failures, spaced delay_before_retry, then "after N retries"', () => {
    const outs = run(STD, T, { up: true, hasRun: true, retryIt: 0, failed: false }, [false, false, false]);
    assert.deepEqual(outs.map((o) => o.delayMs), [1_000, 1_000, 10_000]);
    assert.deepEqual(outs.map((o) => o.transition), [undefined, undefined, 'down']);
    assert.deepEqual(outs[2].log, { kind: 'failed', afterRetries: 2 });
    assert.equal(outs[2].state.retryIt, 0);
  });

  it('standard: a success between failures resets the retry count', () => {
    const outs = run(STD, T, { up: true, hasRun: true, retryIt: 0, failed: false }, [false, true, false, false, false]);
    assert.deepEqual(outs.map((o) => o.transition), [undefined, undefined, undefined, undefined, 'down']);
  });

  it('standard: one success brings a down checker up', () => {
    const outs = run(STD, T, { up: false, hasRun: true, retryIt: 0, failed: false }, [false, true]);
    assert.equal(outs[0].delayMs, 10_000);
    assert.equal(outs[0].log, undefined);
    assert.equal(outs[1].transition, 'up');
    assert.deepEqual(outs[1].log, { kind: 'success' });
  });

  it('standard: retry 0 fails at once with "failed." (no retry count)', () => {
    const [o] = run(STD, { ...T, retry: 0 }, { up: true, hasRun: true, retryIt: 0, failed: false }, [false]);
    assert.equal(o.transition, 'down');
    assert.deepEqual(o.log, { kind: 'failed' });
  });

  it('standard: alpha starts down; a failure before any success does not retry', () => {
    const s = initialState(true);
    assert.equal(s.up, false);
    const [o] = run(STD, T, s, [false]);
    assert.equal(o.delayMs, 10_000);
    assert.equal(o.transition, undefined);
  });

  it('standard: the first run failing (non-alpha) retries and then says "after N retries"', () => {
    const outs = run(STD, { ...T, retry: 1 }, initialState(false), [false, false]);
    assert.equal(outs[0].delayMs, 1_000);
    assert.deepEqual(outs[1].log, { kind: 'failed', afterRetries: 1 });
    assert.equal(outs[1].transition, 'down');
  });

  it('retryUnknown (MISC/DNS/SMTP): an alpha checker retries before its first result', () => {
    const outs = run({ style: 'retryUnknown' }, { ...T, retry: 1 }, initialState(true), [false, false]);
    assert.equal(outs[0].delayMs, 1_000);
    assert.deepEqual(outs[0].log, { kind: 'retrying', attempt: 1 });
    // has_run is now set and the checker is down: no more retries (check_misc.c)
    assert.equal(outs[1].log, undefined);
    assert.equal(outs[1].delayMs, 10_000);
  });

  it('retryUnknown: a non-alpha checker goes down after retry+1 failures', () => {
    const outs = run({ style: 'retryUnknown' }, { ...T, retry: 1 }, { up: true, hasRun: true, retryIt: 0, failed: false }, [false, false]);
    assert.deepEqual(outs[1].log, { kind: 'failed', afterRetries: 1 });
    assert.equal(outs[1].transition, 'down');
  });

  it('http: down after retry+1 failures; back up only after the failed url then a full pass', () => {
    const f: Flavor = { style: 'http' };
    const outs = run(f, T, { up: true, hasRun: true, retryIt: 0, failed: false }, [false, false, false, false, true, true]);
    assert.deepEqual(outs.map((o) => o.transition), [undefined, undefined, 'down', undefined, undefined, 'up']);
    // while down: max(delay_before_retry, delay_loop)
    assert.equal(outs[3].delayMs, 10_000);
    assert.deepEqual(outs[2].log, { kind: 'failed', afterRetries: 2 });
  });

  it('http fast_recovery: the full pass follows at once', () => {
    const outs = run({ style: 'http', fastRecovery: true }, T, { up: false, hasRun: true, retryIt: 0, failed: true }, [true, true]);
    assert.equal(outs[0].delayMs, 0);
    assert.equal(outs[1].transition, 'up');
  });

  it('firstDelay: 1 s bootstrap + warmup × random', () => {
    assert.equal(firstDelay(10_000, () => 0.5), 6_000);
    assert.equal(firstDelay(0, () => 0.9), 1_000);
  });

  it('MinHeap pops in time order, FIFO among equals', () => {
    const h = new MinHeap<{ at: number; seq: number; v: string }>();
    [5, 1, 3, 1, 9, 0].forEach((at, seq) => h.push({ at, seq, v: `${at}/${seq}` }));
    const out = [];
    while (h.size) out.push(h.pop()!.v);
    assert.deepEqual(out, ['0/5', '1/1', '1/3', '3/2', '5/0', '9/4']);
  });
});

describe('checkers/scheduler Scheduler (fake timers)', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
  });
  afterEach(() => clock.restore());

  const timing = { alpha: false, warmupMs: 0, retry: 1, delayLoopMs: 1000, delayBeforeRetryMs: 300 };

  it('runs after the bootstrap delay, then every delay_loop, measured from the end of a run', async () => {
    const starts: number[] = [];
    const s = new Scheduler({ random: () => 0 });
    s.add({
      run: async () => {
        starts.push(Date.now());
        await new Promise((r) => setTimeout(r, 100));
        return { ok: true };
      },
      timing,
      flavor: { style: 'standard' },
      hardTimeoutMs: 5000,
    });
    s.start();
    await clock.tickAsync(4500);
    s.stop();
    assert.deepEqual(starts, [1000, 2100, 3200, 4300]);
  });

  it('warmup spreads the first runs over 0..warmup', async () => {
    const starts: number[] = [];
    const rnd = [0.1, 0.7];
    const s = new Scheduler({ random: () => rnd.shift()!, bootstrapDelayMs: 0 });
    for (let i = 0; i < 2; i++) {
      s.add({ run: async () => (starts.push(Date.now()), { ok: true }), timing: { ...timing, warmupMs: 10_000, delayLoopMs: 60_000 }, flavor: { style: 'standard' }, hardTimeoutMs: 5000 });
    }
    s.start();
    await clock.tickAsync(10_000);
    s.stop();
    assert.deepEqual(starts, [1000, 7000]);
  });

  it('declares down after retry × delay_before_retry, and up again after one success', async () => {
    let healthy = true;
    const reports: RunReport[] = [];
    const s = new Scheduler({ random: () => 0, bootstrapDelayMs: 0, onReport: (r) => reports.push(r) });
    s.add({ run: async () => ({ ok: healthy, reason: healthy ? undefined : 'connect ECONNREFUSED' }) as CheckResult, timing, flavor: { style: 'standard' }, hardTimeoutMs: 5000 });
    s.start();
    await clock.tickAsync(1); // first run at 0
    healthy = false;
    await clock.tickAsync(1000); // run at 1000 fails → retry at 1300
    assert.equal(reports.at(-1)!.outcome.transition, undefined);
    await clock.tickAsync(300); // retry at 1300 fails → down
    assert.equal(reports.at(-1)!.outcome.transition, 'down');
    assert.equal(Date.now(), 1301);
    healthy = true;
    await clock.tickAsync(1000); // next at 2300 → up
    assert.equal(reports.at(-1)!.outcome.transition, 'up');
    s.stop();
  });

  it('a check never overlaps itself, and a hung check is cut at hardTimeoutMs', async () => {
    let active = 0;
    let maxActive = 0;
    const reports: RunReport[] = [];
    const s = new Scheduler({ random: () => 0, bootstrapDelayMs: 0, onReport: (r) => reports.push(r) });
    s.add({
      run: (signal) =>
        new Promise<CheckResult>((resolve) => {
          active++;
          maxActive = Math.max(maxActive, active);
          // never answers on its own; only the abort ends it
          signal.addEventListener('abort', () => {
            active--;
            resolve({ ok: false, reason: 'aborted' });
          });
        }),
      timing: { ...timing, delayLoopMs: 100, delayBeforeRetryMs: 100 },
      flavor: { style: 'standard' },
      hardTimeoutMs: 2000,
    });
    s.start();
    await clock.tickAsync(7000);
    s.stop();
    assert.equal(maxActive, 1);
    assert.ok(reports.length >= 3);
    assert.match(reports[0].result.reason!, /^timeout 2s$/);
    assert.equal(reports[0].latencyMs, 2000);
  });

  it('a checker that ignores its signal is still bounded', async () => {
    const reports: RunReport[] = [];
    const s = new Scheduler({ random: () => 0, bootstrapDelayMs: 0, onReport: (r) => reports.push(r) });
    s.add({ run: () => new Promise<CheckResult>(() => {}), timing, flavor: { style: 'standard' }, hardTimeoutMs: 500 });
    s.start();
    await clock.tickAsync(600);
    s.stop();
    assert.equal(reports.length, 1);
    assert.equal(reports[0].result.ok, false);
  });

  it('fromStart (MISC_CHECK): the next run is delay_loop after the previous start', async () => {
    const starts: number[] = [];
    const s = new Scheduler({ random: () => 0, bootstrapDelayMs: 0 });
    s.add({
      run: async () => {
        starts.push(Date.now());
        await new Promise((r) => setTimeout(r, 400));
        return { ok: true };
      },
      timing,
      flavor: { style: 'retryUnknown', fromStart: true },
      hardTimeoutMs: 5000,
    });
    s.start();
    await clock.tickAsync(3500);
    s.stop();
    assert.deepEqual(starts, [0, 1000, 2000, 3000]);
  });

  it('stop() aborts checks in flight and nothing runs after', async () => {
    let aborted = 0;
    let runs = 0;
    const s = new Scheduler({ random: () => 0, bootstrapDelayMs: 0 });
    s.add({
      run: (signal) =>
        new Promise<CheckResult>((resolve) => {
          runs++;
          signal.addEventListener('abort', () => {
            aborted++;
            resolve({ ok: false });
          });
        }),
      timing,
      flavor: { style: 'standard' },
      hardTimeoutMs: 60_000,
    });
    s.start();
    await clock.tickAsync(10);
    s.stop();
    await clock.tickAsync(120_000);
    assert.equal(runs, 1);
    assert.equal(aborted, 1);
  });

  it('one timer for many checkers: 5,000 jobs keep their period', async () => {
    let runs = 0;
    const s = new Scheduler({ random: Math.random, bootstrapDelayMs: 0 });
    for (let i = 0; i < 5000; i++) s.add({ run: async () => (runs++, { ok: true }), timing: { ...timing, warmupMs: 1000 }, flavor: { style: 'standard' }, hardTimeoutMs: 5000 });
    s.start();
    await clock.tickAsync(10_000);
    s.stop();
    // each job runs about every second over 10 s: 10 runs each (± the warm-up edge)
    assert.ok(runs >= 5000 * 9 && runs <= 5000 * 11, `runs ${runs}`);
  });
});
