/**
 * Rtnetlink for real: a fixture inside a lab namespace adds and removes addresses, routes
 * and rules the way keepalived does, and the result is read back with `ip -j`. Link and
 * address events are checked by changing the namespace with `ip` from the test.
 */
import { strict as assert } from 'node:assert';
import { Rtnetlink, RtnetlinkError } from '../../src/net/rtnetlink.js';
import { canNetns, Lab, nsExec, until } from '../support/netns.js';
import { RtnlClient } from './fixtures/rtnl-client.js';
import { ipAddress, prefix, route, rule } from './fixtures/rtnl-model.js';

interface IpAddrInfo {
  family: string;
  local: string;
  address?: string;
  prefixlen: number;
  broadcast?: string;
  scope: string;
  label?: string;
  nodad?: boolean;
  deprecated?: boolean;
  secondary?: boolean;
  preferred_life_time?: number;
}

interface IpRoute {
  type?: string;
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  metric?: number;
  table?: string;
  scope?: string;
  nexthops?: { gateway: string; dev: string; weight: number }[];
}

interface IpRule {
  priority: number;
  src: string;
  srclen?: number;
  dst?: string;
  dstlen?: number;
  table?: string;
  protocol?: string;
  fwmark?: string;
  fwmask?: string;
  iif?: string;
  oif?: string;
  action?: string;
  not?: null | boolean;
}

describe('net/rtnetlink: addresses, routes, rules and events in a namespace', function () {
  this.timeout(60000);
  let lab: Lab;
  let nl: RtnlClient;
  let ns: string;

  const addrs = (): IpAddrInfo[] => (JSON.parse(nsExec(ns, ['ip', '-j', 'addr', 'show', 'dev', 'lab0']))[0]?.addr_info ?? []) as IpAddrInfo[];
  const findAddr = (local: string): IpAddrInfo | undefined => addrs().find((a) => a.local === local);
  const routes = (table: string): IpRoute[] => JSON.parse(nsExec(ns, ['ip', '-j', 'route', 'show', 'table', table]) || '[]') as IpRoute[];
  const rules = (family = '-4'): IpRule[] => JSON.parse(nsExec(ns, ['ip', family, '-j', 'rule', 'show']) || '[]') as IpRule[];
  const isKeepalivedProto = (p: string | undefined): boolean => p === 'keepalived' || p === '18';

  before(function () {
    if (!canNetns) this.skip(); // needs root and `ip netns`
    lab = new Lab({ ipv6: true, hosts: [{ name: 'n1', addr: '10.99.9.1/24' }] }).up();
    ns = lab.host('n1').ns;
    nl = new RtnlClient(lab, 'n1');
  });

  after(async () => {
    await nl?.stop();
    lab?.destroy();
  });

  describe('links', () => {
    it('lists lab0 with its MAC, flags and MTU', async () => {
      const links = await nl.ok<{ index: number; name: string; mac: string; up: boolean; running: boolean; mtu: number }[]>('links');
      const lab0 = links.find((l) => l.name === 'lab0');
      assert.ok(lab0, JSON.stringify(links));
      assert.equal(lab0.mac, lab.host('n1').mac);
      assert.equal(lab0.up, true);
      assert.equal(lab0.running, true);
      assert.equal(lab0.mtu, 1500);
      assert.ok(links.some((l) => l.name === 'lo'));
    });

    it('linkByName finds lab0 and gives null for an unknown or invalid name', async () => {
      const l = await nl.ok<{ name: string; index: number }>('linkByName', 'lab0');
      assert.equal(l.name, 'lab0');
      assert.equal(await nl.ok('linkByName', 'nosuch0'), null);
      assert.equal(await nl.ok('linkByName', 'x'.repeat(40)), null);
      assert.equal(await nl.ok('linkByName', ''), null);
    });
  });

  describe('IPv4 addresses', () => {
    const vip = ipAddress({ address: '10.99.9.100', prefixLen: 24, broadcast: '10.99.9.255', label: 'lab0:vip' });

    it('adds a /24 VIP with brd and label', async () => {
      assert.equal(await nl.ok('addAddress', vip, 'lab0'), 'added');
      const a = findAddr('10.99.9.100');
      assert.ok(a, JSON.stringify(addrs()));
      assert.equal(a.prefixlen, 24);
      assert.equal(a.broadcast, '10.99.9.255');
      assert.equal(a.label, 'lab0:vip');
      assert.equal(a.scope, 'global');
    });

    it('reports it in addresses() as a secondary, and keeps 10.99.9.1 as the primary', async () => {
      const list = await nl.ok<{ address: string; prefixLen: number; label?: string; broadcast?: string; secondary: boolean; family: string }[]>('addresses', 'lab0');
      const a = list.find((x) => x.address === '10.99.9.100');
      assert.ok(a);
      assert.equal(a.prefixLen, 24);
      assert.equal(a.label, 'lab0:vip');
      assert.equal(a.broadcast, '10.99.9.255');
      assert.equal(a.secondary, true);
      assert.equal(await nl.ok('primaryAddress', 'lab0', 'inet'), '10.99.9.1');
      assert.equal(await nl.ok('primaryAddress', 'lab0', 'inet', ['10.99.9.1']), null);
    });

    it('a duplicate add returns exists', async () => {
      assert.equal(await nl.ok('addAddress', vip, 'lab0'), 'exists');
    });

    it('deletes it, and a second delete returns absent', async () => {
      assert.equal(await nl.ok('delAddress', vip, 'lab0'), 'deleted');
      assert.equal(findAddr('10.99.9.100'), undefined);
      assert.equal(await nl.ok('delAddress', vip, 'lab0'), 'absent');
    });

    it('an interface deleted and created again under the same name (a new index) still gets the VIP', async () => {
      const dev = (cmd: string[]) => nsExec(ns, ['ip', 'link', ...cmd]);
      const on = (ifname: string) => JSON.parse(nsExec(ns, ['ip', '-j', 'addr', 'show', 'dev', ifname]))[0]?.addr_info?.map((a: IpAddrInfo) => a.local) ?? [];
      const v = ipAddress({ address: '10.99.7.7', prefixLen: 32 });
      dev(['add', 'hcx0', 'type', 'veth', 'peer', 'name', 'hcx1']);
      try {
        assert.equal(await nl.ok('addAddress', v, 'hcx0'), 'added');
        dev(['del', 'hcx0']);
        dev(['add', 'hcx0', 'type', 'veth', 'peer', 'name', 'hcx1']);
        assert.equal(await nl.ok('addAddress', v, 'hcx0'), 'added');
        assert.ok(on('hcx0').includes('10.99.7.7'), JSON.stringify(on('hcx0')));
      } finally {
        nsExec(ns, ['ip', 'link', 'del', 'hcx0'], { allowFail: true });
      }
    });

    it('prepared (interface index cached) and with no request outstanding, the add is in the kernel before the call returns', async () => {
      const a = ipAddress({ address: '10.99.9.77', prefixLen: 24 });
      await nl.ok('prepareAddresses', [{ address: a, ifname: 'lab0' }, { address: a, ifname: 'nosuch0' }]);
      const r = await nl.ok<{ seen: boolean; result: string }>('addAddressWithinCall', a, 'lab0');
      assert.deepEqual(r, { seen: true, result: 'added' });
      assert.ok(findAddr('10.99.9.77'));
      assert.equal(await nl.ok('delAddress', a, 'lab0'), 'deleted');
    });

    it('adds a scope link address', async () => {
      const a = ipAddress({ address: '10.99.8.5', scope: 253 });
      assert.equal(await nl.ok('addAddress', a, 'lab0'), 'added');
      const got = findAddr('10.99.8.5');
      assert.equal(got?.scope, 'link');
      assert.equal(got?.prefixlen, 32);
      assert.equal(await nl.ok('delAddress', a, 'lab0'), 'deleted');
    });

    it('adds a point-to-point address with a peer', async () => {
      const a = ipAddress({ address: '10.99.7.1', peer: '10.99.7.2', prefixLen: 32 });
      assert.equal(await nl.ok('addAddress', a, 'lab0'), 'added');
      const got = findAddr('10.99.7.1');
      assert.equal(got?.address, '10.99.7.2');
      const list = await nl.ok<{ address: string; peer?: string }[]>('addresses', 'lab0');
      assert.equal(list.find((x) => x.address === '10.99.7.1')?.peer, '10.99.7.2');
      assert.equal(await nl.ok('delAddress', a, 'lab0'), 'deleted');
      assert.equal(findAddr('10.99.7.1'), undefined);
    });
  });

  describe('IPv6 addresses', () => {
    it('adds a VIP with IFA_F_NODAD by default, as keepalived does', async () => {
      const a = ipAddress({ address: 'fd00:99::100', prefixLen: 64 });
      assert.equal(await nl.ok('addAddress', a, 'lab0'), 'added');
      const got = findAddr('fd00:99::100');
      assert.ok(got, JSON.stringify(addrs()));
      assert.equal(got.nodad, true);
      assert.equal(got.prefixlen, 64);
      assert.equal(await nl.ok('delAddress', a, 'lab0'), 'deleted');
    });

    it('`-nodad` leaves DAD on; a /128 VIP gets preferred_lft 0 (deprecated)', async () => {
      const dad = ipAddress({ address: 'fd00:99::101', prefixLen: 64, nodad: true });
      assert.equal(await nl.ok('addAddress', dad, 'lab0'), 'added');
      assert.notEqual(findAddr('fd00:99::101')?.nodad, true);
      const host = ipAddress({ address: 'fd00:99::102' });
      assert.equal(await nl.ok('addAddress', host, 'lab0'), 'added');
      const got = findAddr('fd00:99::102');
      assert.equal(got?.prefixlen, 128);
      assert.equal(got?.preferred_life_time, 0);
      assert.equal(got?.deprecated, true);
      assert.equal(await nl.ok('addAddress', host, 'lab0'), 'exists');
      assert.equal(await nl.ok('delAddress', dad, 'lab0'), 'deleted');
      assert.equal(await nl.ok('delAddress', host, 'lab0'), 'deleted');
      assert.equal(await nl.ok('delAddress', host, 'lab0'), 'absent');
    });

    it('noprefixroute adds no prefix route', async () => {
      const a = ipAddress({ address: 'fd00:98::1', prefixLen: 64, noprefixroute: true });
      assert.equal(await nl.ok('addAddress', a, 'lab0'), 'added');
      assert.ok(findAddr('fd00:98::1'));
      const r6 = JSON.parse(nsExec(ns, ['ip', '-6', '-j', 'route', 'show', 'dev', 'lab0'])) as IpRoute[];
      assert.ok(!r6.some((r) => r.dst === 'fd00:98::/64'), JSON.stringify(r6));
      assert.equal(await nl.ok('delAddress', a, 'lab0'), 'deleted');
    });

    it('primaryAddress for IPv6 is the link-local address', async () => {
      const p = await nl.ok<string>('primaryAddress', 'lab0', 'inet6');
      assert.match(p, /^fe80:/);
      assert.ok(findAddr(p));
    });
  });

  describe('many requests at once', () => {
    it('20 VIPs added and removed concurrently, with dumps in between, all acked', async () => {
      const vips = Array.from({ length: 20 }, (_, i) => ipAddress({ address: `10.99.6.${i + 1}`, prefixLen: 24 }));
      const added = await Promise.all([...vips.map((v) => nl.ok('addAddress', v, 'lab0')), nl.ok('links'), nl.ok('addresses')]);
      assert.deepEqual(added.slice(0, 20), Array(20).fill('added'));
      const have = new Set(addrs().map((a) => a.local));
      assert.ok(vips.every((v) => have.has(v.address)));
      // the first of the subnet is primary, the rest secondaries
      const list = await nl.ok<{ address: string; secondary: boolean }[]>('addresses', 'lab0');
      assert.equal(list.filter((a) => a.address.startsWith('10.99.6.') && !a.secondary).length, 1);
      assert.equal(await nl.ok('primaryAddress', 'lab0', 'inet', ['10.99.9.1']), '10.99.6.1');
      const deleted = await Promise.all(vips.map((v) => nl.ok('delAddress', v, 'lab0')));
      // deleting a subnet's primary also removes its secondaries (no promote_secondaries), so some are already gone
      assert.ok(deleted.every((d) => d === 'deleted' || d === 'absent'), JSON.stringify(deleted));
      assert.ok(!addrs().some((a) => a.local.startsWith('10.99.6.')));
    });
  });

  describe('routes', () => {
    const viaGw = route({ dst: prefix('10.50.0.0/16'), via: '10.99.9.254', dev: 'lab0', table: 100, metric: 50 });

    it('adds a route via a gateway in table 100 with a metric, marked proto keepalived', async () => {
      assert.equal(await nl.ok('addRoute', viaGw), 'added');
      const r = routes('100').find((x) => x.dst === '10.50.0.0/16');
      assert.ok(r, JSON.stringify(routes('100')));
      assert.equal(r.gateway, '10.99.9.254');
      assert.equal(r.dev, 'lab0');
      assert.equal(r.metric, 50);
      assert.ok(isKeepalivedProto(r.protocol), r.protocol);
    });

    it('a duplicate add returns exists; delete, then delete again returns absent', async () => {
      assert.equal(await nl.ok('addRoute', viaGw), 'exists');
      assert.equal(await nl.ok('delRoute', viaGw), 'deleted');
      assert.equal(routes('100').find((x) => x.dst === '10.50.0.0/16'), undefined);
      assert.equal(await nl.ok('delRoute', viaGw), 'absent');
    });

    it('adds and deletes a blackhole route', async () => {
      const bh = route({ dst: prefix('10.60.0.0/16'), type: 'blackhole', table: 100 });
      assert.equal(await nl.ok('addRoute', bh), 'added');
      const r = routes('100').find((x) => x.dst === '10.60.0.0/16');
      assert.equal(r?.type, 'blackhole');
      assert.equal(await nl.ok('delRoute', bh), 'deleted');
      assert.equal(routes('100').find((x) => x.dst === '10.60.0.0/16'), undefined);
    });

    it('adds unreachable and prohibit routes in a table above 255', async () => {
      const un = route({ dst: prefix('10.61.0.0/16'), type: 'unreachable', table: 1000 });
      const pr = route({ dst: prefix('10.62.0.0/16'), type: 'prohibit', table: 1000 });
      assert.equal(await nl.ok('addRoute', un), 'added');
      assert.equal(await nl.ok('addRoute', pr), 'added');
      const rs = routes('1000');
      assert.equal(rs.find((x) => x.dst === '10.61.0.0/16')?.type, 'unreachable');
      assert.equal(rs.find((x) => x.dst === '10.62.0.0/16')?.type, 'prohibit');
      assert.equal(await nl.ok('delRoute', un), 'deleted');
      assert.equal(await nl.ok('delRoute', pr), 'deleted');
    });

    it('adds a default route with src, and a scope link route', async () => {
      const dflt = route({ dst: { family: 'inet', prefixLen: 0 }, via: '10.99.9.254', src: '10.99.9.1', table: 101 });
      assert.equal(await nl.ok('addRoute', dflt), 'added');
      const d = routes('101').find((x) => x.dst === 'default') as (IpRoute & { prefsrc?: string }) | undefined;
      assert.equal(d?.gateway, '10.99.9.254');
      assert.equal(d?.prefsrc, '10.99.9.1');
      const link = route({ dst: prefix('10.63.0.0/24'), dev: 'lab0', scope: 253, table: 101 });
      assert.equal(await nl.ok('addRoute', link), 'added');
      assert.equal(routes('101').find((x) => x.dst === '10.63.0.0/24')?.scope, 'link');
      assert.equal(await nl.ok('delRoute', dflt), 'deleted');
      assert.equal(await nl.ok('delRoute', link), 'deleted');
    });

    it('adds a multipath route with weights', async () => {
      const mp = route({
        dst: prefix('10.70.0.0/16'),
        table: 100,
        nexthops: [
          { via: '10.99.9.253', dev: 'lab0', weight: 2, onlink: false },
          { via: '10.99.9.252', onlink: false },
        ],
      });
      assert.equal(await nl.ok('addRoute', mp), 'added');
      const r = routes('100').find((x) => x.dst === '10.70.0.0/16');
      assert.ok(r?.nexthops, JSON.stringify(routes('100')));
      assert.deepEqual(
        r.nexthops.map((n) => [n.gateway, n.dev, n.weight]),
        [
          ['10.99.9.253', 'lab0', 2],
          ['10.99.9.252', 'lab0', 1],
        ],
      );
      assert.equal(await nl.ok('delRoute', mp), 'deleted');
    });

    it('adds an IPv6 route via a gateway', async () => {
      const r6 = route({ dst: prefix('fd00:50::/48'), via: 'fe80::1', dev: 'lab0', table: 100, metric: 10 });
      assert.equal(await nl.ok('addRoute', r6), 'added');
      const got = (JSON.parse(nsExec(ns, ['ip', '-6', '-j', 'route', 'show', 'table', '100'])) as IpRoute[]).find((x) => x.dst === 'fd00:50::/48');
      assert.equal(got?.gateway, 'fe80::1');
      assert.equal(got?.metric, 10);
      assert.equal(await nl.ok('delRoute', r6), 'deleted');
    });
  });

  describe('rules', () => {
    const fromPrefix = rule({ from: prefix('10.99.9.0/24'), table: 100, priority: 100, protocol: 18 });

    it('adds a rule from a prefix looking up table 100 with a priority', async () => {
      assert.equal(await nl.ok('addRule', fromPrefix), 'added');
      const r = rules().find((x) => x.priority === 100);
      assert.ok(r, JSON.stringify(rules()));
      assert.equal(r.src, '10.99.9.0');
      assert.equal(r.srclen, 24);
      assert.equal(r.table, '100');
      assert.ok(isKeepalivedProto(r.protocol), r.protocol);
    });

    it('a duplicate add returns exists; delete, then delete again returns absent', async () => {
      assert.equal(await nl.ok('addRule', fromPrefix), 'exists');
      assert.equal(await nl.ok('delRule', fromPrefix), 'deleted');
      assert.equal(rules().find((x) => x.priority === 100), undefined);
      assert.equal(await nl.ok('delRule', fromPrefix), 'absent');
    });

    it('adds a fwmark/mask + iif + oif rule, a `not … to` rule and a blackhole action', async () => {
      const mark = rule({ fwmark: 5, fwmask: 0xff, iif: 'lab0', oif: 'lab0', table: 1000, priority: 101 });
      const not = rule({ not: true, to: prefix('10.80.0.0/16'), table: 100, priority: 102 });
      const bh = rule({ from: prefix('10.81.0.0/16'), action: 'blackhole', priority: 103 });
      for (const r of [mark, not, bh]) assert.equal(await nl.ok('addRule', r), 'added');
      const rs = rules();
      const m = rs.find((x) => x.priority === 101);
      assert.equal(m?.fwmark, '0x5');
      assert.equal(m?.fwmask, '0xff');
      assert.equal(m?.iif, 'lab0');
      assert.equal(m?.oif, 'lab0');
      assert.equal(m?.table, '1000');
      const n = rs.find((x) => x.priority === 102);
      assert.equal(n?.dst, '10.80.0.0');
      assert.equal(n?.dstlen, 16);
      assert.ok('not' in (n ?? {}), JSON.stringify(n));
      assert.equal(rs.find((x) => x.priority === 103)?.action, 'blackhole');
      for (const r of [mark, not, bh]) assert.equal(await nl.ok('delRule', r), 'deleted');
    });

    it('adds an IPv6 rule', async () => {
      const r6 = rule({ family: 'inet6', from: prefix('fd00:99::/64'), table: 100, priority: 110 });
      assert.equal(await nl.ok('addRule', r6), 'added');
      const got = rules('-6').find((x) => x.priority === 110);
      assert.equal(got?.src, 'fd00:99::');
      assert.equal(got?.srclen, 64);
      assert.equal(await nl.ok('delRule', r6), 'deleted');
    });
  });

  describe('errors', () => {
    it('a missing interface gives ENODEV with a clear message', async () => {
      const a = await nl.call('addAddress', ipAddress({ address: '10.99.9.200', prefixLen: 24 }), 'nosuch0');
      assert.equal(a.ok, false);
      assert.equal(a.isRtnetlinkError, true);
      assert.equal(a.code, 'ENODEV');
      assert.equal(a.errno, 19);
      assert.match(a.message!, /add address 10\.99\.9\.200\/24 dev nosuch0.*ENODEV.*nosuch0/);
      const r = await nl.call('addRoute', route({ dst: prefix('10.51.0.0/16'), dev: 'nosuch0' }));
      assert.equal(r.code, 'ENODEV');
      // deleting from an interface that is gone: nothing is left to delete
      assert.equal(await nl.ok('delAddress', ipAddress({ address: '10.99.9.200' }), 'nosuch0'), 'absent');
      assert.equal(await nl.ok('delRoute', route({ dst: prefix('10.51.0.0/16'), dev: 'nosuch0' })), 'absent');
    });

    it('bad input gives EINVAL, not a crash', async () => {
      const bad = await nl.call('addAddress', ipAddress({ address: '10.99.9.300', family: 'inet' }), 'lab0');
      assert.equal(bad.code, 'EINVAL');
      assert.match(bad.message!, /invalid IPv4 address 10\.99\.9\.300/);
      const len = await nl.call('addAddress', ipAddress({ address: '10.99.9.7', prefixLen: 40 }), 'lab0');
      assert.equal(len.code, 'EINVAL');
      const gw = await nl.call('addRoute', route({ dst: prefix('10.52.0.0/16'), via: 'not-an-ip' }));
      assert.equal(gw.code, 'EINVAL');
      // the kernel's own refusal comes back typed too (a gateway that is not on any link)
      const unreach = await nl.call('addRoute', route({ dst: prefix('10.53.0.0/16'), via: '192.0.2.1', table: 100 }));
      assert.equal(unreach.ok, false);
      assert.equal(unreach.isRtnetlinkError, true);
      assert.ok(['ENETUNREACH', 'EINVAL'].includes(unreach.code!), unreach.code);
      // and the fixture still works
      assert.ok((await nl.ok<unknown[]>('links')).length >= 2);
    });
  });

  describe('events', () => {
    before(async () => {
      assert.equal(await nl.ok('watch'), 'watching');
    });

    it('sees lab0 go down and come back up', async () => {
      const linkEvents = (): { name: string; up: boolean; running: boolean; deleted: boolean }[] =>
        nl.events.filter((e) => e.event === 'link').map((e) => e.data as { name: string; up: boolean; running: boolean; deleted: boolean });
      nsExec(ns, ['ip', 'link', 'set', 'lab0', 'down']);
      assert.ok(await until(() => linkEvents().some((e) => e.name === 'lab0' && !e.up && !e.running), 10000), JSON.stringify(nl.events));
      const seen = linkEvents().length;
      nsExec(ns, ['ip', 'link', 'set', 'lab0', 'up']);
      assert.ok(await until(() => linkEvents().slice(seen).some((e) => e.name === 'lab0' && e.up && e.running), 10000), JSON.stringify(nl.events));
      assert.ok(linkEvents().every((e) => !e.deleted));
    });

    it('sees an address added and removed by someone else', async () => {
      const addrEvents = (): { address: string; deleted: boolean; prefixLen: number }[] =>
        nl.events.filter((e) => e.event === 'address').map((e) => e.data as { address: string; deleted: boolean; prefixLen: number });
      nsExec(ns, ['ip', 'addr', 'add', '10.99.9.77/24', 'dev', 'lab0']);
      assert.ok(await until(() => addrEvents().some((e) => e.address === '10.99.9.77' && !e.deleted && e.prefixLen === 24), 10000), JSON.stringify(nl.events));
      nsExec(ns, ['ip', 'addr', 'del', '10.99.9.77/24', 'dev', 'lab0']);
      assert.ok(await until(() => addrEvents().some((e) => e.address === '10.99.9.77' && e.deleted), 10000));
      nsExec(ns, ['ip', 'addr', 'add', 'fd00:97::1/64', 'dev', 'lab0', 'nodad']);
      assert.ok(await until(() => addrEvents().some((e) => e.address === 'fd00:97::1' && !e.deleted), 10000));
    });
  });
});

describe('net/rtnetlink: socket lifecycle (read-only, own namespace)', () => {
  it('lists lo, then fails every call with EBADF once closed', async () => {
    const nl = new Rtnetlink();
    try {
      const links = await nl.links();
      assert.ok(links.some((l) => l.name === 'lo' && l.index === 1), JSON.stringify(links));
      assert.equal((await nl.linkByName('lo'))?.index, 1);
      const pending = nl.links();
      nl.close();
      await assert.rejects(pending, (e: RtnetlinkError) => e instanceof RtnetlinkError && e.code === 'EBADF');
      await assert.rejects(nl.addresses(), (e: RtnetlinkError) => e.code === 'EBADF' && /list addresses/.test(e.message));
      nl.close(); // twice is harmless
    } finally {
      nl.close();
    }
  });
});
