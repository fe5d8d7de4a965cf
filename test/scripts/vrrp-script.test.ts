import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import sinon from 'sinon';
import type { VrrpScript } from '../../src/config/model/vrrp.js';
import { runScript, type RunScriptOptions, type ScriptResult } from '../../src/scripts/exec.js';
import { ScriptCounter, VrrpScriptTracker, classifyResult, transitionMessage, type ScriptChange } from '../../src/scripts/vrrp-script.js';
import { TmpDir, captureLogger, groupGone } from './support.js';

function vs(argv: string[], o: Partial<VrrpScript> = {}): VrrpScript {
  return {
    name: 'chk',
    script: { kind: 'vrrp_script', argv, raw: argv.join(' '), loc: { file: 't', line: 1, col: 1 }, owner: 'chk' },
    intervalMs: 1000,
    timeoutMs: 0,
    weight: 0,
    weightReverse: false,
    rise: 1,
    fall: 1,
    initFail: false,
    loc: { file: 't', line: 1, col: 1 },
    ...o,
  };
}

const seq = (c: ScriptCounter, results: boolean[]) => results.map((r) => c.record(r) ?? '-');

describe('scripts/vrrp-script ScriptCounter (keepalived result counter)', () => {
  it('rise 1 fall 1: every result that differs is a transition; the first one always is', () => {
    const c = new ScriptCounter(1, 1);
    assert.equal(c.state, 'init');
    assert.deepEqual(seq(c, [true, true, false, false, true]), ['up', '-', 'down', '-', 'up']);
  });

  it('init: one success is enough to go up, whatever rise is', () => {
    const c = new ScriptCounter(3, 2);
    assert.equal(c.record(true), 'up');
    assert.equal(c.state, 'up');
  });

  it('init: one failure is enough to go down, whatever fall is', () => {
    const c = new ScriptCounter(3, 2);
    assert.equal(c.record(false), 'down');
    assert.equal(c.state, 'down');
  });

  it('down → up needs rise consecutive successes; a failure meanwhile starts over', () => {
    const c = new ScriptCounter(3, 2);
    c.record(false);
    assert.deepEqual(seq(c, [true, true, false, true, true, true]), ['-', '-', '-', '-', '-', 'up']);
  });

  it('up → down needs fall consecutive failures; a success meanwhile refills', () => {
    const c = new ScriptCounter(3, 2);
    c.record(true);
    assert.deepEqual(seq(c, [false, true, false, false]), ['-', '-', '-', 'down']);
  });

  it('init_fail: starts down with no event, needs rise successes', () => {
    const c = new ScriptCounter(2, 2, true);
    assert.equal(c.state, 'down');
    assert.deepEqual(seq(c, [false, true, true, true]), ['-', '-', 'up', '-']);
  });

  it('rejects rise/fall < 1', () => {
    assert.throws(() => new ScriptCounter(0, 1), RangeError);
  });
});

describe('scripts/vrrp-script classifyResult / messages', () => {
  const base = { timedOut: false, durationMs: 1, output: '' };
  it('exit 0 success, exit n failure, our kill timeout, other signal failure', () => {
    assert.deepEqual(classifyResult({ ...base, code: 0 }), { success: true, reason: 'success', exitCode: 0 });
    assert.deepEqual(classifyResult({ ...base, code: 3 }), { success: false, reason: 'exit_status', exitCode: 3 });
    assert.deepEqual(classifyResult({ ...base, signal: 'SIGTERM', timedOut: true }), { success: false, reason: 'timeout' });
    assert.deepEqual(classifyResult({ ...base, signal: 'SIGSEGV' }), { success: false, reason: 'signal', signal: 11 });
    // a script that caught our SIGTERM and exited counts by its status
    assert.deepEqual(classifyResult({ ...base, code: 1, timedOut: true }), { success: false, reason: 'exit_status', exitCode: 1 });
  });
  it('exec failure: success as keepalived (its child exits 0), or failure on request', () => {
    assert.equal(classifyResult({ ...base, error: 'ENOENT x' }).success, true);
    assert.equal(classifyResult({ ...base, error: 'ENOENT x' }, true).success, false);
  });
  it("keepalived's texts", () => {
    assert.equal(transitionMessage('chk', { success: true, reason: 'success', exitCode: 0 }), 'VRRP_Script(chk) succeeded');
    assert.equal(transitionMessage('chk', { success: false, reason: 'exit_status', exitCode: 1 }), 'VRRP_Script(chk) failed (exited with status 1)');
    assert.equal(transitionMessage('chk', { success: false, reason: 'timeout' }), 'VRRP_Script(chk) timed_out');
    assert.equal(transitionMessage('chk', { success: false, reason: 'signal', signal: 9 }), 'VRRP_Script(chk) failed (due to signal 9)');
  });
});

describe('scripts/vrrp-script VrrpScriptTracker timing (fake timers, fake runner)', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers();
  });
  afterEach(() => clock.restore());

  /** A runner whose runs finish when the test says so. */
  function fakeRunner() {
    const calls: { opts: RunScriptOptions; finish: (r: Partial<ScriptResult>) => void; at: number }[] = [];
    const run = (opts: RunScriptOptions) =>
      new Promise<ScriptResult>((resolve) => {
        calls.push({ opts, at: Date.now(), finish: (r) => resolve({ timedOut: false, durationMs: 0, output: '', ...r }) });
        opts.signal?.addEventListener('abort', () => resolve({ timedOut: false, aborted: true, signal: 'SIGTERM', durationMs: 0, output: '' }));
      });
    return { calls, run };
  }

  it('first run at start, then one per interval; timeout defaults to the interval', async () => {
    const f = fakeRunner();
    const t = new VrrpScriptTracker(vs(['/x'], { intervalMs: 500 }), { run: f.run });
    t.start();
    assert.equal(f.calls.length, 1);
    assert.equal(f.calls[0].opts.timeoutMs, 500);
    assert.equal(f.calls[0].opts.killGraceMs, 2000);
    f.calls[0].finish({ code: 0 });
    await clock.tickAsync(499);
    assert.equal(f.calls.length, 1);
    await clock.tickAsync(1);
    assert.equal(f.calls.length, 2);
    assert.equal(f.calls[1].at, 500);
    await t.stop();
  });

  it('timeout, when set, is passed as is', async () => {
    const f = fakeRunner();
    const t = new VrrpScriptTracker(vs(['/x'], { intervalMs: 2000, timeoutMs: 300 }), { run: f.run });
    t.start();
    assert.equal(f.calls[0].opts.timeoutMs, 300);
    await t.stop();
  });

  it('does not start a run while the previous one is still going (logs the skip)', async () => {
    const f = fakeRunner();
    const cap = captureLogger();
    const t = new VrrpScriptTracker(vs(['/x'], { intervalMs: 100 }), { run: f.run, logger: cap.logger });
    t.start();
    await clock.tickAsync(250);
    assert.equal(f.calls.length, 1);
    assert.equal(t.skipped, 2);
    assert.ok(cap.msgs().includes('Track script chk is already running, expect idle - skipping run'));
    f.calls[0].opts.onTimeout?.();
    await clock.tickAsync(100);
    assert.ok(cap.msgs().includes('Track script chk is being timed out, expect idle - skipping run'));
    f.calls[0].finish({ signal: 'SIGTERM', timedOut: true });
    await clock.tickAsync(100);
    assert.equal(f.calls.length, 2);
    await t.stop();
  });

  it('emits change on transitions only, the first one marked initial; logs keepalived lines', async () => {
    const f = fakeRunner();
    const cap = captureLogger();
    const t = new VrrpScriptTracker(vs(['/x'], { intervalMs: 100, rise: 2, fall: 2 }), { run: f.run, logger: cap.logger });
    const changes: ScriptChange[] = [];
    t.on('change', (_up, c) => changes.push(c));
    assert.equal(t.state, 'init');
    assert.equal(t.up, undefined);
    t.start();
    const results: Partial<ScriptResult>[] = [{ code: 0 }, { code: 0 }, { code: 1 }, { code: 1 }, { code: 1 }, { code: 0 }, { signal: 'SIGTERM', timedOut: true }, { code: 0 }, { code: 0 }];
    for (let i = 0; i < results.length; i++) {
      f.calls[i].finish(results[i]);
      await clock.tickAsync(100);
    }
    assert.deepEqual(
      changes.map((c) => [c.up, c.reason, c.initial]),
      [
        [true, 'success', true],
        [false, 'exit_status', false],
        [true, 'success', false],
      ],
    );
    const msgs = cap.msgs().filter((m) => !m.startsWith('Track script'));
    assert.deepEqual(msgs, [
      'VRRP_Script(chk) succeeded',
      'Script `chk` now returning 1',
      'VRRP_Script(chk) failed (exited with status 1)',
      'Script `chk` now returning 0',
      'VRRP_Script(chk) succeeded',
    ]);
    const failed = cap.lines.find((l) => l.msg.startsWith('VRRP_Script(chk) failed'))!;
    assert.equal(failed.script, 'chk');
    assert.equal(failed.exitCode, 1);
    assert.equal(failed.reason, 'exit_status');
    await t.stop();
  });

  it('init_fail: state down before any run; no event until rise successes', async () => {
    const f = fakeRunner();
    const t = new VrrpScriptTracker(vs(['/x'], { intervalMs: 100, rise: 2, initFail: true }), { run: f.run });
    const ups: boolean[] = [];
    t.on('change', (up) => ups.push(up));
    assert.equal(t.state, 'down');
    assert.equal(t.up, false);
    t.start();
    f.calls[0].finish({ code: 1 });
    await clock.tickAsync(100);
    f.calls[1].finish({ code: 0 });
    await clock.tickAsync(100);
    assert.deepEqual(ups, []);
    f.calls[2].finish({ code: 0 });
    await clock.tickAsync(1);
    assert.deepEqual(ups, [true]);
    await t.stop();
  });

  it('stop aborts the running script and ignores its result', async () => {
    const f = fakeRunner();
    const t = new VrrpScriptTracker(vs(['/x'], { intervalMs: 100 }), { run: f.run });
    let events = 0;
    t.on('result', () => events++);
    t.start();
    await t.stop();
    assert.equal(f.calls[0].opts.signal?.aborted, true);
    await clock.tickAsync(1000);
    assert.equal(f.calls.length, 1);
    assert.equal(events, 0);
  });
});

describe('scripts/vrrp-script VrrpScriptTracker with real scripts', function () {
  this.timeout(30000);
  let tmp: TmpDir;
  const trackers: VrrpScriptTracker[] = [];
  beforeEach(() => {
    tmp = new TmpDir();
  });
  afterEach(async () => {
    await Promise.all(trackers.splice(0).map((t) => t.stop()));
    tmp.cleanup();
  });

  function nextChange(t: VrrpScriptTracker, timeoutMs = 10000): Promise<ScriptChange> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no change event')), timeoutMs);
      t.once('change', (_up, c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
  }

  it('exit 0 → up, exit 1 → down, back up (status read from a file by the script)', async () => {
    const state = tmp.path('state');
    writeFileSync(state, '0');
    const chk = tmp.script('chk.sh', `exit $(cat ${state})`);
    const cap = captureLogger();
    const t = new VrrpScriptTracker(vs([chk], { intervalMs: 50 }), { logger: cap.logger });
    trackers.push(t);
    const c1 = nextChange(t);
    t.start();
    assert.deepEqual([(await c1).up, (await c1).initial], [true, true]);
    const c2 = nextChange(t);
    writeFileSync(state, '1');
    const down = await c2;
    assert.deepEqual([down.up, down.reason, down.exitCode], [false, 'exit_status', 1]);
    const c3 = nextChange(t);
    writeFileSync(state, '0');
    assert.equal((await c3).up, true);
    const msgs = cap.msgs().filter((m) => !m.startsWith('Track script'));
    assert.deepEqual(msgs, [
      'VRRP_Script(chk) succeeded',
      'Script `chk` now returning 1',
      'VRRP_Script(chk) failed (exited with status 1)',
      'Script `chk` now returning 0',
      'VRRP_Script(chk) succeeded',
    ]);
  });

  it('a script still running at its timeout is killed with its children: failure "timeout", group gone', async () => {
    // the script starts a background child and waits; both must die
    const chk = tmp.script('hang.sh', 'sleep 60 &\nsleep 60\n');
    const pids: number[] = [];
    const cap = captureLogger();
    const t = new VrrpScriptTracker(vs([chk], { intervalMs: 5000, timeoutMs: 200 }), {
      logger: cap.logger,
      run: (o) => runScript({ ...o, onSpawn: (p) => pids.push(p) }),
    });
    trackers.push(t);
    const c = nextChange(t);
    const started = Date.now();
    t.start();
    const ch = await c;
    assert.deepEqual([ch.up, ch.reason, ch.initial], [false, 'timeout', true]);
    assert.ok(Date.now() - started >= 190, 'not killed before the timeout');
    assert.equal(pids.length, 1);
    assert.ok(await groupGone(pids[0]), 'process group is gone');
    assert.ok(cap.msgs().includes('VRRP_Script(chk) timed_out'));
    const line = cap.lines.find((l) => l.msg === 'VRRP_Script(chk) timed_out')!;
    assert.equal(line.reason, 'timeout');
  });

  it('a script ignoring SIGTERM is SIGKILLed after the grace: still "timeout", group gone', async () => {
    const chk = tmp.script('stubborn.sh', "trap '' TERM\nsleep 60 &\nsleep 60\n");
    const pids: number[] = [];
    const t = new VrrpScriptTracker(vs([chk], { intervalMs: 5000, timeoutMs: 200 }), {
      killGraceMs: 300,
      run: (o) => runScript({ ...o, onSpawn: (p) => pids.push(p) }),
    });
    trackers.push(t);
    const c = nextChange(t);
    const started = Date.now();
    t.start();
    const ch = await c;
    assert.equal(ch.reason, 'timeout');
    assert.ok(Date.now() - started >= 480, 'killed only after timeout + grace');
    assert.ok(await groupGone(pids[0]), 'process group is gone');
  });

  it('stop() kills a running script', async () => {
    const chk = tmp.script('hang.sh', 'sleep 60');
    const pids: number[] = [];
    const t = new VrrpScriptTracker(vs([chk], { intervalMs: 5000, timeoutMs: 5000 }), { run: (o) => runScript({ ...o, onSpawn: (p) => pids.push(p) }) });
    t.start();
    await new Promise((r) => setTimeout(r, 100));
    await t.stop();
    assert.ok(await groupGone(pids[0]), 'process group is gone');
  });
});
