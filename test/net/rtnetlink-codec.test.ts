/**
 * The pure half of the rtnetlink adapter: requests built from config lines, decoded back
 * attribute by attribute, and reply decoding. No sockets, no root.
 */
import { strict as assert } from 'node:assert';
import { AttrStream, FlagsNew, rt } from 'netlink';
import {
  addressFlags,
  addressRequest,
  decodeAddress,
  decodeLink,
  decodeLinkKind,
  errnoName,
  IFA_F,
  isAbsentErrno,
  routeRequest,
  RtnetlinkError,
  ruleRequest,
  RTM,
  type Request,
} from '../../src/net/rtnetlink-codec.js';
import { ipAddress, prefix, route, rule } from './fixtures/rtnl-model.js';

/** The request payload as the kernel sees it. */
function payload(req: Request): Buffer {
  return Buffer.concat(req.body);
}

/** nlattr walk: type → payloads (in order). */
function attrs(buf: Buffer): Map<number, Buffer[]> {
  const out = new Map<number, Buffer[]>();
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = buf.readUInt16LE(off);
    const type = buf.readUInt16LE(off + 2) & 0x3fff;
    assert.ok(len >= 4 && off + len <= buf.length, `bad attribute at ${off}`);
    out.set(type, [...(out.get(type) ?? []), buf.subarray(off + 4, off + len)]);
    off += (len + 3) & ~3;
  }
  return out;
}

function one(m: Map<number, Buffer[]>, type: number): Buffer {
  const v = m.get(type);
  assert.ok(v && v.length === 1, `attribute ${type}: ${v?.length ?? 0} present`);
  return v[0]!;
}

const noIf = (name: string): number => {
  throw new RtnetlinkError(`lookup ${name}`, 19, `no such interface ${name}`);
};
const ifs = (map: Record<string, number>) => (name: string): number => map[name] ?? noIf(name);

describe('net/rtnetlink-codec: address requests', () => {
  it('IPv4 add: prefix, scope, index, local, brd, label, create+excl', () => {
    const req = addressRequest('add', ipAddress({ address: '10.0.0.5', prefixLen: 24, broadcast: '10.0.0.255', label: 'eth0:1', scope: 253 }), 7, 'eth0');
    assert.equal(req.type, RTM.NEWADDR);
    assert.equal(req.flags, FlagsNew.CREATE | FlagsNew.EXCL);
    assert.equal(req.what, 'add address 10.0.0.5/24 dev eth0');
    const m = rt.parseAddressMessage(payload(req));
    assert.deepEqual([m.data.family, m.data.prefixlen, m.data.scope, m.data.index], [2, 24, 253, 7]);
    assert.deepEqual([...m.attrs.local!], [10, 0, 0, 5]);
    assert.deepEqual([...m.attrs.address!], [10, 0, 0, 5]);
    assert.deepEqual([...m.attrs.broadcast!], [10, 0, 0, 255]);
    assert.equal(m.attrs.label, 'eth0:1');
    assert.equal(m.attrs.flags, undefined, 'no IFA_FLAGS for a plain IPv4 address');
  });

  it('IPv4 peer: IFA_ADDRESS is the peer, IFA_LOCAL the address', () => {
    const m = rt.parseAddressMessage(payload(addressRequest('add', ipAddress({ address: '10.0.0.1', peer: '10.0.0.2', prefixLen: 32 }), 3, 'eth0')));
    assert.deepEqual([...m.attrs.local!], [10, 0, 0, 1]);
    assert.deepEqual([...m.attrs.address!], [10, 0, 0, 2]);
  });

  it('IPv4 delete sends only what the kernel matches on', () => {
    const req = addressRequest('del', ipAddress({ address: '10.0.0.5', prefixLen: 24, broadcast: '10.0.0.255', label: 'eth0:1', home: true }), 7, 'eth0');
    assert.equal(req.type, RTM.DELADDR);
    assert.equal(req.flags, 0);
    const m = rt.parseAddressMessage(payload(req));
    assert.equal(m.data.prefixlen, 24);
    assert.deepEqual([...m.attrs.address!], [10, 0, 0, 5]);
    assert.equal(m.attrs.label, undefined);
    assert.equal(m.attrs.broadcast, undefined);
    assert.equal(m.attrs.flags, undefined);
  });

  it('IPv6: IFA_F_NODAD unless `-nodad`; preferred_lft goes in IFA_CACHEINFO', () => {
    const host = rt.parseAddressMessage(payload(addressRequest('add', ipAddress({ address: 'fd00::1' }), 2, 'eth0')));
    assert.equal(host.data.family, 10);
    assert.equal(host.data.prefixlen, 128);
    assert.equal(host.attrs.flags?.nodad, true);
    assert.equal(host.data.flags?.nodad, true);
    assert.deepEqual(host.attrs.cacheInfo, { ifaPrefered: 0, ifaValid: 0xffffffff, cstamp: 0, tstamp: 0 });
    const dad = rt.parseAddressMessage(payload(addressRequest('add', ipAddress({ address: 'fd00::1', prefixLen: 64, nodad: true }), 2, 'eth0')));
    assert.equal(dad.attrs.flags, undefined);
    assert.equal(dad.attrs.cacheInfo, undefined, 'forever is the kernel default: no IFA_CACHEINFO');
  });

  it('home, mngtmpaddr, noprefixroute, autojoin: IFA_FLAGS carries the bits above 8', () => {
    const a = ipAddress({ address: 'fd00::1', prefixLen: 64, home: true, mngtmpaddr: true, noprefixroute: true, autojoin: true });
    assert.equal(addressFlags(a), IFA_F.HOMEADDRESS | IFA_F.MANAGETEMPADDR | IFA_F.NOPREFIXROUTE | IFA_F.MCAUTOJOIN | IFA_F.NODAD);
    const m = rt.parseAddressMessage(payload(addressRequest('add', a, 2, 'eth0')));
    assert.equal(rt.formatAddressFlags(m.attrs.flags!), addressFlags(a));
    assert.equal(rt.formatAddressFlags(m.data.flags!), addressFlags(a) & 0xff);
    assert.equal(addressFlags(ipAddress({ address: '10.0.0.1' })), 0, 'no NODAD for IPv4');
  });

  it('IFA_PROTO only when asked', () => {
    const with18 = attrs(payload(addressRequest('add', ipAddress({ address: '10.0.0.1' }), 2, 'eth0', 18)).subarray(8));
    assert.deepEqual([...one(with18, 11)], [18]);
    const without = attrs(payload(addressRequest('add', ipAddress({ address: '10.0.0.1' }), 2, 'eth0')).subarray(8));
    assert.equal(without.has(11), false);
  });

  it('bad addresses and prefixes are EINVAL errors naming the line', () => {
    assert.throws(() => addressRequest('add', ipAddress({ address: '10.0.0.256', family: 'inet' }), 2, 'eth0'), (e: RtnetlinkError) => {
      assert.ok(e instanceof RtnetlinkError);
      assert.equal(e.code, 'EINVAL');
      assert.equal(e.errno, 22);
      assert.match(e.message, /^rtnetlink add address 10\.0\.0\.256\/32 dev eth0: EINVAL \(invalid IPv4 address 10\.0\.0\.256\)$/);
      return true;
    });
    assert.throws(() => addressRequest('add', ipAddress({ address: '10.0.0.1', prefixLen: 33 }), 2, 'eth0'), /invalid prefix length 33/);
    assert.throws(() => addressRequest('add', ipAddress({ address: 'fd00::1', family: 'inet' }), 2, 'eth0'), /EINVAL/);
  });
});

describe('net/rtnetlink-codec: route requests', () => {
  const hdr = (req: Request) => {
    const b = payload(req);
    return { family: b[0], dstLen: b[1], srcLen: b[2], tos: b[3], table: b[4], protocol: b[5], scope: b[6], type: b[7], flags: b.readUInt32LE(8), attrs: attrs(b.subarray(12)) };
  };

  it('via + dev + metric in table 100, protocol keepalived, prepend = create only', () => {
    const req = routeRequest('add', route({ dst: prefix('10.50.0.0/16'), via: '10.0.0.254', dev: 'eth0', table: 100, metric: 50 }), ifs({ eth0: 4 }));
    assert.equal(req.type, RTM.NEWROUTE);
    assert.equal(req.flags, FlagsNew.CREATE);
    assert.equal(req.what, 'add route 10.50.0.0/16 via 10.0.0.254 dev eth0 table 100 metric 50');
    const h = hdr(req);
    assert.deepEqual([h.family, h.dstLen, h.table, h.protocol, h.scope, h.type, h.flags], [2, 16, 100, 18, 0, 1, 0]);
    assert.deepEqual([...one(h.attrs, 1)], [10, 50, 0, 0]);
    assert.deepEqual([...one(h.attrs, 5)], [10, 0, 0, 254]);
    assert.equal(one(h.attrs, 4).readUInt32LE(0), 4);
    assert.equal(one(h.attrs, 6).readUInt32LE(0), 50);
    assert.equal(h.attrs.has(15), false);
  });

  it('modes: add = create+excl, append = create+append; delete has no create flags and scope nowhere', () => {
    assert.equal(routeRequest('add', route({ dst: prefix('10.1.0.0/16'), mode: 'add' }), noIf).flags, FlagsNew.CREATE | FlagsNew.EXCL);
    assert.equal(routeRequest('add', route({ dst: prefix('10.1.0.0/16'), mode: 'append' }), noIf).flags, FlagsNew.CREATE | 0x800);
    const del = routeRequest('del', route({ dst: prefix('10.1.0.0/16') }), noIf);
    assert.equal(del.type, RTM.DELROUTE);
    assert.equal(del.flags, 0);
    assert.equal(hdr(del).scope, 255);
    assert.equal(hdr(routeRequest('del', route({ dst: prefix('10.1.0.0/16'), scope: 253 }), noIf)).scope, 253);
  });

  it('table above 255 goes in RTA_TABLE; types; explicit protocol; default route; from/src; tos; onlink', () => {
    const h = hdr(routeRequest('add', route({ dst: prefix('10.60.0.0/16'), type: 'blackhole', table: 1000, protocol: 4 }), noIf));
    assert.equal(h.table, 0);
    assert.equal(one(h.attrs, 15).readUInt32LE(0), 1000);
    assert.equal(h.type, 6);
    assert.equal(h.protocol, 4);
    assert.equal(hdr(routeRequest('add', route({ dst: prefix('10.0.0.0/8'), type: 'unreachable' }), noIf)).type, 7);
    assert.equal(hdr(routeRequest('add', route({ dst: prefix('10.0.0.0/8'), type: 'prohibit' }), noIf)).type, 8);
    const d = hdr(routeRequest('add', route({ family: 'inet6', dst: { family: 'inet6', prefixLen: 0 }, from: prefix('fd00:1::/48'), src: 'fd00::1', tos: 0x10, onlink: true }), noIf));
    assert.equal(d.dstLen, 0);
    assert.equal(d.attrs.has(1), false, 'default: no RTA_DST');
    assert.equal(d.srcLen, 48);
    assert.equal(one(d.attrs, 2).length, 16);
    assert.equal(one(d.attrs, 7).length, 16);
    assert.equal(d.tos, 0x10);
    assert.equal(d.flags, 4);
    assert.throws(() => routeRequest('add', route({ dst: prefix('10.0.0.0/8'), type: 'bogus' }), noIf), /unknown route type bogus/);
  });

  it('an IPv4 route via an IPv6 gateway uses RTA_VIA', () => {
    const h = hdr(routeRequest('add', route({ dst: prefix('10.0.0.0/8'), via: 'fe80::1', dev: 'eth0' }), ifs({ eth0: 2 })));
    assert.equal(h.attrs.has(5), false);
    const via = one(h.attrs, 18);
    assert.equal(via.readUInt16LE(0), 10);
    assert.equal(via.length, 18);
  });

  it('multipath: rtnexthop per hop with weight - 1, ifindex, onlink and its gateway', () => {
    const r = route({
      dst: prefix('10.70.0.0/16'),
      nexthops: [
        { via: '10.0.0.253', dev: 'eth0', weight: 2, onlink: true },
        { via: '10.0.0.252', onlink: false, realms: 5 },
      ],
    });
    const mp = one(hdr(routeRequest('add', r, ifs({ eth0: 9 }))).attrs, 9);
    const len1 = mp.readUInt16LE(0);
    assert.deepEqual([mp[2], mp[3], mp.readInt32LE(4)], [4, 1, 9]);
    assert.deepEqual([...one(attrs(mp.subarray(8, len1)), 5)], [10, 0, 0, 253]);
    const second = mp.subarray(len1);
    assert.equal(second.readUInt16LE(0), second.length);
    assert.deepEqual([second[2], second[3], second.readInt32LE(4)], [0, 0, 0]);
    const a2 = attrs(second.subarray(8));
    assert.deepEqual([...one(a2, 5)], [10, 0, 0, 252]);
    assert.equal(one(a2, 11).readUInt32LE(0), 5);
  });

  it('metrics, locks, congctl and features ecn in RTA_METRICS', () => {
    const r = route({ dst: prefix('10.0.0.0/8'), metrics: { mtu: 1400, rtt: 800, initcwnd: 10 }, locked: ['mtu'], congctl: 'cubic', featuresEcn: true });
    const m = attrs(one(hdr(routeRequest('add', r, noIf)).attrs, 8));
    assert.equal(one(m, 2).readUInt32LE(0), 1400);
    assert.equal(one(m, 4).readUInt32LE(0), 800);
    assert.equal(one(m, 11).readUInt32LE(0), 10);
    assert.equal(one(m, 1).readUInt32LE(0), 1 << 2, 'RTAX_LOCK bit of RTAX_MTU');
    assert.equal(one(m, 16).toString().replace(/\0+$/, ''), 'cubic');
    assert.equal(one(m, 12).readUInt32LE(0), 1);
    assert.equal(hdr(routeRequest('add', route({ dst: prefix('10.0.0.0/8') }), noIf)).attrs.has(8), false);
  });

  it('unknown interfaces and encap are errors, before anything is sent', () => {
    assert.throws(() => routeRequest('add', route({ dst: prefix('10.0.0.0/8'), dev: 'nope0' }), noIf), (e: RtnetlinkError) => e.code === 'ENODEV');
    assert.throws(() => routeRequest('add', route({ dst: prefix('10.0.0.0/8'), encap: ['mpls', '100'] }), noIf), (e: RtnetlinkError) => e.errno === 95 && /encap is not supported/.test(e.message));
    assert.throws(() => routeRequest('add', route({ dst: prefix('10.0.0.0/8'), via: 'gateway' }), noIf), /invalid gateway gateway/);
  });
});

describe('net/rtnetlink-codec: rule requests', () => {
  const parse = (req: Request) => {
    const b = payload(req);
    return { family: b[0], dstLen: b[1], srcLen: b[2], tos: b[3], table: b[4], action: b[7], flags: b.readUInt32LE(8), attrs: rt.parseRuleAttrs(b.subarray(12)), raw: attrs(b.subarray(12)) };
  };

  it('from prefix lookup 100 priority 100 protocol 18', () => {
    const req = ruleRequest('add', rule({ from: prefix('10.9.0.0/24'), table: 100, priority: 100, protocol: 18 }));
    assert.equal(req.type, RTM.NEWRULE);
    assert.equal(req.flags, FlagsNew.CREATE | FlagsNew.EXCL);
    assert.equal(req.what, 'add rule from 10.9.0.0/24 lookup 100 priority 100');
    const r = parse(req);
    assert.deepEqual([r.family, r.srcLen, r.dstLen, r.table, r.action, r.flags], [2, 24, 0, 100, 1, 0]);
    assert.deepEqual([...r.attrs.src!], [10, 9, 0, 0]);
    assert.equal(r.attrs.priority, 100);
    assert.equal(r.attrs.protocol, 18);
    assert.equal(ruleRequest('del', rule({ priority: 1, table: 100 })).type, RTM.DELRULE);
    assert.equal(ruleRequest('del', rule({ priority: 1, table: 100 })).flags, 0);
  });

  it('not, to, fwmark/mask, iif/oif, big table, tos, realms, suppressors, uid/port ranges, ipproto, tunnel id', () => {
    const r = parse(
      ruleRequest(
        'add',
        rule({
          not: true,
          to: prefix('fd00::/16'),
          family: 'inet6',
          fwmark: 5,
          fwmask: 0xff,
          iif: 'eth0',
          oif: 'eth1',
          table: 1000,
          tos: 0x10,
          priority: 7,
          suppressPrefixLength: 0,
          suppressIfgroup: 3,
          uidRange: { start: 1000, end: 2000 },
          sport: { start: 1, end: 1024 },
          dport: { start: 80, end: 80 },
          ipproto: 6,
          tunnelId: '258',
          realms: (1 << 16) | 2,
        }),
      ),
    );
    assert.deepEqual([r.family, r.dstLen, r.table, r.tos, r.flags], [10, 16, 0, 0x10, 2]);
    assert.equal(r.attrs.table, 1000);
    assert.equal(r.attrs.fwmark, 5);
    assert.equal(r.attrs.fwmask, 0xff);
    assert.equal(r.attrs.iifname, 'eth0');
    assert.equal(r.attrs.oifname, 'eth1');
    assert.equal(one(r.raw, 14).readUInt32LE(0), 0);
    assert.equal(one(r.raw, 13).readUInt32LE(0), 3);
    assert.deepEqual(r.attrs.uidRange, { start: 1000, end: 2000 });
    assert.deepEqual(r.attrs.sportRange, { start: 1, end: 1024 });
    assert.deepEqual(r.attrs.dportRange, { start: 80, end: 80 });
    assert.equal(r.attrs.ipProto, 6);
    assert.equal(one(r.raw, 12).readBigUInt64BE(0), 258n);
    assert.equal(r.attrs.flow, 0x10002);
  });

  it('actions: goto target, blackhole/unreachable/prohibit/nop carry no table; lookup defaults to main', () => {
    const g = parse(ruleRequest('add', rule({ action: 'goto', gotoTarget: 200, priority: 100 })));
    assert.equal(g.action, 2);
    assert.equal(g.attrs.goto, 200);
    assert.equal(g.table, 0);
    for (const [action, code] of [['blackhole', 6], ['unreachable', 7], ['prohibit', 8], ['nop', 3]] as const) {
      const p = parse(ruleRequest('add', rule({ action, priority: 5 })));
      assert.equal(p.action, code);
      assert.equal(p.table, 0);
    }
    assert.equal(parse(ruleRequest('add', rule({ priority: 5 }))).table, 254);
    const l3 = parse(ruleRequest('add', rule({ priority: 5, l3mdev: true })));
    assert.equal(l3.table, 0);
    assert.equal(l3.attrs.l3Mdev, 1);
  });
});

describe('net/rtnetlink-codec: errors and decoding', () => {
  it('names errnos and classifies "already absent"', () => {
    assert.equal(errnoName(17).code, 'EEXIST');
    assert.equal(errnoName(19).code, 'ENODEV');
    assert.equal(errnoName(99).code, 'EADDRNOTAVAIL');
    assert.equal(errnoName(100000).code, 'E100000');
    assert.deepEqual([99, 3, 2, 17, 19].map(isAbsentErrno), [true, true, true, false, false]);
    const e = new RtnetlinkError('add address 10.0.0.1/32 dev eth0', 17);
    assert.equal(e.code, 'EEXIST');
    assert.equal(e.name, 'RtnetlinkError');
    assert.match(e.message, /^rtnetlink add address 10\.0\.0\.1\/32 dev eth0: EEXIST \(.+\)$/);
  });

  it('decodes links', () => {
    const l = decodeLink({ kind: 'link', data: { index: 3, flags: { up: true } }, attrs: { ifname: 'eth0', address: Buffer.from([2, 0, 0, 0, 0, 0xab]), mtu: 9000, operstate: 3 } });
    assert.deepEqual(l, { index: 3, name: 'eth0', mac: '02:00:00:00:00:ab', up: true, running: false, operState: 'lowerlayerdown', mtu: 9000 });
  });

  it('decodes addresses (local vs peer, flags, label, lifetimes) and skips other families', () => {
    const s = new AttrStream();
    rt.formatAddressMessage(
      {
        kind: 'address',
        data: { family: 2, prefixlen: 24, scope: 0, index: 4, flags: { secondary: true } },
        attrs: { local: Buffer.from([10, 0, 0, 5]), address: Buffer.from([10, 0, 0, 5]), broadcast: Buffer.from([10, 0, 0, 255]), label: 'eth0:v', cacheInfo: { ifaPrefered: 30, ifaValid: 60 } },
      },
      s,
    );
    const a = decodeAddress(rt.parseAddressMessage(Buffer.concat(s.bufs)));
    assert.deepEqual(a, { ifindex: 4, family: 'inet', address: '10.0.0.5', prefixLen: 24, scope: 0, flags: 1, secondary: true, tentative: false, broadcast: '10.0.0.255', label: 'eth0:v', preferredLft: 30 });
    const p = decodeAddress({ kind: 'address', data: { family: 2, prefixlen: 32, index: 1 }, attrs: { local: Buffer.from([10, 0, 0, 1]), address: Buffer.from([10, 0, 0, 2]) } });
    assert.equal(p?.peer, '10.0.0.2');
    const v6 = decodeAddress({ kind: 'address', data: { family: 10, prefixlen: 64, index: 1, scope: 253 }, attrs: { address: Buffer.alloc(16, 0xfe), flags: { tentative: true, nodad: true } } });
    assert.equal(v6?.family, 'inet6');
    assert.equal(v6?.tentative, true);
    assert.equal(v6?.peer, undefined);
    assert.equal(decodeAddress({ kind: 'address', data: { family: 17 }, attrs: {} }), undefined);
    assert.equal(decodeAddress({ kind: 'address', data: { family: 2 }, attrs: { local: Buffer.from([1, 2]) } }), undefined);
  });

  it('finds a VRF table in IFLA_LINKINFO, and tolerates garbage', () => {
    const tl = (type: number, p: Buffer): Buffer => {
      const b = Buffer.alloc((4 + p.length + 3) & ~3);
      b.writeUInt16LE(4 + p.length, 0);
      b.writeUInt16LE(type, 2);
      p.copy(b, 4);
      return b;
    };
    const table = Buffer.alloc(4);
    table.writeUInt32LE(1001);
    const info = Buffer.concat([tl(1, Buffer.from('vrf\0')), tl(2 | 0x8000, tl(1, table))]);
    assert.deepEqual(decodeLinkKind(info), { kind: 'vrf', vrfTable: 1001 });
    assert.deepEqual(decodeLinkKind(Buffer.concat([tl(1, Buffer.from('veth\0'))])), { kind: 'veth' });
    assert.deepEqual(decodeLinkKind(undefined), {});
    assert.deepEqual(decodeLinkKind(Buffer.from([0xff, 0xff, 1, 0, 9])), {});
  });
});
