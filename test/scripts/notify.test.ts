import { strict as assert } from 'node:assert';
import { readFileSync, existsSync } from 'node:fs';
import type { ScriptSpec } from '../../src/config/model/scripts.js';
import type { NotifyScripts } from '../../src/config/model/vrrp.js';
import { runScript } from '../../src/scripts/exec.js';
import { NotifyRunner, instanceNotifiesSuppressed, plainPlan, reportedInstanceState, vrrpNotifyPlan } from '../../src/scripts/notify.js';
import { TmpDir, captureLogger, groupGone, groupMembers, sleep } from './support.js';

function spec(argv: string[], keyword = 'notify'): ScriptSpec {
  return { kind: 'notify', argv, raw: argv.join(' '), loc: { file: 't', line: 1, col: 1 }, owner: 'VI_1', keyword };
}

describe('scripts/notify plans (pure)', () => {
  const scripts: NotifyScripts = {
    notifyMaster: spec(['/m.sh', 'a b'], 'notify_master'),
    notifyBackup: spec(['/b.sh'], 'notify_backup'),
    notifyFault: spec(['/f.sh'], 'notify_fault'),
    notifyStop: spec(['/s.sh'], 'notify_stop'),
    notifyDeleted: spec(['/d.sh'], 'notify_deleted'),
    notify: spec(['/n.sh', 'x'], 'notify'),
    notifyMasterRxLowerPri: spec(['/rx.sh'], 'notify_master_rx_lower_pri'),
  };

  it('instance: the notify_<state> script as written, then notify + INSTANCE NAME STATE PRIO', () => {
    assert.deepEqual(
      vrrpNotifyPlan(scripts, false, 'VI_1', 'MASTER', 150).map((r) => r.argv),
      [
        ['/m.sh', 'a b'],
        ['/n.sh', 'x', 'INSTANCE', 'VI_1', 'MASTER', '150'],
      ],
    );
    assert.deepEqual(vrrpNotifyPlan(scripts, false, 'VI_1', 'STOP', 100)[0].argv, ['/s.sh']);
  });

  it('group: notify gets GROUP NAME STATE 0', () => {
    assert.deepEqual(
      vrrpNotifyPlan(scripts, true, 'G1', 'BACKUP', 99).map((r) => r.argv),
      [['/b.sh'], ['/n.sh', 'x', 'GROUP', 'G1', 'BACKUP', '0']],
    );
    // no notify_deleted for a group
    assert.deepEqual(vrrpNotifyPlan(scripts, true, 'G1', 'DELETED', 0).map((r) => r.keyword), ['notify']);
  });

  it('DELETED is reported as FAULT unless notify_deleted is set', () => {
    assert.equal(reportedInstanceState('DELETED', false), 'FAULT');
    assert.equal(reportedInstanceState('DELETED', true), 'DELETED');
    assert.deepEqual(
      vrrpNotifyPlan(scripts, false, 'VI_1', 'DELETED', 100).map((r) => r.argv),
      [['/d.sh'], ['/n.sh', 'x', 'INSTANCE', 'VI_1', 'DELETED', '100']],
    );
  });

  it('disabled or missing scripts are skipped', () => {
    const s: NotifyScripts = { notifyMaster: { ...spec(['/m.sh']), disabled: true } };
    assert.deepEqual(vrrpNotifyPlan(s, false, 'VI_1', 'MASTER', 100), []);
    assert.deepEqual(plainPlan('notify_up', undefined), []);
    assert.deepEqual(plainPlan('notify_up', spec(['/up.sh', '1'])), [{ keyword: 'notify_up', argv: ['/up.sh', '1'], uid: undefined, gid: undefined }]);
  });

  it('instance notifies are suppressed when already in the sync group state', () => {
    assert.equal(instanceNotifiesSuppressed({ notifiesSent: true, inSyncGroup: true, state: 'MASTER', groupState: 'MASTER' }), true);
    assert.equal(instanceNotifiesSuppressed({ notifiesSent: false, inSyncGroup: true, state: 'MASTER', groupState: 'MASTER' }), false);
    assert.equal(instanceNotifiesSuppressed({ notifiesSent: true, inSyncGroup: false, state: 'MASTER' }), false);
  });
});

describe('scripts/notify NotifyRunner with real scripts', function () {
  this.timeout(30000);
  let tmp: TmpDir;
  let runner: NotifyRunner | undefined;
  beforeEach(() => {
    tmp = new TmpDir();
  });
  afterEach(async () => {
    await runner?.close();
    runner = undefined;
    tmp.cleanup();
  });

  /** A script appending its argv (one word a line, then a blank line) to `out`. */
  function argvScript(name: string, out: string): string {
    return tmp.script(name, `for a in "$0" "$@"; do printf '%s\\n' "$a"; done >> ${out}; echo >> ${out}`);
  }
  const readRuns = (p: string) =>
    readFileSync(p, 'utf8')
      .split('\n\n')
      .filter(Boolean)
      .map((b) => b.split('\n').filter((l) => l !== ''));

  it('instance MASTER: exact argv of notify_master and of notify', async () => {
    // one output file per script: the two run at the same time
    const m = argvScript('master.sh', tmp.path('master.argv'));
    const n = argvScript('notify.sh', tmp.path('notify.argv'));
    runner = new NotifyRunner();
    await runner.instance('VI 1', { notifyMaster: spec([m, 'arg one', 'two']), notify: spec([n, 'extra']) }, 'MASTER', 254);
    assert.deepEqual(readRuns(tmp.path('master.argv')), [[m, 'arg one', 'two']]);
    assert.deepEqual(readRuns(tmp.path('notify.argv')), [[n, 'extra', 'INSTANCE', 'VI 1', 'MASTER', '254']]);
  });

  it('group BACKUP and real server notify_up: exact argv', async () => {
    const out = tmp.path('argv');
    const n = argvScript('notify.sh', out);
    runner = new NotifyRunner();
    await runner.group('G1', { notify: spec([n]) }, 'BACKUP');
    await runner.realServer('[10.0.0.2]:tcp:80', '[10.0.0.1]:tcp:80', true, { notifyUp: spec([n, 'up', '10.0.0.2']) });
    assert.deepEqual(readRuns(out), [
      [n, 'GROUP', 'G1', 'BACKUP', '0'],
      [n, 'up', '10.0.0.2'],
    ]);
  });

  it('a hung notify script is killed at the timeout (its process group gone) and logged', async () => {
    const hung = tmp.script('hung.sh', 'sleep 60 &\nsleep 60');
    const cap = captureLogger();
    const pids: number[] = [];
    runner = new NotifyRunner({ timeoutMs: 300, killGraceMs: 300, logger: cap.logger, run: (o) => runScript({ ...o, onSpawn: (p) => pids.push(p) }) });
    const t0 = Date.now();
    await runner.instance('VI_1', { notifyFault: spec([hung]) }, 'FAULT', 100);
    const took = Date.now() - t0;
    assert.ok(took >= 290 && took < 10000, `took ${took} ms`);
    assert.equal(runner.timedOut, 1);
    assert.ok(await groupGone(pids[0]), 'process group is gone');
    const line = cap.lines.find((l) => l.reason === 'timeout');
    assert.ok(line, 'timeout logged');
    assert.equal(line.keyword, 'notify_fault');
    assert.match(line.msg, /timed out after 300 ms - killed/);
  });

  it('calls do not block the caller; one object runs its events in order, others in parallel', async () => {
    const out = tmp.path('order');
    // the MASTER script is slow: BACKUP must still run after it
    const slow = tmp.script('slow.sh', `sleep 0.4; echo "$1" >> ${out}`);
    const fast = tmp.script('fast.sh', `echo "$1" >> ${out}`);
    runner = new NotifyRunner();
    const t0 = Date.now();
    const p1 = runner.instance('VI_1', { notifyMaster: spec([slow, 'VI_1-MASTER']), notifyBackup: spec([fast, 'VI_1-BACKUP']) }, 'MASTER', 100);
    const p2 = runner.instance('VI_1', { notifyMaster: spec([slow, 'VI_1-MASTER']), notifyBackup: spec([fast, 'VI_1-BACKUP']) }, 'BACKUP', 100);
    const p3 = runner.instance('VI_2', { notifyBackup: spec([fast, 'VI_2-BACKUP']) }, 'BACKUP', 100);
    assert.ok(Date.now() - t0 < 200, 'enqueueing does not wait for scripts');
    await Promise.all([p1, p2, p3]);
    assert.deepEqual(readFileSync(out, 'utf8').trim().split('\n'), ['VI_2-BACKUP', 'VI_1-MASTER', 'VI_1-BACKUP']);
  });

  it('a full queue drops the oldest waiting event', async () => {
    const out = tmp.path('q');
    const s = tmp.script('s.sh', `sleep 0.2; echo "$3" >> ${out}`);
    runner = new NotifyRunner({ maxQueue: 1 });
    const mk = (st: 'MASTER' | 'BACKUP' | 'FAULT') => runner!.instance('VI_1', { notify: spec([s]) }, st, 1);
    await Promise.all([mk('MASTER'), mk('BACKUP'), mk('FAULT')]);
    // MASTER was running; BACKUP waited and was pushed out by FAULT
    assert.deepEqual(readFileSync(out, 'utf8').trim().split('\n'), ['MASTER', 'FAULT']);
    assert.equal(runner.droppedEvents, 1);
  });

  it('a missing script is logged, not thrown', async () => {
    const cap = captureLogger();
    runner = new NotifyRunner({ logger: cap.logger });
    await runner.instance('VI_1', { notifyMaster: spec([tmp.path('nope.sh')]) }, 'MASTER', 1);
    assert.ok(cap.msgs().some((m) => m.startsWith(`Error exec-ing command '${tmp.path('nope.sh')}'`)));
    assert.ok(!existsSync(tmp.path('nope.sh')));
  });

  it('a notify script that leaves a daemon running ends when the script exits; the daemon lives on', async () => {
    const pids: number[] = [];
    const s = tmp.script('starter.sh', 'sleep 60 &\nexit 0');
    runner = new NotifyRunner({ timeoutMs: 5000, run: (o) => runScript({ ...o, onSpawn: (p) => pids.push(p) }) });
    const t0 = Date.now();
    await runner.instance('VI_1', { notifyMaster: spec([s]) }, 'MASTER', 1);
    try {
      assert.ok(Date.now() - t0 < 4000, 'did not wait for the daemon');
      assert.equal(groupMembers(pids[0]).length, 1, 'the daemon (sleep) still runs');
    } finally {
      try {
        process.kill(-pids[0], 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    assert.ok(await groupGone(pids[0]));
  });

  it('close() kills running scripts', async () => {
    const hung = tmp.script('hung.sh', 'sleep 60');
    const pids: number[] = [];
    runner = new NotifyRunner({ run: (o) => runScript({ ...o, onSpawn: (p) => pids.push(p) }) });
    void runner.instance('VI_1', { notifyMaster: spec([hung]) }, 'MASTER', 1);
    await sleep(100);
    await runner.close();
    assert.ok(await groupGone(pids[0]));
  });
});
