/**
 * The daemon as a user runs it, in a namespace: keepalived's options, safe reload on SIGHUP
 * (a broken file is refused and the old configuration keeps serving; a burst of SIGHUPs
 * never flaps the VIP), the status socket and `hacheck status`, Prometheus metrics, a hung
 * notify script that does not stop the rest.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync, readFileSync, chmodSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { nsExec, until } from '../support/netns.js';
import { HACHECK } from '../support/paths.js';
import { DaemonLab, hasVip, instanceBlock, type Daemon } from '../support/vrrp-lab.js';
import { parseArgs, SIGNUMS } from '../../src/cli/args.js';

const VIP = '10.97.0.50';

describe('hacheck command line', function () {
  it('parses keepalived options with their meanings', function () {
    const o = parseArgs(['-nlD', '-f', '/x.conf', '-P', '-V', '-I', '-p/run/a.pid', '--vrrp_pid=/run/v.pid', '-S', 'local3', '-i', 'node1']);
    assert.ok(typeof o !== 'string');
    assert.equal(o.configFile, '/x.conf');
    assert.ok(o.dontFork && o.logConsole && o.logDetail && o.vrrpOnly && o.dontReleaseVrrp && o.dontReleaseIpvs);
    assert.equal(o.pidFile, '/run/a.pid');
    assert.equal(o.vrrpPidFile, '/run/v.pid');
    assert.equal(o.logFacility, 'local3');
    assert.equal(o.configId, 'node1');
  });

  it('rejects an unknown option with keepalived\'s message and exit 1', function () {
    assert.equal(parseArgs(['--bogus']), 'Unknown option --bogus');
    assert.equal(parseArgs(['-Q']), 'Unknown option -Q');
    assert.equal(parseArgs(['-f']), 'Missing parameter for option -f');
    const r = spawnSync('node', [HACHECK, '-Q'], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /Unknown option -Q/);
  });

  it('--signum prints the same numbers as keepalived 2.2.7', function () {
    for (const [name, n] of Object.entries(SIGNUMS)) {
      const r = spawnSync('node', [HACHECK, `--signum=${name}`], { encoding: 'utf8' });
      assert.equal(r.stdout.trim(), String(n), name);
      const k = spawnSync('keepalived', [`--signum=${name}`], { encoding: 'utf8' });
      if (k.status === 0) assert.equal(r.stdout.trim(), k.stdout.trim(), `keepalived --signum=${name}`);
    }
  });
});

describe('the daemon in a namespace', function () {
  this.timeout(120_000);
  const dl = new DaemonLab({ tail: 4000 });

  const conf = (prio: number, extra: string[] = []) => [
    'global_defs {', '    router_id n1', '}', '',
    instanceBlock({ state: 'MASTER', priority: prio, vips: [`${VIP}/24 dev lab0`], extra }), '',
  ].join('\n');

  function start(text: string, args: string[] = []): Daemon {
    dl.up({ hosts: [{ name: 'n1', addr: '10.97.0.11/24' }] });
    return dl.add('n1', 'hacheck', text).start(args);
  }

  it('writes its pid file, answers `hacheck status` and serves metrics; removes the VIP and pid file on SIGTERM', async function () {
    const dm = start(conf(255), ['--metrics', '127.0.0.1:9650']);
    assert.ok(await until(() => hasVip(dl.lab!.host('n1').ns, VIP), 15_000), 'VIP added');
    assert.ok(existsSync(join(dm.dir, 'pid')));
    const st = nsExec(dl.lab!.host('n1').ns, ['node', HACHECK, 'status', '--status-socket', join(dm.dir, 'status.sock')]);
    assert.match(st, /VI_1\s+51\s+lab0\s+MASTER\s+255\s+255\s+self/);
    const metrics = nsExec(dl.lab!.host('n1').ns, ['node', '-e', "fetch('http://127.0.0.1:9650/metrics').then(r=>r.text()).then(t=>process.stdout.write(t))"]);
    assert.match(metrics, /hacheck_vrrp_state\{instance="VI_1",vrid="51"\} 2/);
    assert.match(metrics, /hacheck_vrrp_effective_priority\{instance="VI_1",vrid="51"\} 255/);
    assert.match(metrics, /hacheck_event_loop_delay_seconds/);
    await dm.signal('SIGTERM');
    assert.ok(!hasVip(dl.lab!.host('n1').ns, VIP), 'VIP removed at stop');
    assert.ok(!existsSync(join(dm.dir, 'pid')), 'pid file removed');
    assert.ok(dm.messages().some((m) => /sent 0 priority/.test(m)));
  });

  it('-V keeps the VIP at stop', async function () {
    const dm = start(conf(255), ['-V']);
    assert.ok(await until(() => hasVip(dl.lab!.host('n1').ns, VIP), 15_000));
    await dm.signal('SIGTERM');
    assert.ok(hasVip(dl.lab!.host('n1').ns, VIP), 'VIP left in place');
  });

  it('SIGHUP with a broken file: refused, the running configuration keeps serving', async function () {
    const dm = start(conf(255));
    assert.ok(await until(() => hasVip(dl.lab!.host('n1').ns, VIP), 15_000));
    writeFileSync(join(dm.dir, 'keepalived.conf'), conf(255) + '\nvrrp_instance BROKEN {\n    priority 0\n');
    await dm.signal('SIGHUP', false);
    assert.ok(await dm.waitLog(/Reload refused/, 10_000), 'reload refused');
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(hasVip(dl.lab!.host('n1').ns, VIP), 'still serving the VIP');
    assert.equal(dm.child!.exitCode, null, 'still running');
  });

  it('50 SIGHUPs in 5 s: no VIP flap, no crash, the final configuration applied', async function () {
    const dm = start(conf(255));
    const ns = dl.lab!.host('n1').ns;
    assert.ok(await until(() => hasVip(ns, VIP), 15_000));
    const monitor = dl.lab!.spawn('n1', ['ip', '-ts', 'monitor', 'address']);
    let events = '';
    monitor.stdout!.on('data', (b: Buffer) => (events += b.toString()));
    await new Promise((r) => setTimeout(r, 300));
    const pid = dm.pid()!;
    for (let i = 0; i < 50; i++) {
      process.kill(pid, 'SIGHUP');
      await new Promise((r) => setTimeout(r, 100));
    }
    // An LVS-only style change (the VRRP part unchanged) as the final file.
    writeFileSync(join(dm.dir, 'keepalived.conf'), conf(255) + '\n# last edit\n');
    process.kill(pid, 'SIGHUP');
    await new Promise((r) => setTimeout(r, 2000));
    monitor.kill();
    assert.equal(dm.child!.exitCode, null, 'still running');
    assert.ok(hasVip(ns, VIP), 'VIP held');
    assert.ok(!/Deleted .*10\.97\.0\.50/.test(events), `no VIP removal during the reloads:\n${events}`);
    assert.ok(dm.messages().filter((m) => /Reload finished/.test(m)).length >= 1);
  });

  it('a notify script that hangs is killed at its timeout; the instance goes on', async function () {
    dl.up({ hosts: [{ name: 'n1', addr: '10.97.0.11/24' }] });
    const hang = join('/tmp', `hc-hang-${process.pid}.sh`);
    writeFileSync(hang, '#!/bin/sh\nsleep 1000\n');
    chmodSync(hang, 0o755);
    const text = ['global_defs {', '    router_id n1', '    enable_script_security', '    script_user root', '}', '',
      instanceBlock({ state: 'MASTER', priority: 255, vips: [`${VIP}/24 dev lab0`], extra: [`notify_master ${hang}`] }), ''].join('\n');
    const d = dl.add('n1', 'hacheck', text).start(['--notify-timeout', '2']);
    assert.ok(await until(() => hasVip(dl.lab!.host('n1').ns, VIP), 15_000), 'MASTER despite the hung script');
    const before = execFileSync('pgrep', ['-f', hang], { encoding: 'utf8' }).trim();
    assert.ok(before, 'the notify script runs');
    assert.ok(await until(() => spawnSync('pgrep', ['-f', hang]).status !== 0, 10_000), 'script killed at its timeout');
    assert.ok(hasVip(dl.lab!.host('n1').ns, VIP), 'still MASTER');
    assert.equal(d.child!.exitCode, null, 'daemon still running');
    void readFileSync;
  });
});
