// The VRRP block family (src/config/model/vrrp.ts): every keyword, defaults, derived
// defaults and keepalived's messages; exit codes recorded from keepalived 2.2.7 -t.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigText, loadConfigFile } from '../../src/config/index.js';
import { fakeEnvironment, type FileInfo } from '../../src/config/env.js';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/vrrp/', import.meta.url));
const d = (mode = 0o755): FileInfo => ({ isFile: false, isDir: true, mode: 0o040000 | mode, uid: 0, gid: 0 });
const f = (mode = 0o755): FileInfo => ({ isFile: true, isDir: false, mode: 0o100000 | mode, uid: 0, gid: 0 });
const files: Record<string, FileInfo> = { '/': d(), '/bin': d(), '/bin/check': f(), '/bin/sg': f(), '/bin/n': f() };
const env = (interfaces = ['lo', 'eth0']) => fakeEnvironment({ interfaces, files, users: { keepalived_script: { uid: 900, gid: 900 } } });

function load(text: string, interfaces?: string[]) {
  return loadConfigText(text, { env: env(interfaces), file: 'test.conf' });
}
const msgs = (l: ReturnType<typeof load>) => l.diags.list.filter((x) => x.cls !== undefined).map((x) => x.message);
const find = (l: ReturnType<typeof load>, m: string) => l.diags.list.find((x) => x.message === m);

function inst(body: string, name = 'VI_1'): string {
  return `vrrp_instance ${name} {\n${body}\n}\n`;
}
const basic = (extra = '') => inst(`  interface eth0\n  virtual_router_id 51\n  virtual_ipaddress {\n    10.0.0.1/24\n  }\n${extra}`);

describe('config: vrrp', () => {
  describe('full fixture: every keyword', () => {
    const l = loadConfigFile(join(fixtures, 'full.conf'), { env: env() });
    const v = l.config.vrrp;
    it('vrrp_script', () => {
      const s = v.scripts[0];
      assert.equal(s.name, 'chk_all');
      assert.deepEqual(s.script!.argv, ['/bin/check', 'a b', 'A']);
      assert.equal(s.intervalMs, 2500);
      assert.equal(s.timeoutMs, 3000);
      assert.equal(s.weight, -20);
      assert.equal(s.weightReverse, true);
      assert.equal(s.rise, 2);
      assert.equal(s.fall, 3);
      assert.equal(s.script!.user, 'root');
      assert.equal(s.script!.uid, 0);
      assert.equal(s.initFail, true);
    });
    it('vrrp_track_process', () => {
      const p = v.trackProcesses[0];
      assert.deepEqual(
        { process: p.process, params: p.params, m: p.paramMatch, w: p.weight, r: p.weightReverse, q: p.quorum, qm: p.quorumMax, dl: p.delayMs, td: p.terminateDelayMs, fd: p.forkDelayMs, fc: p.fullCommand },
        { process: '/usr/sbin/nginx', params: ['-g', 'daemon'], m: 'partial', w: 10, r: true, q: 2, qm: 4, dl: 1500, td: 2000, fd: 500, fc: true },
      );
    });
    it('track_file', () => {
      assert.deepEqual(v.trackFiles[0], { name: 'tf1', file: '/run/tf1', weight: -5, weightReverse: true, initFile: { value: 3, overwrite: true }, loc: v.trackFiles[0].loc });
    });
    it('garp_group', () => {
      assert.equal(v.garpGroups[0].garpIntervalMs, 500);
      assert.equal(v.garpGroups[0].gnaIntervalMs, 1000);
      assert.deepEqual(v.garpGroups[0].interfaces, ['eth0', 'lo']);
    });
    it('vrrp_sync_group', () => {
      const g = v.syncGroups[0];
      assert.deepEqual(g.group, ['VI_1', 'VI_2']);
      assert.deepEqual(g.trackInterface.map((t) => [t.name, t.weight]), [['eth0', 5]]);
      assert.deepEqual(g.trackScript.map((t) => t.name), ['chk_all']);
      assert.deepEqual(g.trackFile.map((t) => [t.name, t.weight]), [['tf1', 2]]);
      assert.deepEqual(g.trackProcess.map((t) => t.name), ['tp1']);
      assert.deepEqual([g.notifyMaster, g.notifyBackup, g.notifyFault, g.notifyStop, g.notify].map((s) => s!.argv[1]), ['master', 'backup', 'fault', 'stop', 'all']);
      assert.equal(g.smtpAlert, true);
      assert.equal(g.syncGroupTrackingWeight, true);
      assert.equal(g.notifyPriorityChanges, false);
    });
    it('vrrp_instance VI_1', () => {
      const i = v.instances[0];
      assert.equal(i.state, 'MASTER');
      assert.equal(i.interface, 'eth0');
      assert.equal(i.vrid, 51);
      assert.equal(i.priority, 150);
      assert.equal(i.advertIntervalCs, 200);
      assert.equal(i.version, 2);
      assert.equal(i.nopreempt, false);
      assert.equal(i.preemptDelayMs, 0);
      assert.deepEqual(i.auth, { type: 'PASS', pass: '12345678' });
      assert.equal(i.vips.length, 3);
      assert.deepEqual(
        { a: i.vips[0].address, p: i.vips[0].prefixLen, b: i.vips[0].broadcast, dev: i.vips[0].dev, sc: i.vips[0].scope, lb: i.vips[0].label },
        { a: '192.168.200.16', p: 24, b: '192.168.200.255', dev: 'eth0', sc: 0, lb: 'eth0:1' },
      );
      const v2 = i.vips[1];
      assert.deepEqual([v2.peer, v2.home, v2.nodad, v2.noprefixroute, v2.autojoin, v2.noTrack, v2.preferredLft], ['192.168.200.1', true, true, true, true, true, 0xffffffff]);
      assert.equal(i.vips[2].broadcast, '192.168.200.16');
      assert.equal(i.excludedVips[0].address, '10.1.1.1');
      const r0 = i.virtualRoutes[0];
      assert.deepEqual([r0.dst, r0.via, r0.dev, r0.metric, r0.table], [{ family: 'inet', address: '10.9.0.0', prefixLen: 16 }, '192.168.200.254', 'eth0', 5, 100]);
      assert.equal(i.virtualRoutes[1].type, 'blackhole');
      assert.equal(i.virtualRoutes[1].noTrack, true);
      assert.deepEqual([i.virtualRules[0].from, i.virtualRules[0].table, i.virtualRules[0].priority], [{ family: 'inet', address: '10.9.0.0', prefixLen: 16 }, 100, 100]);
      assert.equal(i.srcIp, '192.168.200.2');
      assert.deepEqual(i.unicastPeers.map((p) => [p.address, p.minTtl, p.maxTtl]), [['192.168.200.3', 10, 250]]);
      assert.equal(i.unicast, true);
      assert.equal(i.unicastTtl, 64);
      assert.equal(i.mcastDstIp, undefined);
      // own interface removed from track_interface
      assert.deepEqual(i.trackInterface, []);
      assert.deepEqual(i.trackScript.map((t) => [t.name, t.weight, t.reverse]), [['chk_all', 30, false]]);
      assert.deepEqual(i.trackFile.map((t) => t.name), ['tf1']);
      assert.deepEqual(i.trackProcess.map((t) => [t.name, t.weight]), [['tp1', 4]]);
      assert.deepEqual(i.notifyMaster!.argv, ['/bin/n', 'master']);
      assert.equal(i.notifyMaster!.user, 'root');
      for (const k of ['notifyBackup', 'notifyFault', 'notifyStop', 'notifyDeleted', 'notify', 'notifyMasterRxLowerPri'] as const) assert.ok(i[k], k);
      assert.equal(i.smtpAlert, true);
      assert.deepEqual(
        [i.garpMasterDelayMs, i.garpMasterRepeat, i.garpMasterRefreshMs, i.garpMasterRefreshRepeat, i.garpLowerPrioDelayMs, i.garpLowerPrioRepeat],
        [3000, 4, 60000, 2, 7000, 6],
      );
      assert.deepEqual([i.lowerPrioNoAdvert, i.higherPrioSendAdvert, i.downTimerAdverts, i.accept], [true, true, 4, true]);
      assert.deepEqual([i.dontTrackPrimary, i.skipCheckAdvAddr, i.trackSrcIp, i.debug, i.kernelRxBufSize], [true, true, true, 2, 65536]);
      assert.deepEqual([i.timerExpiredBackup, i.ownerIgnoreAdverts, i.promoteSecondaries, i.notifyPriorityChanges, i.checkUnicastSrc, i.strictMode], [200, true, true, true, true, false]);
      assert.equal(i.syncGroup, 'SG1');
    });
    it('vrrp_instance VI_2: IPv6 defaults', () => {
      const i = v.instances[1];
      assert.equal(i.family, 'inet6');
      assert.equal(i.version, 3);
      assert.equal(i.priority, 100);
      assert.equal(i.state, 'BACKUP');
      assert.equal(i.mcastDstIp, 'ff02::12');
      assert.equal(i.accept, false);
      assert.equal(i.vips[0].preferredLft, 0xffffffff);
      assert.equal(i.vips[1].preferredLft, 0);
      assert.ok(l.diags.list.some((x) => x.code === 'HC_CONFIG_UNSUPPORTED' && x.message.startsWith("'use_vmac'")));
    });
    it('messages keepalived gives for the fixture', () => {
      for (const m of [
        'Truncating auth_pass to 8 characters',
        'Warning - cannot track route 10.8.0.0/16 with no interface specified, not tracking',
        '(VI_1) Ignoring track_interface eth0 since own interface',
        '(VI_2) track_interface eth0 is configured on VRRP instance and sync group. Remove vrrp instance or sync group config',
      ])
        assert.ok(find(l, m), m);
      assert.equal(find(l, 'Truncating auth_pass to 8 characters')!.loc!.line, 73);
    });
  });

  describe('defaults', () => {
    const l = load(basic());
    const i = l.config.vrrp.instances[0];
    it('instance defaults as keepalived', () => {
      assert.deepEqual(
        [i.state, i.priority, i.advertIntervalCs, i.version, i.family, i.nopreempt, i.accept, i.strictMode, i.mcastDstIp, i.unicastTtl],
        ['BACKUP', 100, 100, 2, 'inet', false, true, false, '224.0.0.18', 255],
      );
      assert.deepEqual([i.garpMasterDelayMs, i.garpMasterRepeat, i.garpMasterRefreshMs, i.garpMasterRefreshRepeat, i.garpLowerPrioDelayMs, i.garpLowerPrioRepeat, i.downTimerAdverts], [5000, 5, 0, 1, 5000, 5, 3]);
      assert.deepEqual([i.lowerPrioNoAdvert, i.higherPrioSendAdvert, i.smtpAlert, i.debug], [false, false, false, 0]);
      assert.equal(l.diags.exitCode(), 0);
    });
    it('state MASTER without priority means 255; priority 255 without state means MASTER', () => {
      assert.equal(load(basic('  state MASTER')).config.vrrp.instances[0].priority, 255);
      assert.equal(load(basic('  priority 255')).config.vrrp.instances[0].state, 'MASTER');
    });
    it('vrrp_script defaults', () => {
      const s = load(`vrrp_script c {\n  script /bin/check\n}\n` + basic('  track_script {\n    c\n  }')).config.vrrp.scripts[0];
      assert.deepEqual([s.intervalMs, s.timeoutMs, s.weight, s.weightReverse, s.rise, s.fall, s.initFail], [1000, 0, 0, false, 1, 1, false]);
    });
    it('VRRPv3 advert_int in centi-seconds', () => {
      const l3 = load(basic('  version 3\n  advert_int 0.25'));
      assert.equal(l3.config.vrrp.instances[0].advertIntervalCs, 25);
      assert.equal(l3.diags.exitCode(), 0);
    });
  });

  describe('errors and warnings (keepalived 2.2.7 exit codes)', () => {
    const cases: { name: string; text: string; msg: string; line?: number; exit: number; ifs?: string[] }[] = [
      { name: 'vrid missing', text: inst('  interface eth0\n  virtual_ipaddress {\n    10.0.0.1\n  }'), msg: '(VI_1) the virtual router id must be set', exit: 5 },
      { name: 'vrid range', text: basic('  virtual_router_id 256'), msg: "(VI_1): VRID '256' not valid - must be between 1 & 255", line: 7, exit: 5 },
      { name: 'no VIP', text: inst('  interface eth0\n  virtual_router_id 5'), msg: '(VI_1) No VIP specified; at least one is sensible', exit: 5 },
      { name: 'priority range', text: basic('  priority 0'), msg: '(VI_1) Priority not valid! must be between 1 & 255. Using default 100', line: 7, exit: 5 },
      { name: 'missing interface', text: inst('  interface eth1\n  virtual_router_id 5\n  virtual_ipaddress {\n    10.0.0.1\n  }'), msg: "WARNING - interface eth1 for vrrp_instance VI_1 doesn't exist", line: 2, exit: 5 },
      { name: 'tracked interface missing', text: basic('  track_interface {\n    eth1\n  }'), msg: "(VI_1) tracked interface eth1 doesn't exist", line: 8, exit: 5 },
      { name: 'track script not found', text: basic('  track_script {\n    nope\n  }'), msg: '(VI_1) track script nope not found, ignoring...', line: 8, exit: 5 },
      { name: 'no script', text: `vrrp_script c {\n  interval 2\n}\n` + basic(), msg: 'No script set for vrrp_script c - removing', line: 3, exit: 5 },
      { name: 'AH with MASTER', text: basic('  state MASTER\n  priority 100\n  authentication {\n    auth_type AH\n    auth_pass 1234\n  }'), msg: '(VI_1) Initial state master is incompatible with AH authentication - clearing', exit: 5 },
      { name: 'invalid VIP', text: inst('  interface eth0\n  virtual_router_id 5\n  virtual_ipaddress {\n    10.0.0./24\n    10.0.0.2\n  }'), msg: 'VRRP parsed invalid IP 10.0.0./24. skipping IP...', line: 5, exit: 5 },
      { name: 'VIP family mismatch', text: inst('  interface eth0\n  virtual_router_id 5\n  virtual_ipaddress {\n    10.0.0.1\n    2001:db8::1\n  }'), msg: '(VI_1): address family must match VRRP instance [2001:db8::1] - ignoring', line: 6, exit: 5 },
      { name: 'VIP unknown option', text: basic().replace('10.0.0.1/24', '10.0.0.1/24 foo'), msg: "Unknown configuration entry 'foo' for ip address - ignoring", exit: 5 },
      { name: 'v2 fractional advert', text: basic('  advert_int 1.5'), msg: '(VI_1) VRRPv2 advertisement interval 1.500000s must be an integer. rounding', exit: 5 },
      { name: 'unknown keyword', text: basic('  priorty 100'), msg: "Unknown keyword 'priorty'", line: 7, exit: 5 },
      { name: 'missing parameter', text: basic('  priority'), msg: '*** Configuration line starting `priority` is missing a parameter after keyword `priority` at word position 2', exit: 2 },
      { name: 'rule without preference', text: basic('  virtual_rules {\n    from 10.1.0.0/16 table 5\n  }'), msg: 'Rule has no preference specified - setting to 16384. This is probably not what you want.', line: 8, exit: 5 },
      { name: 'route gw deprecated', text: basic('  virtual_routes {\n    10.2.0.0/16 gw 10.0.0.254 dev eth0\n  }'), msg: '"gw" for routes is deprecated. Please use "via"', line: 8, exit: 5 },
      { name: 'route dev missing', text: basic('  virtual_routes {\n    10.2.0.0/16 via 10.0.0.254 dev eth3\n  }'), msg: "WARNING - interface eth3 for VROUTE nexthop doesn't exist", line: 8, exit: 5 },
      { name: 'unicast keyword without peers', text: basic('  unicast_src_ip 10.0.0.2'), msg: '(VI_1) A unicast keyword has been specified without any unicast peers. Defaulting to multicast. This usage is deprecated - please update your configuration.', exit: 5 },
      { name: 'lvs_sync_daemon_interface', text: basic('  lvs_sync_daemon_interface eth0'), msg: '(VI_1) Specifying lvs_sync_daemon_interface against a vrrp is deprecated.', line: 7, exit: 5 },
      { name: 'sync group bare names', text: `vrrp_sync_group G {\n  group {\n    VI_1\n  }\n  VI_2\n}\n` + basic(), msg: "Unknown keyword 'VI_2'", line: 5, exit: 5 },
      { name: 'nopreempt with MASTER', text: basic('  state MASTER\n  priority 100\n  nopreempt'), msg: '(VI_1) Warning - nopreempt will not work with initial state MASTER - clearing', exit: 5 },
      { name: 'state unknown', text: basic('  state master'), msg: "(VI_1) unknown state 'master', defaulting to BACKUP", exit: 5 },
      { name: 'script weight range', text: `vrrp_script c {\n  script /bin/check\n  weight 300\n}\n` + basic('  track_script {\n    c\n  }'), msg: 'vrrp_script c weight 300 must be in [-253, 253]', line: 3, exit: 5 },
    ];
    for (const k of cases) {
      it(`${k.name}: ${k.msg}`, () => {
        const l = load(k.text, k.ifs);
        const dg = find(l, k.msg);
        assert.ok(dg, `missing message; got:\n${msgs(l).join('\n')}`);
        if (k.line) assert.equal(dg!.loc!.line, k.line);
        // scripts exist on the fake machine: add the script-security verdict where it applies
        const expected = l.diags.list.some((x) => x.message.startsWith('SECURITY VIOLATION')) ? 6 : k.exit;
        assert.equal(l.diags.exitCode(), expected);
      });
    }
    it('a missing interface adds the summary line once and stops the later checks', () => {
      const l = load(inst('  interface eth1\n  virtual_router_id 5') + inst('  interface eth2\n  virtual_router_id 6', 'VI_2'));
      assert.equal(l.diags.list.filter((x) => x.message === 'Non-existent interface specified in configuration').length, 1);
      assert.ok(!msgs(l).some((m) => m.includes('No VIP specified')));
    });
    it('rule preferences count down from 16384', () => {
      const l = load(basic('  virtual_rules {\n    from 10.1.0.0/16 table 5\n    from 10.2.0.0/16 table 5\n  }'));
      assert.deepEqual(l.config.vrrp.instances[0].virtualRules.map((r) => r.priority), [16384, 16383]);
    });
    it('rules without a preference continue static_rules\' count, per family (keepalived -t: 16384, 16383 | 16384; then 16382 | 16383)', () => {
      const l = load(
        'static_rules {\n  from 10.1.0.0/16 table 100\n  from 10.2.0.0/16 table 100\n  from 2001:db8::/32 table 100\n}\n' +
          basic('  virtual_rules {\n    from 10.3.0.0/16 table 101\n    from 2001:db9::/32 table 101\n  }'),
      );
      assert.deepEqual(l.config.static.rules.map((r) => [r.family, r.priority]), [['inet', 16384], ['inet', 16383], ['inet6', 16384]]);
      assert.deepEqual(l.config.vrrp.instances[0].virtualRules.map((r) => [r.family, r.priority, r.priorityGiven]), [['inet', 16382, false], ['inet6', 16383, false]]);
      assert.deepEqual(
        msgs(l).filter((m) => m.includes('no preference')).map((m) => m.replace(/^.*setting to (\d+).*$/, '$1')),
        ['16384', '16383', '16384', '16382', '16383'],
      );
    });
    it('a track script defined after the instance is not found (keepalived reads in order)', () => {
      const l = load(basic('  track_script {\n    late\n  }') + `vrrp_script late {\n  script /bin/check\n}\n`);
      assert.ok(find(l, '(VI_1) track script late not found, ignoring...'));
    });
  });

  describe('corpus samples', () => {
    const corpus = '/work/shared/corpus/keepalived-samples';
    const verdicts = new Map<string, number>();
    try {
      for (const line of readFileSync(join(corpus, 'VERDICTS.tsv'), 'utf8').split('\n').slice(1)) {
        const [file, code] = line.split('\t');
        if (file) verdicts.set(file, Number(code));
      }
    } catch {
      /* no corpus here */
    }
    const mine = ['keepalived.conf.vrrp', 'keepalived.conf.vrrp.localcheck', 'keepalived.conf.vrrp.lvs_syncd', 'keepalived.conf.vrrp.routes', 'keepalived.conf.vrrp.rules', 'keepalived.conf.vrrp.scripts', 'keepalived.conf.vrrp.sync', 'keepalived.conf.conditional_conf', 'keepalived.conf.SSL_GET', 'keepalived.conf.track_interface'];
    for (const s of mine) {
      it(`${s}: keepalived's exit code`, function () {
        if (!verdicts.has(s)) return assert.equal(verdicts.size, 0);
        // the samples were judged on a machine with lo and eth0 only, like fakeEnvironment's default
        const l = loadConfigFile(join(corpus, s), { env: fakeEnvironment({}) });
        assert.equal(l.diags.exitCode(), verdicts.get(s), l.diags.list.map((x) => `${x.loc?.line}: ${x.message}`).join('\n'));
      });
    }
  });

  describe('against keepalived on this machine', () => {
    const hasKeepalived = spawnSync('sh', ['-c', 'command -v keepalived']).status === 0;
    const tmp = mkdtempSync(join(tmpdir(), 'hacheck-vrrp-'));
    const table: { name: string; text: string; keepaliveExit: number }[] = [
      { name: 'minimal', text: basic(), keepaliveExit: 0 },
      { name: 'vrid missing', text: inst('  interface eth0\n  virtual_ipaddress {\n    10.0.0.1\n  }'), keepaliveExit: 5 },
      { name: 'no vip', text: inst('  interface eth0\n  virtual_router_id 5'), keepaliveExit: 5 },
      { name: 'missing interface', text: inst('  interface eth9\n  virtual_router_id 5\n  virtual_ipaddress {\n    10.0.0.1\n  }'), keepaliveExit: 5 },
      { name: 'missing parameter', text: basic('  priority'), keepaliveExit: 2 },
      { name: 'AH master', text: basic('  state MASTER\n  priority 100\n  authentication {\n    auth_type AH\n    auth_pass 1234\n  }'), keepaliveExit: 5 },
      { name: 'v3 fractional', text: basic('  version 3\n  advert_int 0.5'), keepaliveExit: 0 },
      { name: 'unknown keyword', text: basic('  priorty 100'), keepaliveExit: 5 },
      { name: 'ipv6', text: inst('  interface eth0\n  virtual_router_id 5\n  virtual_ipaddress {\n    fe80::1/64\n  }'), keepaliveExit: 0 },
    ];
    for (const k of table) {
      it(`${k.name}: exit ${k.keepaliveExit}`, () => {
        const file = join(tmp, `${k.name.replace(/\W+/g, '_')}.conf`);
        writeFileSync(file, k.text);
        const l = loadConfigFile(file);
        assert.equal(l.diags.exitCode(), k.keepaliveExit, l.diags.list.map((x) => x.message).join('\n'));
        if (hasKeepalived) {
          const r = spawnSync('keepalived', ['-t', '-f', file, '-l'], { cwd: tmp, encoding: 'utf8' });
          assert.equal(r.status, k.keepaliveExit, r.stderr);
        }
      });
    }
  });
});
