import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigText } from '../../src/config/index.js';
import { fakeEnvironment } from '../../src/config/env.js';
import { setIproute2Files, lookupName, strtoul } from '../../src/config/model/iproute.js';

function load(text: string, interfaces = ['lo', 'eth0']) {
  const r = loadConfigText(text, { env: fakeEnvironment({ interfaces }), configId: 'x', file: 'k.conf' });
  return {
    ...r,
    exit: r.diags.exitCode(),
    msgs: r.diags.list.filter((d) => d.severity !== 'note').map((d) => `${d.loc?.line ?? '-'}: ${d.message}`),
  };
}
const block = (kw: string, lines: string[]) => `${kw} {\n${lines.map((l) => ` ${l}\n`).join('')}}\n`;

before(() => setIproute2Files({ rt_tables: '# tables\n100 isp1\n', rt_dsfield: '0x10 lowdelay\n', rt_realms: '5 cust\n' }));
after(() => setIproute2Files(undefined));

describe('iproute: addresses (static_ipaddress)', () => {
  it('reads every option', () => {
    const { config, msgs } = load(
      block('static_ipaddress', [
        '192.168.200.16/24 dev eth0 scope link label eth0:1 brd +',
        '10.1.1.1',
        '2001:db8::1/64 dev lo -nodad noprefixroute mngtmpaddr preferred_lft forever no_track',
        '2001:db8::2 dev lo',
        '10.2.2.2 peer 10.2.2.3 dev eth0 home autojoin',
        '10.3.3.3/16 brd - dev eth0 preferred_lft 60',
        '10.4.4.4/24 broadcast 10.4.4.127 dev eth0',
      ]),
    );
    assert.deepEqual(msgs, []);
    const [a, b, c, d, e, f, g] = config.static.addresses;
    assert.equal(a.family, 'inet');
    assert.equal(a.address, '192.168.200.16');
    assert.equal(a.prefixLen, 24);
    assert.equal(a.dev, 'eth0');
    assert.equal(a.scope, 253);
    assert.equal(a.label, 'eth0:1');
    assert.equal(a.broadcast, '192.168.200.255');
    // default interface eth0, /32
    assert.equal(b.dev, 'eth0');
    assert.equal(b.prefixLen, 32);
    assert.equal(b.noTrack, false);
    assert.equal(c.family, 'inet6');
    assert.deepEqual([c.nodad, c.noprefixroute, c.mngtmpaddr, c.noTrack, c.preferredLft], [true, true, true, true, 0xffffffff]);
    // IPv6 /128 default preferred_lft is 0
    assert.equal(d.preferredLft, 0);
    assert.deepEqual([e.peer, e.home, e.autojoin, e.prefixLen], ['10.2.2.3', true, true, 32]);
    assert.deepEqual([f.broadcast, f.preferredLft], ['10.3.0.0', 60]);
    assert.equal(g.broadcast, '10.4.4.127');
  });

  it('keepalived’s messages for bad lines', () => {
    const { msgs, config, exit } = load(
      block('static_ipaddress', [
        '192.168.100./24',
        '10.1.1.1/40 dev eth0',
        '10.1.1.2 dev eth1',
        '10.1.1.3 dev eth0 dev lo',
        '2001:db8::5 brd + dev lo',
        '10.1.1.4 label averyveryverylonglabel',
        '10.1.1.5 scope nowhereland',
        '10.1.1.6 frobnicate',
        '10.1.1.7 dev',
        '2001:db8::6 dev lo scope link label x',
        '10.1.1.8/31 brd +',
        '10.1.1.9 use_vmac',
      ]),
    );
    assert.deepEqual(msgs, [
      '2: VRRP parsed invalid IP 192.168.100./24. skipping IP...',
      "3: number '40' outside range [0, 32]",
      '3: Invalid address prefix len 40 for address 10.1.1.1/40 - using 32',
      "4: WARNING - interface eth1 for ip address 10.1.1.2 doesn't exist",
      '5: Cannot specify ipaddress device more than once for 10.1.1.3',
      '6: VRRP is trying to assign a broadcast brd to the IPv6 address 2001:db8::5 !!?? WTF... skipping VIP...',
      '7: Address label averyveryverylonglabel is longer than maximum length 15 - removing address',
      "8: Invalid scope 'nowhereland' specified for 10.1.1.5 - ignoring",
      "9: Unknown configuration entry 'frobnicate' for ip address - ignoring",
      '10: No dev parameter specified for 10.1.1.7',
      '11: Cannot specify scope for IPv6 addresses (2001:db8::6) - ignoring scope',
      '11: Cannot specify label for IPv6 addresses (2001:db8::6) - ignoring label',
      '12: Address prefix length 31 too long for broadcast',
      "13: Unknown configuration entry 'use_vmac' for ip address - ignoring",
      '-: Non-existent interface specified in configuration',
    ]);
    assert.deepEqual(
      config.static.addresses.map((a) => a.address),
      ['10.1.1.1', '10.1.1.5', '10.1.1.6', '2001:db8::6', '10.1.1.8', '10.1.1.9'],
    );
    assert.equal(exit, 5);
  });
});

describe('iproute: routes (static_routes)', () => {
  it('reads every option', () => {
    const { config, msgs } = load(
      block('static_routes', [
        'src 192.168.100.1 192.168.209.0/24 via 192.168.200.254 dev eth0 table isp1 metric 5 scope site protocol static no_track',
        'blackhole 10.8.0.0/16 dev lo',
        'unreachable 10.7.0.0/16 dev lo',
        '10.9.0.0/16 dev eth0 mtu lock 1400 advmss 1360 hoplimit 9 rtt 0.5s rttvar 100 rto_min lock 300ms window 10 cwnd 11 ssthresh 12 initcwnd 13 initrwnd 14 reordering 3 quickack 1 fastopen_no_cookie 0 onlink tos lowdelay realms cust features ecn congctl lock cubic append',
        '10.10.0.0/16 dev eth0 nexthop via 192.168.200.1 dev eth0 weight 2 onlink nexthop via 192.168.200.2 dev lo realms 1/5',
        '2001:db8:2::/48 via 2001:db8::ff dev lo pref high expires 30 from 2001:db8:9::/48 ttl-propagate disabled',
        'default via inet 10.0.0.1 dev eth0 add',
        '10.11.0.0/16 dev eth0 encap ip id 5 dst 10.0.0.9 ttl 4',
      ]),
    );
    assert.deepEqual(msgs, []);
    const [a, b, c, d, e, f, g, h] = config.static.routes;
    assert.deepEqual([a.src, a.dst.address, a.dst.prefixLen, a.via, a.dev, a.table, a.metric, a.scope, a.protocol, a.noTrack], ['192.168.100.1', '192.168.209.0', 24, '192.168.200.254', 'eth0', 100, 5, 200, 4, true]);
    assert.equal(a.mode, 'prepend');
    assert.deepEqual([b.type, b.dst.address, b.protocol, b.noTrack], ['blackhole', '10.8.0.0', 18, false]);
    assert.equal(c.type, 'unreachable');
    assert.deepEqual(d.metrics, { mtu: 1400, advmss: 1360, hoplimit: 9, rtt: 4000, rttvar: 800, rto_min: 300, window: 10, cwnd: 11, ssthresh: 12, initcwnd: 13, initrwnd: 14, reordering: 3, quickack: 1, fastopen_no_cookie: 0 });
    assert.deepEqual(d.locked, ['mtu', 'rto_min']);
    assert.deepEqual([d.onlink, d.tos, d.realms, d.featuresEcn, d.congctl, d.mode], [true, 0x10, 5, true, 'cubic', 'append']);
    assert.deepEqual(e.nexthops, [
      { via: '192.168.200.1', dev: 'eth0', weight: 2, onlink: true },
      { via: '192.168.200.2', dev: 'lo', onlink: false, realms: (1 << 16) | 5 },
    ]);
    assert.deepEqual([f.family, f.pref, f.expires, f.from?.address, f.ttlPropagate], ['inet6', 1, 30, '2001:db8:9::', false]);
    assert.deepEqual([g.dst.address, g.dst.prefixLen, g.dst.family, g.via, g.mode], [undefined, 0, 'inet', '10.0.0.1', 'add']);
    assert.deepEqual(h.encap, ['ip', 'id', '5', 'dst', '10.0.0.9', 'ttl', '4']);
  });

  it('keepalived’s messages for bad and deprecated lines', () => {
    const { msgs, config } = load(
      block('static_routes', [
        '192.168.113.0/24 via 192.168.100.252 or 192.168.100.253',
        '0.0.0.0/0 gw 192.168.0.1 table 100',
        '192.168.212.0/24 dev eth3 scope site',
        'inet6 default via fe80::1 dev eth0',
        'src 10.0.0.2 default via 10.0.0.1 dev eth0',
        '10.1.0.0/16 via 2001:db8::1',
        '10.2.0.0/16 dev lo table nosuch',
        '10.3.0.0/16 dev lo metric abc',
        '10.4.0.0/16 dev lo nexthop via 10.0.0.1 dev eth5',
        'frob 10.5.0.0/16',
        '10.6.0.0/16 dev lo weight',
        '10.7.0.0/16 dev lo protocol bird',
        'to unreachable 10.12.0.0/16 dev lo',
      ]),
    );
    assert.deepEqual(msgs, [
      '2: "or" for routes is deprecated. Please use "nexthop"',
      '2: Warning - cannot track route 192.168.113.0/24 with no interface specified, not tracking',
      '3: "gw" for routes is deprecated. Please use "via"',
      '3: Warning - cannot track route 0.0.0.0/0 with no interface specified, not tracking',
      "4: WARNING - interface eth3 for VROUTE nexthop doesn't exist",
      '5: Route must have a destination',
      '6: Cannot mix IPv4 and IPv6 addresses for route (default)',
      '7: Cannot mix IPv4 and IPv6 addresses for route',
      '8: Routing table nosuch not found for route',
      "9: invalid number 'abc'",
      '9: Invalid metric abc specified for route',
      "10: WARNING - interface eth5 for VROUTE nexthop doesn't exist",
      '11: VRRP parsed invalid IP frob. skipping IP...',
      '11: unknown route keyword frob',
      '12: VRRP parsed invalid IP weight. skipping IP...',
      '12: unknown route keyword weight',
      '13: Route cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol',
      // after `to` keepalived does not look for a route type (checked with keepalived 2.2.7)
      '14: VRRP parsed invalid IP unreachable. skipping IP...',
      '14: unknown route keyword unreachable',
      '-: Non-existent interface specified in configuration',
    ]);
    assert.deepEqual(config.static.routes[0].nexthops, [
      { via: '192.168.100.252', onlink: false },
      { via: '192.168.100.253', onlink: false },
    ]);
    // a bad next hop keeps the route with the hops read before it
    assert.deepEqual(config.static.routes.find((r) => r.dst.address === '10.4.0.0')?.nexthops, []);
  });

  it('a missing word stops keepalived (exit 2)', () => {
    const r = load(block('static_routes', ['10.1.0.0/16 via']));
    assert.deepEqual(r.msgs, ['2: *** Configuration line starting `10.1.0.0/16` is missing a parameter after keyword `via` at word position 3']);
    assert.equal(r.exit, 2);
  });
});

describe('iproute: rules (static_rules)', () => {
  it('reads every option and numbers rules without a preference per family', () => {
    const { config, msgs } = load(
      block('static_rules', [
        'from 192.168.100.0/24 to 10.0.0.0/8 table 1 priority 100 dev eth0 oif lo tos lowdelay not',
        'from all fwmark 0x10/0xff lookup isp1 order 0x12c realms cust suppress_prefixlength 8 sup_group 0',
        'from 2001:db8::/32 table 8',
        'to 10.3.0.0/16 blackhole preference 5',
        'from 10.4.0.0/16 goto 500 preference 50',
        'from 10.5.0.0/16 type nop priority 60 tunnel-id 77 uidrange 100-200 protocol 18 ipproto tcp sport 1000-2000 dport 80-80 no_track',
        'l3mdev priority 70',
        'from 10.6.0.0/16 table 9',
        'from 2001:db8:1::/48 table 9',
      ]),
    );
    assert.deepEqual(msgs, [
      '4: Rule has no preference specified - setting to 16384. This is probably not what you want.',
      '9: Rule has no preference specified - setting to 16384. This is probably not what you want.',
      '10: Rule has no preference specified - setting to 16383. This is probably not what you want.',
    ]);
    const [a, b, c, d, e, f, g, h, i] = config.static.rules;
    assert.deepEqual([a.from?.address, a.from?.prefixLen, a.to?.address, a.table, a.priority, a.iif, a.oif, a.tos, a.not, a.action, a.protocol], ['192.168.100.0', 24, '10.0.0.0', 1, 100, 'eth0', 'lo', 16, true, 'table', 18]);
    assert.deepEqual([b.from?.address, b.from?.family, b.fwmark, b.fwmask, b.table, b.priority, b.realms, b.suppressPrefixLength, b.suppressIfgroup], [undefined, 'inet', 16, 255, 100, 300, 5, 8, 0]);
    assert.deepEqual([c.family, c.priority, c.priorityGiven], ['inet6', 16384, false]);
    assert.deepEqual([d.action, d.priority], ['blackhole', 5]);
    assert.deepEqual([e.action, e.gotoTarget], ['goto', 500]);
    assert.deepEqual([f.action, f.tunnelId, f.uidRange, f.ipproto, f.sport, f.dport, f.noTrack], ['nop', '77', { start: 100, end: 200 }, 6, { start: 1000, end: 2000 }, { start: 80, end: 80 }, true]);
    assert.deepEqual([g.l3mdev, g.action], [true, 'table']);
    assert.equal(h.priority, 16384);
    assert.equal(i.priority, 16383);
  });

  it('keepalived’s messages for bad lines', () => {
    const { msgs } = load(
      block('static_rules', [
        'to 192.168.100./24 table 1',
        'from 10.0.0.0/8',
        'from 10.0.0.0/8 table 0 priority 1',
        'from 10.0.0.0/8 table 1 blackhole priority 1',
        'from 10.0.0.0/8 goto 5',
        'from 10.0.0.0/8 goto 5 priority 10',
        'to 10.0.0.0/8 from all table 2 priority 3',
        'inet6 from all table 5 priority 4',
        'from 10.0.0.0/8 table 1 priority 5 dev eth7',
        'from 10.0.0.0/8 table 1 fwmark 0x1/-1 priority 6',
        'from 10.0.0.0/8 nat priority 7',
        'from 10.0.0.0/8 blackhole realms cust priority 8',
      ]),
    );
    assert.deepEqual(msgs, [
      '2: VRRP parsed invalid IP 192.168.100./24. skipping IP...',
      '2: Invalid rule to address 192.168.100./24',
      '3: No action specified for rule - ignoring',
      '4: Table 0 is not valid',
      '5: Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable/l3mdev for rule',
      '6: Invalid rule - goto target 5 specified without preference',
      '7: Invalid rule - preference 10 >= goto target 5',
      '8: rule specification has mixed IPv4 and IPv6',
      '9: Unknown rule option all',
      "10: WARNING - interface eth7 for rule doesn't exist",
      '11: Invalid rule fwmark 0x1/-1 specified',
      '12: Invalid rule action nat',
      '13: suppressor/realm specified for non table action - skipping',
      '-: Non-existent interface specified in configuration',
    ]);
  });
});

describe('iproute: name tables and numbers', () => {
  it('looks names up in /etc/iproute2 files and the built-in names, numbers in C syntax', () => {
    assert.equal(lookupName('rt_tables', 'main'), 254);
    assert.equal(lookupName('rt_tables', 'isp1'), 100);
    assert.equal(lookupName('rt_tables', '0x10'), 16);
    assert.equal(lookupName('rt_scopes', 'host'), 254);
    assert.equal(lookupName('rt_scopes', '256'), undefined);
    assert.equal(lookupName('rt_protos', 'kernel'), 2);
    assert.equal(lookupName('rt_dsfield', 'lowdelay'), 16);
    assert.equal(lookupName('rt_realms', 'nosuch'), undefined);
    assert.deepEqual(strtoul('017x', 0), { value: 15, rest: 'x' });
  });
});

// keepalived 2.2.7 -t on the corpus samples' static blocks (exact messages, exit 5).
const corpusCases: { name: string; conf: string; msgs: string[]; exit: number }[] = [
  {
    name: 'keepalived.conf.vrrp.routes static_routes',
    conf: block('static_routes', [
      'src 192.168.100.1 192.168.209.0/24 via 192.168.200.254 dev eth0',
      '192.168.210.0/24 via 192.168.200.254 dev eth0',
      '192.168.211.0/24 via 192.168.200.254 dev eth0',
      '192.168.212.0/24 dev eth3 scope site',
      '192.168.213.0/24 dev eth1 scope link',
    ]),
    msgs: ["5: WARNING - interface eth3 for VROUTE nexthop doesn't exist", "6: WARNING - interface eth1 for VROUTE nexthop doesn't exist", '-: Non-existent interface specified in configuration'],
    exit: 5,
  },
  {
    name: 'keepalived.conf.vrrp.rules static_rules',
    conf: block('static_rules', ['from 192.168.100.0/24 table 1', 'to 192.168.100./24 table 1']),
    msgs: [
      '2: Rule has no preference specified - setting to 16384. This is probably not what you want.',
      '3: VRRP parsed invalid IP 192.168.100./24. skipping IP...',
      '3: Invalid rule to address 192.168.100./24',
    ],
    exit: 5,
  },
  {
    name: 'keepalived.conf.vrrp.static_ipaddress static_ipaddress',
    conf: block('static_ipaddress', ['192.168.200.16 dev eth0 scope link', '192.168.200.17 dev eth1 scope link', '192.168.200.18 dev eth2']),
    msgs: ["3: WARNING - interface eth1 for ip address 192.168.200.17 doesn't exist", "4: WARNING - interface eth2 for ip address 192.168.200.18 doesn't exist", '-: Non-existent interface specified in configuration'],
    exit: 5,
  },
  {
    name: 'static routes and rules that keepalived accepts',
    conf: block('static_rules', ['from 10.0.0.0/8 table 5 priority 100', 'to 10.2.0.0/16 lookup main preference 200 no_track']) + block('static_routes', ['10.9.0.0/16 via 127.0.0.1 dev lo', 'blackhole 10.8.0.0/16 dev lo']),
    msgs: [],
    exit: 0,
  },
];

describe('iproute: the corpus samples’ static blocks, as keepalived reports them', () => {
  for (const t of corpusCases) {
    it(t.name, () => {
      const r = load(t.conf);
      assert.deepEqual(r.msgs, t.msgs);
      assert.equal(r.exit, t.exit);
    });
  }

  it(`keepalived, when installed, gives the recorded exit code for ${corpusCases.length} configurations`, () => {
    let have = true;
    try {
      execFileSync('keepalived', ['-v'], { stdio: 'ignore' });
    } catch {
      have = false;
    }
    if (!have) {
      assert.ok(corpusCases.every((t) => [0, 5].includes(t.exit)));
      return;
    }
    setIproute2Files(undefined);
    try {
      const d = mkdtempSync(join(tmpdir(), 'hacheck-iproute-'));
      for (const [i, t] of corpusCases.entries()) {
        const f = join(d, `c${i}.conf`);
        writeFileSync(f, t.conf);
        const r = spawnSync('keepalived', ['-t', '-f', f, '-l', '-D'], { encoding: 'utf8' });
        assert.equal(r.status, t.exit, `${t.name}: ${r.stderr}`);
        assert.equal(loadConfigText(t.conf, { configId: 'x' }).diags.exitCode(), t.exit, t.name);
      }
    } finally {
      setIproute2Files({ rt_tables: '# tables\n100 isp1\n', rt_dsfield: '0x10 lowdelay\n', rt_realms: '5 cust\n' });
    }
  });
});
