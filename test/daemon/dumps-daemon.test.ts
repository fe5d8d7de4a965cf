/**
 * keepalived's dump signals on the real daemon in a namespace: SIGUSR1 (keepalived.data),
 * SIGUSR2 (keepalived.stats), SIGRTMIN+2 = 36 (keepalived.json, through the signal addon)
 * and SIGRTMIN+29 = 63 (stats, then cleared), at the places state_dump_file, stats_dump_file
 * and json_dump_file name.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { until } from '../support/netns.js';
import { DaemonLab, hasVip, instanceBlock } from '../support/vrrp-lab.js';
import { SIGNUMS } from '../../src/cli/args.js';

const VIP = '10.97.3.50';

describe('dump files from the daemon', function () {
  this.timeout(120_000);
  const dl = new DaemonLab({ tail: 4000 });

  it('SIGUSR1, SIGUSR2, SIGRTMIN+2 and SIGRTMIN+29 write keepalived\'s files where configured', async function () {
    const lab = dl.up({ hosts: [{ name: 'n1', addr: '10.97.3.11/24' }] });
    const d = dl.add('n1', 'hacheck', '');
    const dir = d.dir;
    const conf = [
      'global_defs {', '    router_id n1',
      `    state_dump_file ${dir}/ka-state.data`, `    stats_dump_file ${dir}/ka.stats`, `    json_dump_file ${dir}/ka.json`,
      '}', '',
      instanceBlock({ state: 'MASTER', priority: 200, vips: [`${VIP}/24 dev lab0`], auth: 'pw1' }), '',
    ].join('\n');
    writeFileSync(join(dir, 'keepalived.conf'), conf);
    d.start();
    const ns = lab.host('n1').ns;
    assert.ok(await until(() => hasVip(ns, VIP), 15_000), 'VIP added');
    // A few adverts so the counters are not zero.
    await new Promise((r) => setTimeout(r, 2500));
    const pid = d.pid()!;

    const data = join(dir, 'ka-state.data');
    process.kill(pid, 'SIGUSR1');
    assert.ok(await until(() => existsSync(data), 10_000), 'data file written');
    const text = readFileSync(data, 'utf8');
    assert.match(text, /^------< Global definitions >------\n/);
    assert.match(text, /\n Router ID = n1\n/);
    assert.match(text, /------< VRRP Topology >------\n VRRP Instance = VI_1\n {3}VRRP Version = 2\n {3}State = MASTER\n/);
    assert.match(text, /\n {3}Wantstate = MASTER\n/);
    assert.match(text, /\n {3}Interface = lab0\n/);
    assert.match(text, /\n {3}Virtual Router ID = 51\n {3}Priority = 200\n {3}Effective priority = 200\n/);
    assert.match(text, /\n {3}Authentication type = SIMPLE_PASSWORD\n {3}Password = pw1\n/);
    assert.match(text, new RegExp(`\\n {3}Virtual IP \\(1\\):\\n {5}${VIP.replace(/\./g, '\\.')}/24 dev lab0 scope global set\\n`));
    assert.equal(statSync(data).mode & 0o777, 0o600);
    assert.ok(!existsSync(join(dir, 'ka-state_check.data')), 'no checker file without virtual servers');

    const stats = join(dir, 'ka.stats');
    process.kill(pid, 'SIGUSR2');
    assert.ok(await until(() => existsSync(stats), 10_000), 'stats file written');
    const st = readFileSync(stats, 'utf8');
    assert.match(st, /^VRRP Instance: VI_1\n {2}Advertisements:\n {4}Received: \d+\n {4}Sent: (\d+)\n {2}Became master: 1\n/);
    const sent = Number(/ {4}Sent: (\d+)/.exec(st)![1]);
    assert.ok(sent > 0, `adverts sent: ${sent}`);
    assert.match(st, / {2}Authentication Errors:\n {4}Invalid Type: 0\n {4}Type Mismatch: 0\n {4}Failure: 0\n {2}Priority Zero:\n {4}Received: 0\n {4}Sent: 0\n$/);

    const json = join(dir, 'ka.json');
    process.kill(pid, SIGNUMS.JSON);
    assert.ok(await until(() => existsSync(json), 10_000), 'JSON file written');
    const j = JSON.parse(readFileSync(json, 'utf8')) as { data: Record<string, unknown>; stats: Record<string, number> }[];
    assert.equal(j.length, 1);
    assert.equal(j[0].data.iname, 'VI_1');
    assert.equal(j[0].data.state, 2);
    assert.equal(j[0].data.vrid, 51);
    assert.equal(j[0].data.ifp_ifname, 'lab0');
    assert.deepEqual(j[0].data.vips, [`${VIP}/24 dev lab0 scope global set`]);
    assert.ok(j[0].stats.advert_sent >= sent, 'JSON counters');
    assert.equal(j[0].stats.become_master, 1);

    // SIGRTMIN+29: the stats file, then the counters start again from zero.
    writeFileSync(stats, '');
    process.kill(pid, SIGNUMS.STATS_CLEAR);
    assert.ok(await until(() => readFileSync(stats, 'utf8').length > 0, 10_000), 'stats written on STATS_CLEAR');
    writeFileSync(stats, '');
    process.kill(pid, 'SIGUSR2');
    assert.ok(await until(() => readFileSync(stats, 'utf8').length > 0, 10_000));
    const after = readFileSync(stats, 'utf8');
    assert.match(after, / {2}Became master: 0\n/, 'cleared');
    assert.ok(Number(/ {4}Sent: (\d+)/.exec(after)![1]) < sent + 3);
    assert.equal(d.child!.exitCode, null, 'still running after every signal');
  });
});
