import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigText } from '../../src/config/index.js';
import { fakeEnvironment, type FileInfo } from '../../src/config/env.js';
import { newGlobalDefs } from '../../src/config/model/global.js';

const fixtures = new URL('../../../test/fixtures/global/', import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, fixtures), 'utf8');

const exe: FileInfo = { isFile: true, isDir: false, mode: 0o100755, uid: 0, gid: 0 };
const dir: FileInfo = { isFile: false, isDir: true, mode: 0o040755, uid: 0, gid: 0 };
const env = () =>
  fakeEnvironment({
    interfaces: ['lo', 'eth0'],
    files: {
      '/': dir,
      '/usr': dir,
      '/usr/bin': dir,
      '/usr/bin/start.sh': exe,
      '/usr/bin/stop.sh': exe,
      '/usr/bin/fifo.sh': exe,
      '/usr/bin/vfifo.sh': exe,
      '/usr/bin/lfifo.sh': exe,
      '/tmp': dir,
    },
  });

function load(text: string) {
  const r = loadConfigText(text, { env: env(), configId: 'x', file: 'k.conf' });
  return {
    ...r,
    exit: r.diags.exitCode(),
    msgs: r.diags.list.filter((d) => d.severity !== 'note').map((d) => `${d.loc?.line ?? '-'}: ${d.message}`),
    notes: r.diags.list.filter((d) => d.severity === 'note').map((d) => `${d.loc?.line ?? '-'}: ${d.message}`),
  };
}

describe('global_defs: defaults', () => {
  it('an empty configuration gives keepalived’s defaults', () => {
    const { config, exit } = load('');
    const g = config.global;
    assert.equal(exit, 0);
    assert.deepEqual(g, newGlobalDefs());
    assert.equal(g.vrrpMcastGroup4, '224.0.0.18');
    assert.equal(g.vrrpMcastGroup6, 'ff02::12');
    assert.equal(g.vrrpGarpMasterDelay, 5);
    assert.equal(g.vrrpGarpMasterRepeat, 5);
    assert.equal(g.vrrpGarpMasterRefresh, 0);
    assert.equal(g.vrrpGarpMasterRefreshRepeat, 1);
    assert.equal(g.vrrpGarpLowerPrioDelay, undefined);
    assert.equal(g.vrrpDownTimerAdverts, 3);
    assert.equal(g.vrrpVersion, 2);
    assert.equal(g.vrrpStrict, false);
    assert.equal(g.enableScriptSecurity, false);
    assert.equal(g.scriptUser, undefined);
    assert.equal(g.minAutoPriorityDelay, 1000000);
    assert.equal(g.lvsFlushOnStop, 'none');
    assert.deepEqual(g.notificationEmail, []);
    assert.deepEqual(config.static, { addresses: [], routes: [], rules: [], trackGroups: [] });
  });
});

describe('global_defs: every keyword', () => {
  it('reads the full fixture into the model', () => {
    const { config, msgs, notes } = load(fixture('global_defs_full.conf'));
    assert.deepEqual(msgs, []);
    assert.deepEqual(notes, []);
    const g = config.global;
    assert.equal(g.routerId, 'LVS_DEVEL');
    assert.deepEqual(g.notificationEmail, ['admin@example.com', 'ops@example.com', 'noc@example.com']);
    assert.equal(g.notificationEmailFrom, 'kad@example.com');
    assert.deepEqual(g.smtpServer, { host: '192.0.2.25', port: 2525 });
    assert.equal(g.smtpHeloName, 'mail.example.com');
    assert.equal(g.smtpConnectTimeout, 12);
    assert.equal(g.smtpAlert, false);
    assert.equal(g.smtpAlertVrrp, true);
    assert.equal(g.smtpAlertChecker, false);
    assert.equal(g.checkerLogAllFailures, true);
    assert.equal(g.noEmailFaults, true);
    assert.equal(g.noCheckerEmails, true);
    assert.equal(g.rsInitNotifies, true);
    assert.equal(g.enableScriptSecurity, true);
    assert.deepEqual(g.scriptUser, { user: 'root', group: 'root' });
    assert.deepEqual(g.startupScript?.argv, ['/usr/bin/start.sh']);
    assert.equal(g.startupScriptTimeout, 20);
    assert.deepEqual(g.shutdownScript?.argv, ['/usr/bin/stop.sh', 'now']);
    assert.equal(g.shutdownScriptTimeout, 30);
    assert.equal(g.notifyFifo.name, '/run/keepalived.fifo');
    assert.equal(g.notifyFifo.user, 'root');
    assert.equal(g.notifyFifo.group, 'root');
    assert.deepEqual(g.notifyFifo.script?.argv, ['/usr/bin/fifo.sh']);
    assert.equal(g.vrrpNotifyFifo.name, '/run/vrrp.fifo');
    assert.deepEqual(g.vrrpNotifyFifo.script?.argv, ['/usr/bin/vfifo.sh']);
    assert.equal(g.lvsNotifyFifo.name, '/run/lvs.fifo');
    assert.deepEqual(g.lvsNotifyFifo.script?.argv, ['/usr/bin/lfifo.sh']);
    assert.deepEqual(
      config.scripts.map((s) => [s.kind, s.argv[0]]),
      [
        ['startup', '/usr/bin/start.sh'],
        ['shutdown', '/usr/bin/stop.sh'],
        ['notify_fifo', '/usr/bin/fifo.sh'],
        ['notify_fifo', '/usr/bin/vfifo.sh'],
        ['notify_fifo', '/usr/bin/lfifo.sh'],
      ],
    );
    assert.equal(g.vrrpNotifyPriorityChanges, true);
    assert.equal(g.fifoWriteVrrpStatesOnReload, true);
    assert.equal(g.dynamicInterfaces, true);
    assert.equal(g.allowIfChanges, true);
    assert.equal(g.defaultInterface, 'lo');
    assert.equal(g.disableLocalIgmp, true);
    assert.equal(g.v3ChecksumAsV2, true);
    assert.equal(g.vrrpMcastGroup4, '224.0.0.19');
    assert.equal(g.vrrpMcastGroup6, 'ff02::13');
    assert.equal(g.vrrpGarpMasterDelay, 10);
    assert.equal(g.vrrpGarpMasterRepeat, 3);
    assert.equal(g.vrrpGarpMasterRefresh, 60);
    assert.equal(g.vrrpGarpMasterRefreshRepeat, 2);
    assert.equal(g.vrrpGarpLowerPrioDelay, 4);
    assert.equal(g.vrrpGarpLowerPrioRepeat, 6);
    assert.equal(g.vrrpDownTimerAdverts, 5);
    assert.equal(g.vrrpGarpInterval, 1000);
    assert.equal(g.vrrpGnaInterval, 2);
    // vrrp_min_garp after explicit values changes none of them
    assert.equal(g.vrrpMinGarp, true);
    assert.deepEqual(g.vrrpGarpExtraIf, { all: true, interval: 120 });
    assert.equal(g.vrrpLowerPrioNoAdvert, true);
    assert.equal(g.vrrpHigherPrioSendAdvert, true);
    assert.equal(g.vrrpVersion, 3);
    assert.equal(g.vrrpCheckUnicastSrc, true);
    assert.equal(g.vrrpSkipCheckAdvAddr, true);
    assert.equal(g.vrrpStrict, true);
    assert.equal(g.vrrpStartupDelay, 5500000);
    assert.equal(g.vrrpDelayAfterBoot, 30000000);
    assert.equal(g.logUnknownVrids, true);
    assert.equal(g.vrrpOwnerIgnoreAdverts, true);
    assert.equal(g.vmacPrefix, 'vrt');
    assert.equal(g.vmacAddrPrefix, '02:00:5e');
    assert.equal(g.maxAutoPriority, 50);
    assert.equal(g.minAutoPriorityDelay, 2000);
    assert.deepEqual(g.lvsTimeouts, { tcp: 900, tcpfin: 120, udp: 300 });
    assert.deepEqual(g.lvsSyncDaemon, { interface: 'eth0', instance: 'VI_1', id: 10, maxlen: 1400, port: 8848, ttl: 2, group: '224.0.0.81' });
    assert.equal(g.lvsFlush, true);
    assert.equal(g.lvsFlushOnStop, 'vs');
    assert.equal(g.umask, 0o077);
    assert.equal(g.randomSeed, 1234);
    assert.equal(g.reloadCheckConfig, '/tmp/reload.log');
    assert.equal(g.reloadTimeFile, '/tmp/reload_time');
    assert.equal(g.reloadRepeat, true);
    assert.equal(g.reloadFile, '/run/keepalived.reload');
    // +match -wildcard_match on an unset (0) include_check
    assert.equal(g.includeCheck, 2);
    assert.equal(g.configSaveDir, '/tmp');
    assert.equal(g.tmpConfigDirectory, '/tmp/kconf');
    assert.equal(g.dataUseInstance, true);
    assert.equal(g.jsonVersion, 2);
    assert.equal(g.iprouteUsrDir, '/usr/share/iproute2');
    assert.equal(g.iprouteEtcDir, '/etc/iproute2');
    assert.equal(g.stateDumpFile, '/tmp/state.data');
    assert.equal(g.statsDumpFile, '/tmp/stats.data');
    assert.equal(g.jsonDumpFile, '/tmp/state.json');
    assert.equal(g.useSymlinkPaths, false);
    assert.equal(g.setSupplementaryGroups, true);
  });

  it('vrrp_min_garp sets one GARP, no repeats, no delay when those were left at their defaults', () => {
    const { config } = load('global_defs {\n vrrp_min_garp\n}\n');
    const g = config.global;
    assert.deepEqual([g.vrrpGarpMasterRepeat, g.vrrpGarpMasterRefresh, g.vrrpGarpMasterRefreshRepeat, g.vrrpGarpMasterDelay], [1, 0, 0, 0]);
    assert.equal(load('global_defs {\n vrrp_min_garp off\n}\n').config.global.vrrpGarpMasterRepeat, 5);
  });

  it('optional values: max_auto_priority, lvs_flush_on_stop, reload_check_config, reload_file, include_check, umask number, net_namespace_ipvs', () => {
    const { config, exit } = load(
      'global_defs {\n max_auto_priority\n lvs_flush_onstop\n reload_check_config\n reload_file\n include_check\n umask 0x12\n}\nnet_namespace_ipvs ns2\n',
    );
    const g = config.global;
    assert.equal(exit, 0);
    assert.equal(g.maxAutoPriority, 99);
    assert.equal(g.lvsFlushOnStop, 'full');
    assert.equal(g.reloadCheckConfig, '/dev/null');
    assert.equal(g.reloadFile, '');
    assert.equal(g.includeCheck, 15);
    assert.equal(g.umask, 0o22);
    assert.equal(g.netNamespaceIpvs, 'ns2');
  });

  it('dump file locations under both names: *_dump_file (keepalived 2.3 code) and *_file_location (its man page)', () => {
    const a = load('global_defs {\n state_dump_file /run/a.data\n stats_dump_file /run/a.stats\n json_dump_file /run/a.json\n json_version 2\n}\n');
    const b = load('global_defs {\n state_file_location /run/a.data\n stats_file_location /run/a.stats\n json_file_location /run/a.json\n json_version 2\n}\n');
    for (const { config, exit } of [a, b]) {
      assert.equal(exit, 0);
      assert.equal(config.global.stateDumpFile, '/run/a.data');
      assert.equal(config.global.statsDumpFile, '/run/a.stats');
      assert.equal(config.global.jsonDumpFile, '/run/a.json');
      assert.equal(config.global.jsonVersion, 2);
    }
    assert.notEqual(load('global_defs {\n stats_file_location\n}\n').exit, 0);
  });

  it('the old lvs_sync_daemon form IF INSTANCE SYNCID', () => {
    const { config, msgs } = load('global_defs {\n lvs_sync_daemon eth0 VI_1 5\n}\n');
    assert.deepEqual(config.global.lvsSyncDaemon, { interface: 'eth0', instance: 'VI_1', id: 5 });
    assert.deepEqual(msgs, ['2: Please use keyword "id" before lvs_sync_daemon SYNCID']);
  });

  it('every unsupported keyword is accepted with a note and recorded', () => {
    const kws = [
      'process_names', 'process_name', 'vrrp_process_name', 'checker_process_name', 'lvs_process_name', 'bfd_process_name',
      'vrrp_iptables', 'vrrp_ipsets', 'nftables', 'nftables_priority', 'nftables_ifindex', 'nftables_ipvs', 'nftables_ipvs_priority',
      'nftables_ipvs_start_fwmark', 'nftables_counters', 'vrrp_priority', 'vrrp_no_swap', 'vrrp_rt_priority', 'vrrp_cpu_affinity',
      'vrrp_rlimit_rttime', 'vrrp_rlimit_rtime', 'checker_priority', 'checker_no_swap', 'checker_rt_priority', 'checker_cpu_affinity',
      'checker_rlimit_rttime', 'checker_rlimit_rtime', 'bfd_priority', 'bfd_no_swap', 'bfd_rt_priority', 'bfd_cpu_affinity',
      'bfd_rlimit_rttime', 'bfd_rlimit_rtime', 'snmp_socket', 'enable_traps', 'enable_snmp_vrrp', 'enable_snmp_keepalived',
      'enable_snmp_rfc', 'enable_snmp_rfcv2', 'enable_snmp_rfcv3', 'enable_snmp_checker', 'snmp_vs_stats_update_interval',
      'snmp_rs_stats_update_interval', 'enable_dbus', 'dbus_service_name', 'dbus_no_interface_name', 'vrrp_netlink_cmd_rcv_bufs',
      'vrrp_netlink_cmd_rcv_bufs_force', 'vrrp_netlink_monitor_rcv_bufs', 'vrrp_netlink_monitor_rcv_bufs_force',
      'process_monitor_rcv_bufs', 'process_monitor_rcv_bufs_force', 'lvs_netlink_cmd_rcv_bufs', 'lvs_netlink_cmd_rcv_bufs_force',
      'lvs_netlink_monitor_rcv_bufs', 'lvs_netlink_monitor_rcv_bufs_force', 'vrrp_rx_bufs_policy', 'vrrp_rx_bufs_multiplier',
    ];
    const { config, exit, notes, msgs } = load(`global_defs {\n${kws.map((k) => ` ${k} 1\n`).join('')}}\n`);
    assert.equal(exit, 0);
    assert.deepEqual(msgs, []);
    assert.equal(notes.length, kws.length);
    assert.match(notes[0], /^2: 'process_names' is accepted but not implemented by hacheck: /);
    assert.deepEqual(config.global.unsupported, kws);
  });
});

describe('top-level global keywords and root blocks', () => {
  it('reads the root fixture', () => {
    const { config, msgs, exit } = load(fixture('root.conf'));
    const g = config.global;
    assert.equal(g.netNamespace, 'blue');
    assert.equal(g.netNamespaceIpvs, '');
    assert.equal(g.namespaceWithIpsets, true);
    assert.equal(g.usePidDir, true);
    assert.equal(g.instance, 'site1');
    assert.equal(g.childWaitTime, 7);
    assert.equal(g.linkbeatUsePolling, true);
    assert.deepEqual(g.linkbeatInterfaces, [{ name: 'eth0', type: 'MII' }, { name: 'lo' }]);
    assert.deepEqual(g.interfaceUpDownDelays, [
      { name: 'eth0', down: 1500000, up: 2000000 },
      { name: 'lo', down: 250000, up: 0 },
    ]);
    assert.deepEqual(config.static.trackGroups, [{ name: 'TG1', group: ['VI_1', 'VI_2', 'VI_3'] }]);
    assert.equal(config.static.addresses.length, 4);
    assert.equal(config.static.routes.length, 6);
    assert.equal(config.static.rules.length, 5);
    // the same messages keepalived 2.2.7 gives (checked without net_namespace/instance)
    assert.deepEqual(msgs, [
      '35: Route cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol',
      '38: Warning - cannot track route 10.10.0.0/16 with no interface specified, not tracking',
      '47: Rule has no preference specified - setting to 16384. This is probably not what you want.',
      '48: Rule has no preference specified - setting to 16384. This is probably not what you want.',
    ]);
    assert.equal(exit, 5);
  });
});

interface Case {
  name: string;
  conf: string;
  msgs: string[];
  exit: number;
}

// Checked against keepalived 2.2.7 -t where `keepalive` is given (same exit code).
const errorCases: (Case & { keepalive?: true })[] = [
  { name: 'vrrp_version out of range', conf: 'global_defs {\n vrrp_version 4\n}\n', msgs: ["2: number '4' outside range [2, 3]", '2: VRRP Error: Version must be either 2 or 3'], exit: 5, keepalive: true },
  { name: 'missing parameter stops the parse', conf: 'global_defs {\n smtp_connect_timeout\n}\n', msgs: ['2: *** Configuration line starting `smtp_connect_timeout` is missing a parameter after keyword `smtp_connect_timeout` at word position 2'], exit: 2, keepalive: true },
  { name: 'vrrp_mcast_group4 not multicast', conf: 'global_defs {\n vrrp_mcast_group4 10.0.0.1\n}\n', msgs: ['2: vrrp_mcast_group4 [10.0.0.1] is not multicast. Skipping'], exit: 5, keepalive: true },
  { name: 'vrrp_mcast_group6 not link-local', conf: 'global_defs {\n vrrp_mcast_group6 ff05::12\n}\n', msgs: ['2: vrrp_mcast_group6 [ff05::12] should be link-local multicast.'], exit: 5, keepalive: true },
  { name: 'unknown keyword', conf: 'global_defs {\n router_idd X\n}\n', msgs: ["2: Unknown keyword 'router_idd'"], exit: 5, keepalive: true },
  { name: 'repeat 0 and a bad boolean', conf: 'global_defs {\n vrrp_garp_master_repeat 0\n smtp_alert maybe\n}\n', msgs: ['2: vrrp_garp_master_repeat must be greater than 0, setting to 1', "3: Invalid value 'maybe' for global smtp_alert specified"], exit: 5, keepalive: true },
  { name: 'linkbeat interface missing (fatal only)', conf: 'linkbeat_interfaces {\n eth9\n}\n', msgs: ['2: unknown interface eth9 specified for linkbeat interface'], exit: 4, keepalive: true },
  { name: 'up/down delay interface missing (fatal only)', conf: 'interface_up_down_delays {\n eth0 1.5 2\n eth9 1\n}\n', msgs: ['3: unknown interface eth9 specified for up/down delay'], exit: 4, keepalive: true },
  {
    name: 'default interface missing for a static address',
    conf: 'global_defs {\n default_interface eth9\n}\nstatic_ipaddress {\n 10.1.1.1/24\n}\n',
    msgs: ['5: Static address 10.1.1.1/24 requires either an interface or default interface must exist', '-: Non-existent interface specified in configuration'],
    exit: 4,
    keepalive: true,
  },
  { name: 'track_group not defined', conf: 'track_group TG1 {\n group {\n VI_1\n }\n}\nstatic_ipaddress {\n 10.1.1.1/24 dev eth0 track_group TG1\n 10.1.1.2/24 dev eth0 track_group TG2\n}\n', msgs: ['8: track_group TG2 not found'], exit: 5, keepalive: true },
  { name: 'dynamic_interfaces accepts missing interfaces', conf: 'global_defs {\n dynamic_interfaces\n}\nstatic_ipaddress {\n 10.1.1.1/24 dev eth9\n}\nstatic_routes {\n 10.9.0.0/16 dev eth8\n}\n', msgs: [], exit: 0, keepalive: true },
  { name: 'unsupported keywords are not errors', conf: 'global_defs {\n enable_snmp_vrrp\n vrrp_rt_priority 50\n}\n', msgs: [], exit: 0, keepalive: true },
  { name: 'top-level keywords', conf: 'use_pid_dir\nchild_wait_time 5\nlinkbeat_use_polling\nnamespace_with_ipsets\nnet_namespace_ipvs\n', msgs: [], exit: 0, keepalive: true },
  { name: 'lvs_timeouts options', conf: 'global_defs {\n lvs_timeouts tcp\n lvs_timeouts tcp 99999999 foo 3\n}\n', msgs: ['2: lvs_timeouts requires at least one option', "3: number '99999999' outside range [0, 2678400]", '3: Invalid lvs_timeout tcp (99999999) - ignoring', '3: Unknown option foo specified for lvs_timeouts', '3: Unknown option 3 specified for lvs_timeouts'], exit: 5, keepalive: true },
  { name: 'umask syntax', conf: 'global_defs {\n umask IRWXG|IFOO\n}\n', msgs: ['2: Unknown umask bit IFOO'], exit: 5, keepalive: true },
  { name: 'script_user unknown', conf: 'global_defs {\n script_user nosuchuser\n}\n', msgs: ["2: Script user 'nosuchuser' does not exist", '2: Error setting global script uid/gid'], exit: 5, keepalive: true },
  { name: 'notify_fifo twice', conf: 'global_defs {\n notify_fifo /run/a\n notify_fifo /run/b\n}\n', msgs: ['3: notify_fifo already specified - ignoring /run/b'], exit: 5, keepalive: true },
  { name: 'vrrp_garp_interval range', conf: 'global_defs {\n vrrp_garp_interval 0\n}\n', msgs: ["2: number '0' outside range [0.000001, 4294.967295]", "2: vrrp_garp_interval '0' is invalid"], exit: 5, keepalive: true },
  { name: 'startup_script_timeout range', conf: 'global_defs {\n startup_script_timeout 2000\n}\n', msgs: ["2: number '2000' outside range [1, 1000]", "2: startup_script_timeout '2000' must be in [1, 1000] - ignoring"], exit: 5 },
  { name: 'dynamic_interfaces option', conf: 'global_defs {\n dynamic_interfaces sometimes\n}\n', msgs: ["2: Unknown dynamic_interfaces option 'sometimes'"], exit: 5, keepalive: true },
  { name: 'track_group without a name', conf: 'track_group {\n group {\n VI_1\n }\n}\n', msgs: ['1: track_group must have a name - skipping'], exit: 5 },
  { name: 'a list block with words after its keyword', conf: 'static_routes extra {\n 10.9.0.0/16 dev lo\n}\n', msgs: ['1: Block static_routes has extra parameters extra ...'], exit: 5, keepalive: true },
  { name: 'instance twice', conf: 'instance a\ninstance b\n', msgs: ['2: Duplicate instance definition b - ignoring'], exit: 5 },
];

describe('global family: errors, with keepalived’s messages, lines and exit codes', () => {
  for (const t of errorCases) {
    it(t.name, () => {
      const r = load(t.conf);
      assert.deepEqual(r.msgs, t.msgs);
      assert.equal(r.exit, t.exit);
    });
  }
});

function hasKeepalived(): boolean {
  try {
    execFileSync('keepalived', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('global family: the same exit code as keepalived -t', () => {
  const cases = errorCases.filter((t) => t.keepalive);
  it(`keepalived, when installed, gives the recorded exit code for ${cases.length} configurations`, function () {
    if (!hasKeepalived()) {
      // keepalived not installed: the recorded codes above are what it gave
      assert.ok(cases.every((t) => [0, 2, 4, 5, 6].includes(t.exit)));
      return;
    }
    const d = mkdtempSync(join(tmpdir(), 'hacheck-global-'));
    for (const [i, t] of cases.entries()) {
      const f = join(d, `c${i}.conf`);
      writeFileSync(f, t.conf);
      const r = spawnSync('keepalived', ['-t', '-f', f, '-l', '-D'], { encoding: 'utf8' });
      assert.equal(r.status, t.exit, `${t.name}: keepalived gave ${r.status}: ${r.stderr}`);
      const h = loadConfigText(t.conf, { configId: 'x' });
      assert.equal(h.diags.exitCode(), t.exit, `${t.name}: hacheck on the real machine`);
    }
  });
});
