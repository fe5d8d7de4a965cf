// keepalived's dump files (src/daemon/dumps.ts). The expected text is what keepalived 2.2.7
// wrote for the same configuration in a namespace (SIGUSR1/SIGUSR2/SIGRTMIN+2 to its VRRP
// child), less the lines hacheck has no counterpart for (sockpool fds, read timeout,
// interface queue, script runtime state).

import assert from 'node:assert/strict';
import { loadConfigText } from '../../src/config/index.js';
import { fakeEnvironment, type FileInfo } from '../../src/config/env.js';
import type { InstanceStatus } from '../../src/vrrp/engine.js';
import {
  ctimeUs,
  dumpPaths,
  formatCheckData,
  formatData,
  formatJson,
  formatStats,
  statsOf,
  tmpDir,
  type DumpSnapshot,
} from '../../src/daemon/dumps.js';

const d = (): FileInfo => ({ isFile: false, isDir: true, mode: 0o040755, uid: 0, gid: 0 });
const f = (): FileInfo => ({ isFile: true, isDir: false, mode: 0o100755, uid: 0, gid: 0 });
const env = fakeEnvironment({ interfaces: ['lo', 'veth0'], files: { '/': d(), '/usr': d(), '/usr/bin': d(), '/usr/bin/true': f() } });

const CONF = `global_defs {
  router_id node1
  script_user root
  enable_script_security
}
vrrp_script chk_ok {
  script "/usr/bin/true"
  interval 1
  weight 10
}
vrrp_instance VI_1 {
  state MASTER
  interface veth0
  virtual_router_id 51
  priority 100
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass secret
  }
  virtual_ipaddress {
    10.9.0.100/24
    10.9.0.101 dev veth0 label veth0:1
  }
  virtual_ipaddress_excluded {
    10.9.0.200
  }
  track_interface {
    veth0
  }
  track_script {
    chk_ok
  }
  notify_master "/usr/bin/true master"
}
vrrp_instance VI_2 {
  state BACKUP
  interface veth0
  virtual_router_id 52
  priority 50
  advert_int 2
  nopreempt
  unicast_peer {
    10.9.0.2
  }
  virtual_ipaddress {
    10.9.0.150
  }
}
virtual_server 10.9.0.100 80 {
  delay_loop 3
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 10.9.0.2 80 {
    weight 2
    TCP_CHECK {
      connect_timeout 2
    }
  }
}
`;

const zeroStats = () => ({ becomeMaster: 0, releaseMaster: 0, advertSent: 0, priZeroSent: 0, priZeroRcvd: 0, advertRcvd: 0, errors: {} as Record<string, number> });

// Both clocks at one instant: wall 1795244600.000000 s, monotonic 100000 ms.
const WALL_MS = 1795244600_000;
const MONO_MS = 100_000;
function snapshot(): DumpSnapshot {
  const vi1: InstanceStatus = {
    name: 'VI_1', vrid: 51, interface: 'veth0', family: 'inet', advertIntervalCs: 100, state: 'MASTER', wantState: 'MASTER',
    basePriority: 100, effectivePriority: 110, lastTransition: MONO_MS - 7355.268, faults: [], dualMasterPeers: [], foreignVridPeers: [],
    stats: { ...zeroStats(), becomeMaster: 1, advertSent: 3 },
  };
  const vi2: InstanceStatus = {
    name: 'VI_2', vrid: 52, interface: 'veth0', family: 'inet', advertIntervalCs: 200, state: 'BACKUP', wantState: 'BACKUP',
    basePriority: 50, effectivePriority: 50, lastTransition: MONO_MS - 10927.808, faults: [], dualMasterPeers: [], foreignVridPeers: [], stats: zeroStats(),
  };
  return { vrrp: [vi1, vi2], wallMs: WALL_MS, monoMs: MONO_MS, lvs: { realServers: [{ vs: '[10.9.0.100]:tcp:80', rs: '10.9.0.2:80', up: true, weight: 2 }] } };
}

describe('keepalived dump files', function () {
  let savedTz: string | undefined;
  before(function () {
    savedTz = process.env.TZ;
    process.env.TZ = 'UTC';
  });
  after(function () {
    if (savedTz === undefined) delete process.env.TZ;
    else process.env.TZ = savedTz;
  });

  const cfg = () => {
    const l = loadConfigText(CONF, { env, file: 'ka.conf' });
    // keepalived's only remark: "(VI_1) Ignoring track_interface veth0 since own interface"
    assert.deepEqual(l.diags.list.filter((x) => x.severity === 'error' && !/Ignoring track_interface/.test(x.message)).map((x) => x.message), []);
    return l.config;
  };

  it('keepalived.stats: every counter, in keepalived\'s layout', function () {
    const s = snapshot();
    (s.vrrp[1].stats.errors as Record<string, number>).auth_failure = 4;
    (s.vrrp[1].stats.errors as Record<string, number>).ip_ttl_err = 2;
    s.vrrp[1].stats.advertRcvd = 17;
    assert.equal(formatStats(s), [
      'VRRP Instance: VI_1', '  Advertisements:', '    Received: 0', '    Sent: 3', '  Became master: 1', '  Released master: 0',
      '  Packet Errors:', '    Length: 0', '    TTL: 0', '    Invalid Type: 0', '    Advertisement Interval: 0', '    Address List: 0',
      '  Authentication Errors:', '    Invalid Type: 0', '    Type Mismatch: 0', '    Failure: 0',
      '  Priority Zero:', '    Received: 0', '    Sent: 0',
      'VRRP Instance: VI_2', '  Advertisements:', '    Received: 17', '    Sent: 0', '  Became master: 0', '  Released master: 0',
      '  Packet Errors:', '    Length: 0', '    TTL: 2', '    Invalid Type: 0', '    Advertisement Interval: 0', '    Address List: 0',
      '  Authentication Errors:', '    Invalid Type: 0', '    Type Mismatch: 0', '    Failure: 4',
      '  Priority Zero:', '    Received: 0', '    Sent: 0', '',
    ].join('\n'));
  });

  it('stats after a clear count from the baseline', function () {
    const s = snapshot();
    const base = new Map([['VI_1', statsOf(s.vrrp[0])]]);
    s.vrrp[0].stats.advertSent = 10;
    const text = formatStats(s, base);
    assert.match(text, /VRRP Instance: VI_1\n {2}Advertisements:\n {4}Received: 0\n {4}Sent: 7\n {2}Became master: 0\n/);
  });

  it('keepalived.data: the VRRP topology as keepalived lists it', function () {
    const text = formatData(cfg(), snapshot());
    const vi1 = text.slice(text.indexOf(' VRRP Instance = VI_1'), text.indexOf(' VRRP Instance = VI_2'));
    assert.equal(vi1, [
      ' VRRP Instance = VI_1',
      '   VRRP Version = 2',
      '   State = MASTER',
      '   Flags: none',
      '   Wantstate = MASTER',
      '   Number of config faults = 0',
      '   Number of interface and track script faults = 0',
      '   Number of track scripts init = 0',
      '   Last transition = 1795244592.644732 (Sat Nov 21 07:03:12.644732 2026)',
      '   Master down timer = 3570312 usecs',
      '   Interface = veth0',
      '   Multicast address 224.0.0.18',
      '   Gratuitous ARP delay = 5',
      '   Gratuitous ARP repeat = 5',
      '   Gratuitous ARP refresh = 0',
      '   Gratuitous ARP refresh repeat = 1',
      '   Gratuitous ARP lower priority delay = 5',
      '   Gratuitous ARP lower priority repeat = 5',
      '   Down timer adverts = 3',
      '   Send advert after receive lower priority advert = true',
      '   Send advert after receive higher priority advert = false',
      '   Virtual Router ID = 51',
      '   Priority = 100',
      '   Effective priority = 110',
      '   Total priority = 110',
      '   Advert interval = 1 sec',
      '   Accept = enabled',
      '   Preempt = enabled',
      '   Promote_secondaries = disabled',
      '   Authentication type = SIMPLE_PASSWORD',
      '   Password = secret',
      '   Virtual IP (2):',
      '     10.9.0.100/24 dev veth0 scope global set',
      '     10.9.0.101 dev veth0 scope global label veth0:1 set',
      '   Virtual IP Excluded :',
      '     10.9.0.200 dev veth0 scope global set',
      '   Tracked scripts :',
      '     chk_ok weight 10',
      '   Using smtp notification = no',
      '   Notify deleted = Fault',
      "   Master state transition script = '/usr/bin/true' 'master', uid:gid 0:0",
      '   Notify priority changes = false',
      '',
    ].join('\n'));
    const vi2 = text.slice(text.indexOf(' VRRP Instance = VI_2'), text.indexOf('------< VRRP Scripts >------'));
    for (const line of [
      '   State = BACKUP\n   Master router = 224.0.0.18\n   Master priority = 0\n   Flags:\n     Using unicast\n   Wantstate = BACKUP\n',
      '   Last transition = 1795244589.072192 (Sat Nov 21 07:03:09.072192 2026)\n',
      '   Master down timer = 6804687 usecs\n   Interface = veth0\n   Gratuitous ARP delay = 5\n',
      '   Advert interval = 2 sec\n   Accept = enabled\n   Preempt = disabled\n',
      '   Authentication type = none\n   Virtual IP (1):\n     10.9.0.150 dev veth0 scope global\n   Unicast TTL = 255\n   Check unicast src : no\n   Unicast Peer :\n     10.9.0.2 min_ttl 0 max_ttl 255\n   Unicast checksum compatibility = no\n',
    ]) assert.ok(vi2.includes(line), `VI_2 block has:\n${line}\n--- got:\n${vi2}`);
    assert.ok(text.startsWith('------< Global definitions >------\n Network namespace = (default)\n Network namespace ipvs = (main namespace)\n Router ID = node1\n Default smtp_alert = unset\n'));
    for (const line of [' Gratuitous ARP lower priority repeat = 5\n Num adverts before down = 3\n', ' VRRP IPv4 mcast group = 224.0.0.18\n VRRP IPv6 mcast group = ff02::12\n',
      ' Gratuitous ARP interval = 0.000000\n Gratuitous NA interval = 0.000000\n VRRP default protocol version = 2\n', ' Script security enabled\n', ' Max auto priority = 0\n Min auto priority delay = 1000000 usecs\n']) {
      assert.ok(text.includes(line), line);
    }
    assert.ok(text.includes("------< VRRP Scripts >------\n VRRP Script = chk_ok\n   Command = '/usr/bin/true'\n   Interval = 1 sec\n   Timeout = 0 sec\n   Weight = 10\n   Rise = 1\n   Fall = 1\n"));
    assert.ok(text.includes('   Tracking instances :\n     VI_1, weight 10\n'));
  });

  it('a BACKUP that has heard its master names it', function () {
    const s = snapshot();
    s.vrrp[1].masterAddress = '10.9.0.2';
    s.vrrp[1].masterPriority = 200;
    assert.match(formatData(cfg(), s), / {3}State = BACKUP\n {3}Master router = 10\.9\.0\.2\n {3}Master priority = 200\n/);
  });

  it('keepalived.json: keepalived\'s keys, order and number formats', function () {
    const json = formatJson(cfg(), snapshot());
    const expectedVi1 = '{"data":{"iname":"VI_1","dont_track_primary":0,"skip_check_adv_addr":0,"strict_mode":0,"vmac_ifname":"","ifp_ifname":"veth0","master_priority":0,"last_transition":1795244592.644732,"garp_delay":5,"garp_refresh":0,"garp_rep":5,"garp_refresh_rep":1,"garp_lower_prio_delay":5,"garp_lower_prio_rep":5,"lower_prio_no_advert":0,"higher_prio_send_advert":0,"vrid":51,"base_priority":100,"effective_priority":110,"vipset":true,"promote_secondaries":false,"adver_int":1,"master_adver_int":1,"accept":1,"nopreempt":false,"preempt_delay":0,"state":2,"wantstate":2,"version":2,"smtp_alert":false,"notify_deleted":false,"script_master":"\'\\/usr\\/bin\\/true\' \'master\'","vips":["10.9.0.100\\/24 dev veth0 scope global set","10.9.0.101 dev veth0 scope global label veth0:1 set"],"evips":["10.9.0.200 dev veth0 scope global set"],"track_script":["\'\\/usr\\/bin\\/true\'"],"auth_type":1,"auth_data":"secret"},"stats":{"advert_rcvd":0,"advert_sent":3,"become_master":1,"release_master":0,"packet_len_err":0,"advert_interval_err":0,"ip_ttl_err":0,"invalid_type_rcvd":0,"addr_list_err":0,"invalid_authtype":0,"authtype_mismatch":0,"auth_failure":0,"pri_zero_rcvd":0,"pri_zero_sent":0}}';
    const expectedVi2 = '{"data":{"iname":"VI_2","dont_track_primary":0,"skip_check_adv_addr":0,"strict_mode":0,"vmac_ifname":"","ifp_ifname":"veth0","master_priority":0,"last_transition":1795244589.072192,"garp_delay":5,"garp_refresh":0,"garp_rep":5,"garp_refresh_rep":1,"garp_lower_prio_delay":5,"garp_lower_prio_rep":5,"lower_prio_no_advert":0,"higher_prio_send_advert":0,"vrid":52,"base_priority":50,"effective_priority":50,"vipset":false,"promote_secondaries":false,"adver_int":2,"master_adver_int":2,"accept":1,"nopreempt":true,"preempt_delay":0,"state":1,"wantstate":1,"version":2,"smtp_alert":false,"notify_deleted":false,"vips":["10.9.0.150 dev veth0 scope global"],"auth_type":0},"stats":{"advert_rcvd":0,"advert_sent":0,"become_master":0,"release_master":0,"packet_len_err":0,"advert_interval_err":0,"ip_ttl_err":0,"invalid_type_rcvd":0,"addr_list_err":0,"invalid_authtype":0,"authtype_mismatch":0,"auth_failure":0,"pri_zero_rcvd":0,"pri_zero_sent":0}}';
    assert.equal(json, `[${expectedVi1},${expectedVi2}]`);
    const parsed = JSON.parse(json) as { data: { iname: string }; stats: { advert_sent: number } }[];
    assert.equal(parsed[0].stats.advert_sent, 3);
  });

  it('keepalived_check.data: virtual and real servers with live weights', function () {
    const text = formatCheckData(cfg(), snapshot());
    assert.ok(text.startsWith('------< Global definitions >------\n'));
    assert.ok(!text.includes('Default interface'), 'the checker process has no default interface line');
    assert.ok(text.includes('------< LVS Topology >------\n System is compiled with LVS v1.2.1\n ------< Virtual server >------\n VS VIP = 10.9.0.100, VPORT = 80\n'));
    assert.ok(text.includes('   delay_loop = 3\n   lvs_sched = rr\n'));
    assert.ok(text.includes('   protocol = TCP\n'));
    assert.ok(text.includes('   default forwarding method = NAT\n'));
    assert.ok(text.includes('   ------< Real server >------\n   RIP = 10.9.0.2, RPORT = 80, WEIGHT = 2 EFF WEIGHT = 2\n   forwarding method = NAT\n'));
    assert.match(text, / {3}connection timeout = 5\n/);
    assert.match(text, / {3}alive = 1\n$/);
  });

  it('file names: TMPDIR, state_dump_file & co, data_use_instance', function () {
    assert.equal(tmpDir({}), '/tmp');
    assert.equal(tmpDir({ TMPDIR: 'rel' }), '/tmp');
    assert.equal(tmpDir({ TMPDIR: '/var/tmp/' }), '/var/tmp');
    const g = { dataUseInstance: false };
    assert.deepEqual(dumpPaths(g, '/tmp'), { data: '/tmp/keepalived.data', check: '/tmp/keepalived_check.data', stats: '/tmp/keepalived.stats', json: '/tmp/keepalived.json' });
    assert.deepEqual(dumpPaths({ ...g, stateDumpFile: '/run/ka/state.txt', statsDumpFile: '/run/ka/', jsonDumpFile: 'ka.json' }, '/tmp'),
      { data: '/run/ka/state.txt', check: '/run/ka/state_check.txt', stats: '/run/ka/keepalived.stats', json: '/tmp/ka.json' });
    assert.equal(dumpPaths({ ...g, stateDumpFile: '/run/ka/' }, '/tmp').data, '/run/ka/keepalived.data');
    assert.equal(dumpPaths({ dataUseInstance: true, instance: 'i1', netNamespace: 'blue' }, '/tmp').data, '/tmp/keepalived.blue_i1.data');
    assert.equal(dumpPaths({ dataUseInstance: true, instance: 'i1' }, '/tmp').check, '/tmp/keepalived_check.i1.data');
    assert.equal(dumpPaths({ dataUseInstance: true }, '/tmp').data, '/tmp/keepalived.data');
  });

  it('ctime with microseconds pads the day as ctime(3)', function () {
    assert.equal(ctimeUs(Date.UTC(2026, 10, 1, 7, 3, 9) * 1000 + 42), 'Sun Nov  1 07:03:09.000042 2026');
  });
});
