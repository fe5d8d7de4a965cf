/**
 * VrrpSocket: argument checks in-process; real VRRP traffic between lab namespaces, checked on
 * the wire with tcpdump and decoded with the codec by a receiver in another namespace.
 */
import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { VrrpSocket } from '../../src/net/vrrp-socket.js';
import { encodeAdvert, type CodecExpectations } from '../../src/vrrp/codec.js';
import { Capture, Lab, canNetns, ip, until } from '../support/netns.js';
import { ROOT } from '../support/paths.js';
import { runFixture, startFixture, type FixtureLine, type FixtureRun } from './fixtures/vrrp-sock-run.js';

const FIX = (name: string): string => join(ROOT, 'dist/test/net/fixtures', `${name}.js`);

const N1 = '10.99.0.11';
const N2 = '10.99.0.12';
const N1_6 = 'fd00:99::11';
const N2_6 = 'fd00:99::12';

const v2Expect: CodecExpectations = {
  instanceName: 'VI_1', version: 2, vrid: 51, authType: 'PASS', authPass: 'secret', advertIntervalCs: 100, vips: ['10.99.0.100'], unicastPeers: [],
};
const v2Advert = { version: 2 as const, vrid: 51, priority: 150, addresses: ['10.99.0.100'], advertIntervalCs: 100, authType: 'PASS' as const };
const v3Expect6: CodecExpectations = {
  instanceName: 'VI_6', version: 3, vrid: 61, authType: 'NONE', authPass: '', advertIntervalCs: 100, vips: ['fd00:99::100'], unicastPeers: [],
};
const v3Advert6 = { version: 3 as const, vrid: 61, priority: 120, addresses: ['fd00:99::100'], advertIntervalCs: 100 };

function packets(lines: FixtureLine[]): FixtureLine[] {
  return lines.filter((l) => l.event === 'packet');
}

/** Every send the sender fixture made succeeded (and it made `n`). */
function assertSent(run: FixtureRun, n = 1): void {
  const sends = run.lines.filter((l) => l.event === 'send');
  assert.equal(run.code, 0, JSON.stringify(run));
  assert.equal(sends.length, n, JSON.stringify(run));
  for (const l of sends) assert.equal((l.result as { ok: boolean }).ok, true, JSON.stringify(run));
}

describe('VrrpSocket: in-process', () => {
  it('an unknown interface is a clear error, before any socket is opened', () => {
    assert.throws(() => new VrrpSocket().open({ family: 'inet', ifname: 'nosuch0' }), /VRRP socket: interface 'nosuch0' not found/);
  });

  it('rejects a malformed interface name, AH over IPv6, a non-multicast group, a bad unicast_ttl, a wrong-family srcIp', () => {
    const s = new VrrpSocket();
    assert.throws(() => s.open({ family: 'inet', ifname: '../x' }), /invalid interface name/);
    assert.throws(() => s.open({ family: 'inet', ifname: 'a-very-long-interface-name' }), /invalid interface name/);
    assert.throws(() => s.open({ family: 'inet6', ifname: 'lo', ifindex: 1, protocol: 51 }), /AH \(protocol 51\) is IPv4 only/);
    assert.throws(() => s.open({ family: 'inet', ifname: 'lo', ifindex: 1, mcastGroup: '10.0.0.1' }), /not an IPv4 multicast address/);
    assert.throws(() => s.open({ family: 'inet6', ifname: 'lo', ifindex: 1, mcastGroup: '224.0.0.18' }), /not an IPv6 multicast address/);
    assert.throws(() => s.open({ family: 'inet', ifname: 'lo', ifindex: 1, unicast: true, unicastTtl: 0 }), /unicast_ttl must be 1..255/);
    assert.throws(() => s.open({ family: 'inet', ifname: 'lo', ifindex: 1, srcIp: 'fe80::1' }), /not an IPv4 address/);
    assert.equal(s.isOpen, false);
  });

  it('send on a socket that is not open resolves to an error; close twice is harmless', async () => {
    const s = new VrrpSocket();
    assert.deepEqual(await s.send(Buffer.alloc(20), '224.0.0.18'), { ok: false, error: 'VRRP socket is not open' });
    s.close();
    s.close();
  });

  it('the IPv4 header ID counter runs 1..65535 and never gives 0 (the kernel would replace it)', () => {
    const s = new VrrpSocket();
    assert.equal(s.nextIpId(), 1);
    for (let i = 2; i <= 0xffff; i++) s.nextIpId();
    assert.equal(s.nextIpId(), 1);
  });

  it('as root: an interface that vanished fails at SO_BINDTODEVICE with the kernel error', function () {
    if (process.getuid?.() !== 0) this.skip();
    assert.throws(
      () => new VrrpSocket().open({ family: 'inet', ifname: 'nosuch0', ifindex: 999 }),
      /VRRP socket nosuch0: setsockopt SO_BINDTODEVICE nosuch0: No such device/,
    );
  });

  it('as root, on loopback: sendNow hands the packet to the kernel within the call', function () {
    if (process.getuid?.() !== 0) this.skip();
    const s = new VrrpSocket().open({ family: 'inet', ifname: 'lo', unicast: true, srcIp: '127.0.0.1' });
    try {
      assert.deepEqual(s.sendNow(Buffer.alloc(16), '127.0.0.1'), { ok: true, bytes: 36 });
      assert.deepEqual(s.sendNow(Buffer.alloc(16), '10.0.0.1.2'), { ok: false, error: 'destination 10.0.0.1.2 is not an IPv4 address' });
    } finally {
      s.close();
    }
  });

  it('as root, on loopback: a send behind one queued in raw-socket waits its turn; close() settles it', async function () {
    if (process.getuid?.() !== 0) this.skip();
    const s = new VrrpSocket().open({ family: 'inet', ifname: 'lo', unicast: true, srcIp: '127.0.0.1' });
    // A send raw-socket itself queued (as when the socket was not writable): order must hold.
    const rawSock = (s as unknown as { sock: { send(b: Buffer, o: number, l: number, a: string, cb: () => void): void } }).sock;
    rawSock.send(Buffer.alloc(36), 0, 36, '127.0.0.1', () => undefined);
    const pending = s.sendNow(Buffer.alloc(16), '127.0.0.1');
    assert.ok(pending instanceof Promise, 'queued behind the earlier send');
    s.close();
    assert.deepEqual(await pending, { ok: false, error: 'VRRP socket closed' });
    assert.deepEqual(await s.send(Buffer.alloc(16), '127.0.0.1'), { ok: false, error: 'VRRP socket is not open' });
  });

  it('as root, on loopback: an open socket that nothing references survives garbage collection', async function () {
    if (process.getuid?.() !== 0) this.skip();
    // raw-socket's native handle is weak: before VrrpSocket pinned open sockets, a collected
    // socket closed its fd and the queued send never completed (and a fixture process exited).
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // Only the send's own promise chain refers to the socket: nothing a GC root reaches.
    const pending = (() => {
      const s = new VrrpSocket().open({ family: 'inet', ifname: 'lo', unicast: true, srcIp: '127.0.0.1' });
      const advert = encodeAdvert({ version: 3, vrid: 203, priority: 100, addresses: ['127.0.0.9'], advertIntervalCs: 100 }, { family: 'inet', source: '127.0.0.1', destination: '127.0.0.1' });
      return s.send(advert, '127.0.0.1').then((r) => {
        s.close();
        return r;
      });
    })();
    gc();
    const r = await Promise.race([pending, new Promise((res) => setTimeout(() => res('stuck'), 3000))]);
    assert.deepEqual(r, { ok: true, bytes: 32 });
  });

  it('as root, on loopback: prepare() sends nothing and does not advance the IP ID; a received packet carries its receipt time', async function () {
    if (process.getuid?.() !== 0) this.skip();
    const seen: { vrid: number; receivedAt: number; ipId: number }[] = [];
    const s = new VrrpSocket({
      onPacket: (p) => {
        const vrid = p.packet[21] ?? 0;
        if (vrid === 203 || vrid === 204) seen.push({ vrid, receivedAt: p.receivedAt, ipId: p.packet.readUInt16BE(4) });
      },
    }).open({ family: 'inet', ifname: 'lo', unicast: true, srcIp: '127.0.0.1' });
    try {
      const advert = (vrid: number): Buffer =>
        encodeAdvert({ version: 3, vrid, priority: 100, addresses: ['127.0.0.9'], advertIntervalCs: 100 }, { family: 'inet', source: '127.0.0.1', destination: '127.0.0.1' });
      const before = performance.now();
      for (let i = 0; i < 5; i++) s.prepare(advert(203), '127.0.0.1');
      assert.equal((await s.send(advert(204), '127.0.0.1')).ok, true);
      assert.ok(await until(() => seen.some((x) => x.vrid === 204), 5000), `seen ${JSON.stringify(seen)}`);
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(seen.map((x) => x.vrid), [204], 'only the real send reached the wire');
      assert.equal(seen[0]!.ipId, 1, 'the prepared packets took no IP ID');
      assert.ok(seen[0]!.receivedAt >= before && seen[0]!.receivedAt <= performance.now());
    } finally {
      s.close();
    }
  });

  it('as root, on loopback: IPv6 is read once, by the recvmsg socket, with its hop limit and destination', async function () {
    if (process.getuid?.() !== 0 || !Object.values(networkInterfaces()).flat().some((a) => a?.address === '::1')) this.skip();
    const seen: { hopLimit?: number; dst?: string; from: string; receivedAt: number }[] = [];
    const s = new VrrpSocket({
      onPacket: (p) => {
        if (p.packet[1] === 205) seen.push({ hopLimit: p.hopLimit, dst: p.dst, from: p.from, receivedAt: p.receivedAt });
      },
    }).open({ family: 'inet6', ifname: 'lo', unicast: true, srcIp: '::1', unicastTtl: 9 });
    try {
      assert.equal(s.degraded, undefined);
      const advert = encodeAdvert({ version: 3, vrid: 205, priority: 100, addresses: ['::9'], advertIntervalCs: 100 }, { family: 'inet6', source: '::1', destination: '::1' });
      const before = performance.now();
      assert.equal((await s.send(advert, '::1')).ok, true);
      assert.ok(await until(() => seen.length > 0, 5000), 'nothing received');
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(seen.length, 1, `read once, not also by the sending socket: ${JSON.stringify(seen)}`);
      assert.deepEqual({ ...seen[0], receivedAt: undefined }, { hopLimit: 9, dst: '::1', from: '::1', receivedAt: undefined });
      assert.ok(seen[0]!.receivedAt >= before && seen[0]!.receivedAt <= performance.now());
    } finally {
      s.close();
    }
  });

  it('as root, on loopback: a throwing onPacket handler goes to onError and the socket keeps reading', async function () {
    if (process.getuid?.() !== 0) this.skip();
    const errors: string[] = [];
    const seen: number[] = [];
    const s = new VrrpSocket({
      onPacket: (p) => {
        const vrid = p.packet[21] ?? 0;
        if (vrid !== 201 && vrid !== 202) return; // not ours
        seen.push(vrid);
        if (vrid === 201) throw new Error('handler bug');
      },
      onError: (e) => errors.push(e.message),
    }).open({ family: 'inet', ifname: 'lo', unicast: true, srcIp: '127.0.0.1' });
    try {
      const advert = (vrid: number): Buffer =>
        encodeAdvert({ version: 3, vrid, priority: 100, addresses: ['127.0.0.9'], advertIntervalCs: 100 }, { family: 'inet', source: '127.0.0.1', destination: '127.0.0.1' });
      assert.equal((await s.send(advert(201), '127.0.0.1')).ok, true);
      assert.equal((await s.send(advert(202), '127.0.0.1')).ok, true);
      assert.ok(await until(() => seen.includes(202), 5000), `seen ${JSON.stringify(seen)}`);
      assert.deepEqual(errors, ['handler bug']);
    } finally {
      s.close();
    }
  });
});

describe('VrrpSocket in a namespace lab', function () {
  let lab: Lab;

  before(function () {
    if (!canNetns) {
      console.log('    (skipped: needs root and ip netns)');
      this.skip();
    }
    lab = new Lab({
      hosts: [
        { name: 'n1', addr: `${N1}/24`, addr6: `${N1_6}/64` },
        { name: 'n2', addr: `${N2}/24`, addr6: `${N2_6}/64` },
        { name: 'mon' },
      ],
      ipv6: true,
    }).up();
    // n1's unicast_src_ip candidates, not its primary addresses; one more local address on n2.
    ip(['addr', 'add', '10.99.0.21/24', 'dev', 'lab0'], lab.ns('n1'));
    ip(['addr', 'add', 'fd00:99::21/64', 'dev', 'lab0', 'nodad'], lab.ns('n1'));
    ip(['addr', 'add', '10.99.0.22/24', 'dev', 'lab0'], lab.ns('n2'));
    ip(['addr', 'add', 'fd00:99::22/64', 'dev', 'lab0', 'nodad'], lab.ns('n2'));
    // A second link n1:x1 <-> n2:x2, beside the bridge, for the bind-to-device test.
    ip(['link', 'add', 'x1', 'type', 'veth', 'peer', 'name', 'x2', 'netns', lab.ns('n2')], lab.ns('n1'));
    ip(['addr', 'add', '10.98.0.1/24', 'dev', 'x1'], lab.ns('n1'));
    ip(['addr', 'add', 'fd00:98::1/64', 'dev', 'x1', 'nodad'], lab.ns('n1'));
    ip(['link', 'set', 'x1', 'up'], lab.ns('n1'));
    ip(['addr', 'add', '10.98.0.2/24', 'dev', 'x2'], lab.ns('n2'));
    ip(['addr', 'add', 'fd00:98::2/64', 'dev', 'x2', 'nodad'], lab.ns('n2'));
    ip(['link', 'set', 'x2', 'up'], lab.ns('n2'));
  });

  after(() => lab?.destroy());

  it('(1) a VRRPv2 multicast advert leaves n1 as keepalived sends it: TTL 255, TOS 0xc0, to 224.0.0.18, proto 112', async () => {
    const cap = new Capture(lab, 'mon', 'ip proto 112');
    await cap.started();
    const send = await runFixture(lab, 'n1', FIX('vrrp-sock-send'), { open: { family: 'inet', ifname: 'lab0' }, dst: '224.0.0.18', advert: v2Advert, authPass: 'secret' });
    assert.equal(send.code, 0, JSON.stringify(send));
    assert.deepEqual(send.lines.find((l) => l.event === 'send')?.result, { ok: true, bytes: 40 });
    assert.ok(await cap.waitFor((l) => l.some((x) => x.includes('vrid 51')), 5000), 'advert not captured');
    const wire = (await cap.stop()).join('\n');
    assert.match(wire, /01:00:5e:00:00:12, ethertype IPv4/);
    assert.match(wire, /\(tos 0xc0, ttl 255, id 1, offset 0, flags \[none\], proto VRRP \(112\), length 40\)/);
    assert.match(wire, /10\.99\.0\.11 > 224\.0\.0\.18: VRRPv2, Advertisement, vrid 51, prio 150, authtype simple, intvl 1s, length 20, addrs: 10\.99\.0\.100 auth "secret"/);
  });

  it('(2) n2 receives it on its multicast socket and the codec accepts it', async () => {
    const rx = await startFixture(lab, 'n2', FIX('vrrp-sock-recv'), { open: { family: 'inet', ifname: 'lab0' }, expect: v2Expect, count: 1, timeoutMs: 8000 });
    assertSent(await runFixture(lab, 'n1', FIX('vrrp-sock-send'), { open: { family: 'inet', ifname: 'lab0' }, dst: '224.0.0.18', advert: v2Advert, authPass: 'secret' }));
    const got = packets((await rx.done).lines);
    assert.equal(got.length, 1);
    const p = got[0]!;
    assert.equal(p.from, N1);
    assert.equal(p.dst, '224.0.0.18');
    assert.equal(p.ttl, 255);
    assert.deepEqual(p.result, {
      ok: true,
      warnings: [],
      advert: { version: 2, type: 1, vrid: 51, priority: 150, addresses: ['10.99.0.100'], advertIntervalCs: 100, authType: 1, checksum: 183 },
    });
  });

  it('(3) unicast: from unicast_src_ip with unicast_ttl; the receiver reads only what is sent to its own unicast_src_ip', async () => {
    const cap = new Capture(lab, 'n2', 'ip proto 112');
    await cap.started();
    const peers = [{ address: '10.99.0.21' }];
    const rx = await startFixture(lab, 'n2', FIX('vrrp-sock-recv'), {
      open: { family: 'inet', ifname: 'lab0', unicast: true, srcIp: N2 },
      expect: { ...v2Expect, version: 3, authType: 'NONE', unicastPeers: peers },
      count: 1,
      timeoutMs: 8000,
    });
    // The first goes to n2's other address: keepalived's bind(unicast_src_ip) would not see it.
    const send = await runFixture(lab, 'n1', FIX('vrrp-sock-send'), {
      open: { family: 'inet', ifname: 'lab0', unicast: true, srcIp: '10.99.0.21', unicastTtl: 9 },
      dst: ['10.99.0.22', N2],
      advert: { version: 3, vrid: 51, priority: 100, addresses: ['10.99.0.100'], advertIntervalCs: 100 },
    });
    assertSent(send, 2);
    const done = (await rx.done).lines;
    const got = packets(done);
    assert.equal(got.length, 1);
    assert.equal(got[0]!.from, '10.99.0.21');
    assert.equal(got[0]!.dst, N2);
    assert.equal(got[0]!.ttl, 9);
    assert.equal((got[0]!.result as { ok: boolean }).ok, true, JSON.stringify(got[0]!.result));
    assert.equal(done.find((l) => l.event === 'done')?.filtered, 1);
    assert.ok(await cap.waitFor((l) => l.filter((x) => x.includes('vrid 51')).length >= 2, 5000));
    const wire = (await cap.stop()).join('\n');
    assert.match(wire, /tos 0xc0, ttl 9, id 1, .*proto VRRP \(112\)[^\n]*\n\s+10\.99\.0\.21 > 10\.99\.0\.22: VRRPv3/);
    assert.match(wire, /tos 0xc0, ttl 9, id 2, .*proto VRRP \(112\)[^\n]*\n\s+10\.99\.0\.21 > 10\.99\.0\.12: VRRPv3, Advertisement, \(ttl 9\), vrid 51, prio 100/);
  });

  it('(4) IPv6: a VRRPv3 advert to ff02::12 with hop limit 255 from the link-local address, decoded by n2', async () => {
    const cap = new Capture(lab, 'mon', 'ip6 proto 112');
    await cap.started();
    const rx = await startFixture(lab, 'n2', FIX('vrrp-sock-recv'), { open: { family: 'inet6', ifname: 'lab0' }, expect: v3Expect6, count: 1, timeoutMs: 8000 });
    const send = await runFixture(lab, 'n1', FIX('vrrp-sock-send'), { open: { family: 'inet6', ifname: 'lab0' }, dst: 'ff02::12', advert: v3Advert6 });
    assertSent(send);
    const lladdr = send.lines.find((l) => l.event === 'open')?.srcIp as string;
    assert.match(lladdr, /^fe80::/);
    const got = packets((await rx.done).lines);
    assert.equal(got.length, 1);
    assert.equal(got[0]!.from, lladdr);
    // IPV6_HOPLIMIT / IPV6_PKTINFO ancillary data (native/recv6.c)
    assert.equal(got[0]!.hopLimit, 255);
    assert.equal(got[0]!.dst, 'ff02::12');
    const r = got[0]!.result as { ok: boolean; advert: { vrid: number; priority: number; addresses: string[] } };
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(r.advert.vrid, 61);
    assert.equal(r.advert.priority, 120);
    assert.deepEqual(r.advert.addresses, ['fd00:99::100']);
    assert.ok(await cap.waitFor((l) => l.some((x) => x.includes('vrid 61')), 5000));
    const wire = (await cap.stop()).join('\n');
    assert.match(wire, /33:33:00:00:00:12, ethertype IPv6/);
    assert.match(wire, new RegExp(`\\(class 0xc0, flowlabel 0x[0-9a-f]+, hlim 255, next-header VRRP \\(112\\) payload length: 24\\) ${lladdr} > ff02::12: VRRPv3, Advertisement, vrid 61, prio 120, intvl 100cs, length 24, addrs: fd00:99::100`));
  });

  it('(4b) IPv6 unicast: source unicast_src_ip (sticky IPV6_PKTINFO), hop limit unicast_ttl', async () => {
    const cap = new Capture(lab, 'n2', 'ip6 proto 112');
    await cap.started();
    const rx = await startFixture(lab, 'n2', FIX('vrrp-sock-recv'), {
      open: { family: 'inet6', ifname: 'lab0', unicast: true },
      expect: { ...v3Expect6, unicastPeers: [{ address: 'fd00:99::21' }] },
      count: 1,
      timeoutMs: 8000,
    });
    const send = await runFixture(lab, 'n1', FIX('vrrp-sock-send'), {
      open: { family: 'inet6', ifname: 'lab0', unicast: true, srcIp: 'fd00:99::21', unicastTtl: 7 },
      dst: N2_6,
      advert: v3Advert6,
    });
    assertSent(send);
    const got = packets((await rx.done).lines);
    assert.equal(got.length, 1);
    assert.equal(got[0]!.from, 'fd00:99::21');
    assert.equal(got[0]!.hopLimit, 7);
    assert.equal(got[0]!.dst, N2_6);
    assert.equal((got[0]!.result as { ok: boolean }).ok, true, JSON.stringify(got[0]!.result));
    assert.ok(await cap.waitFor((l) => l.some((x) => x.includes('vrid 61')), 5000));
    assert.match((await cap.stop()).join('\n'), /class 0xc0, flowlabel 0x[0-9a-f]+, hlim 7, next-header VRRP \(112\) payload length: 24\) fd00:99::21 > fd00:99::12: VRRPv3/);
  });

  it('(4c) IPv6: the kernel drops an advert with a bad checksum (IPV6_CHECKSUM), the next good one gets through', async () => {
    const rx = await startFixture(lab, 'n2', FIX('vrrp-sock-recv'), { open: { family: 'inet6', ifname: 'lab0' }, expect: v3Expect6, count: 1, timeoutMs: 8000 });
    const ifindex = Number(ip(['-j', 'link', 'show', 'lab0'], lab.ns('n1')).match(/"ifindex":(\d+)/)?.[1]);
    // vrid 62 with checksum 0xdead
    const bad = await runFixture(lab, 'n1', FIX('vrrp-sock-badsum'), { ifname: 'lab0', ifindex, hex: '313e78010064deadfd000099000000000000000000000100' });
    assert.match(JSON.stringify(bad.lines), /"bytes":24/);
    const good = await runFixture(lab, 'n1', FIX('vrrp-sock-send'), { open: { family: 'inet6', ifname: 'lab0' }, dst: 'ff02::12', advert: v3Advert6 });
    assertSent(good);
    const lines = (await rx.done).lines;
    const got = packets(lines);
    assert.equal(got.length, 1, JSON.stringify({ bad, good, lines }));
    assert.equal((got[0]!.result as { advert: { vrid: number } }).advert.vrid, 61);
    assert.equal(lines.filter((l) => l.event === 'rx_error').length, 0);
  });

  it('(4d) IPv6: a multicast advert with hop limit 254 is refused as keepalived refuses it (ip_ttl_err, RFC 5798 §7.1)', async () => {
    const rx = await startFixture(lab, 'n2', FIX('vrrp-sock-recv'), { open: { family: 'inet6', ifname: 'lab0' }, expect: v3Expect6, count: 2, timeoutMs: 8000 });
    const ifindex = Number(ip(['-j', 'link', 'show', 'lab0'], lab.ns('n1')).match(/"ifindex":(\d+)/)?.[1]);
    // vrid 61, priority 120, one address; the kernel writes the checksum (IPV6_CHECKSUM)
    const hex = '313d78010064' + '0000' + 'fd000099000000000000000000000100';
    const low = await runFixture(lab, 'n1', FIX('vrrp-sock-badsum'), { ifname: 'lab0', ifindex, hex, hops: 254, kernelChecksum: true });
    assert.match(JSON.stringify(low.lines), /"bytes":24/);
    const good = await runFixture(lab, 'n1', FIX('vrrp-sock-badsum'), { ifname: 'lab0', ifindex, hex, kernelChecksum: true });
    assert.match(JSON.stringify(good.lines), /"bytes":24/);
    const got = packets((await rx.done).lines);
    assert.equal(got.length, 2, JSON.stringify(got));
    assert.equal(got[0]!.hopLimit, 254);
    assert.deepEqual({ ok: (got[0]!.result as { ok: boolean }).ok, counter: (got[0]!.result as { counter?: string }).counter }, { ok: false, counter: 'ip_ttl_err' });
    assert.match(JSON.stringify(got[0]!.result), /invalid TTL\/HL from fe80::[0-9a-f:]+\. Received 254 and expect 255/);
    assert.equal(got[1]!.hopLimit, 255);
    assert.equal((got[1]!.result as { ok: boolean }).ok, true, JSON.stringify(got[1]!.result));
  });

  it('(4e) IPv6 unicast: the receiver reads only what is sent to its configured unicast_src_ip (keepalived binds to it)', async () => {
    const rx = await startFixture(lab, 'n2', FIX('vrrp-sock-recv'), {
      open: { family: 'inet6', ifname: 'lab0', unicast: true, srcIp: N2_6 },
      expect: { ...v3Expect6, unicastPeers: [{ address: 'fd00:99::21' }] },
      count: 1,
      timeoutMs: 8000,
    });
    const send = await runFixture(lab, 'n1', FIX('vrrp-sock-send'), {
      open: { family: 'inet6', ifname: 'lab0', unicast: true, srcIp: 'fd00:99::21' },
      dst: ['fd00:99::22', N2_6],
      advert: v3Advert6,
    });
    assertSent(send, 2);
    const done = (await rx.done).lines;
    const got = packets(done);
    assert.equal(got.length, 1, JSON.stringify(done));
    assert.equal(got[0]!.dst, N2_6);
    assert.equal((got[0]!.result as { ok: boolean }).ok, true, JSON.stringify(got[0]!.result));
    assert.equal(done.find((l) => l.event === 'done')?.filtered, 1);
  });

  it('(5) SO_BINDTODEVICE: a socket on lab0 does not read what arrives on another interface', async () => {
    const any4 = { family: 'inet' as const, unicast: true, srcIp: '0.0.0.0' }; // no destination filter
    const any6 = { family: 'inet6' as const, unicast: true };
    const e4 = { ...v2Expect, version: 3 as const, authType: 'NONE' as const, unicastPeers: [{ address: '10.98.0.1' }] };
    const e6 = { ...v3Expect6, unicastPeers: [{ address: 'fd00:98::1' }] };
    const rxLab4 = await startFixture(lab, 'n2', FIX('vrrp-sock-recv'), { open: { ...any4, ifname: 'lab0' }, expect: e4, count: 1, timeoutMs: 3000 });
    const rxX4 = await startFixture(lab, 'n2', FIX('vrrp-sock-recv'), { open: { ...any4, ifname: 'x2' }, expect: e4, count: 1, timeoutMs: 8000 });
    const rxLab6 = await startFixture(lab, 'n2', FIX('vrrp-sock-recv'), { open: { ...any6, ifname: 'lab0' }, expect: e6, count: 1, timeoutMs: 3000 });
    const rxX6 = await startFixture(lab, 'n2', FIX('vrrp-sock-recv'), { open: { ...any6, ifname: 'x2' }, expect: e6, count: 1, timeoutMs: 8000 });
    const s4 = await runFixture(lab, 'n1', FIX('vrrp-sock-send'), {
      open: { family: 'inet', ifname: 'x1', unicast: true },
      dst: '10.98.0.2',
      advert: { version: 3, vrid: 51, priority: 100, addresses: ['10.99.0.100'], advertIntervalCs: 100 },
    });
    const s6 = await runFixture(lab, 'n1', FIX('vrrp-sock-send'), { open: { family: 'inet6', ifname: 'x1', unicast: true }, dst: 'fd00:98::2', advert: v3Advert6 });
    assertSent(s4);
    assertSent(s6);
    const [lab4, x4, lab6, x6] = await Promise.all([rxLab4.done, rxX4.done, rxLab6.done, rxX6.done]);
    assert.equal(packets(x4.lines).length, 1, 'the x2 socket reads the IPv4 advert');
    assert.equal(packets(x6.lines).length, 1, 'the x2 socket reads the IPv6 advert');
    assert.equal((packets(x4.lines)[0]!.result as { ok: boolean }).ok, true);
    assert.equal((packets(x6.lines)[0]!.result as { ok: boolean }).ok, true);
    assert.equal(packets(lab4.lines).length, 0, 'the lab0 IPv4 socket must not');
    assert.equal(packets(lab6.lines).length, 0, 'the lab0 IPv6 socket must not');
  });

  it('(6) a bad interface name gives a clear error inside the namespace too', async () => {
    const r = await runFixture(lab, 'n1', FIX('vrrp-sock-send'), { open: { family: 'inet', ifname: 'nosuch0' }, dst: '224.0.0.18', advert: v2Advert });
    assert.equal(r.code, 2);
    assert.equal(r.lines[0]?.event, 'open_error');
    assert.equal(r.lines[0]?.error, "VRRP socket: interface 'nosuch0' not found");
  });

  it('a send that the kernel refuses is reported, not thrown (interface down)', async () => {
    ip(['link', 'set', 'x1', 'down'], lab.ns('n1'));
    try {
      const r = await runFixture(lab, 'n1', FIX('vrrp-sock-send'), {
        open: { family: 'inet', ifname: 'x1', unicast: true, srcIp: '10.98.0.1' },
        dst: '10.98.0.2',
        advert: { version: 3, vrid: 51, priority: 100, addresses: ['10.99.0.100'], advertIntervalCs: 100 },
      });
      assert.equal(r.code, 0, JSON.stringify(r));
      const res = r.lines.find((l) => l.event === 'send')?.result as { ok: boolean; error?: string };
      assert.equal(res.ok, false);
      assert.match(res.error ?? '', /^send to 10\.98\.0\.2 on x1: /);
    } finally {
      ip(['link', 'set', 'x1', 'up'], lab.ns('n1'));
    }
  });
});
