/**
 * The AF_PACKET addon and PacketSender for real: frames sent from one lab namespace are
 * captured byte for byte in another, decoded by tcpdump, and their effect checked on the
 * receiver's neighbour table. Bad input must give clear errors, never a crash.
 */
import { strict as assert } from 'node:assert';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packetAddon, PacketSender, type PacketHandle } from '../../src/net/packet.js';
import { gratuitousArpFrame, unsolicitedNaFrame } from '../../src/vrrp/garp.js';
import { canNetns, ip, Lab, nsExec, until } from '../support/netns.js';
import { PcapCapture } from './pcap.js';

const FIXTURE = 'dist/test/net/fixtures/send-garp.js';

interface FixtureResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  out: { ok: boolean; code?: string; message?: string; mac?: string; ifindex?: number; sent: number[] };
  stderr: string;
}

/** Run the sender fixture inside a lab host and collect its JSON line (bounded at 20 s). */
async function runFixture(lab: Lab, host: string, args: string[]): Promise<FixtureResult> {
  const child: ChildProcess = lab.spawn(host, [process.execPath, FIXTURE, ...args]);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const [status, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`fixture timed out; stderr: ${stderr}`));
    }, 20000);
    child.once('exit', (code, sig) => {
      clearTimeout(t);
      resolve([code, sig]);
    });
  });
  await new Promise((r) => setImmediate(r));
  const line = stdout.trim().split('\n').pop() ?? '';
  let out: FixtureResult['out'];
  try {
    out = JSON.parse(line) as FixtureResult['out'];
  } catch {
    throw new Error(`fixture printed no JSON (status ${status}, signal ${signal}); stdout: ${stdout}; stderr: ${stderr}`);
  }
  return { status, signal, out, stderr };
}

/** The receiver's neighbour entry for `addr`: its lladdr, or undefined. */
function neighMac(lab: Lab, host: string, addr: string): string | undefined {
  const h = lab.host(host);
  const rows = JSON.parse(ip(['-j', 'neigh', 'show', 'to', addr, 'dev', h.iface], h.ns) || '[]') as { lladdr?: string }[];
  return rows[0]?.lladdr;
}

describe('net/packet: addon input checks (no traffic)', () => {
  let lib: ReturnType<typeof packetAddon>;
  before(function () {
    try {
      lib = packetAddon();
    } catch (e) {
      // The addon is part of the install; a missing build is a failure, not a skip.
      throw new Error(`addon must be built for these tests: ${(e as Error).message}`);
    }
  });

  it('an unknown interface is ENODEV with its name, from open() and interfaceInfo()', () => {
    assert.throws(() => lib.open('eth9'), (e: NodeJS.ErrnoException) => {
      assert.equal(e.code, 'ENODEV');
      assert.match(e.message, /^ENODEV: no interface eth9\b/);
      return true;
    });
    assert.throws(() => lib.interfaceInfo('eth9'), /^Error: ENODEV: no interface eth9/);
    assert.throws(() => new PacketSender(lib).open('eth9'), /ENODEV: no interface eth9/);
  });

  it('wrong argument types and sizes are TypeError/RangeError, not crashes', () => {
    const anyLib = lib as unknown as Record<string, (...a: unknown[]) => unknown>;
    assert.throws(() => anyLib.open!(), TypeError);
    assert.throws(() => anyLib.open!(42), /interface name must be a string/);
    assert.throws(() => anyLib.open!(''), RangeError);
    assert.throws(() => anyLib.open!('x'.repeat(16)), /1 to 15 bytes, got 16/);
    assert.throws(() => anyLib.open!('lo\0x'), /NUL/);
    assert.throws(() => anyLib.interfaceInfo!({}), TypeError);
    assert.throws(() => anyLib.send!({}, Buffer.alloc(60)), /not a packet socket handle/);
    assert.throws(() => anyLib.send!(null, Buffer.alloc(60)), /not a packet socket handle/);
    assert.throws(() => anyLib.close!('fd'), /not a packet socket handle/);
    assert.throws(() => anyLib.send!(), /expected 2 argument/);
  });

  it('a handle rejects bad frames, closes idempotently and refuses sends once closed', function () {
    if (process.getuid?.() !== 0) this.skip(); // AF_PACKET needs CAP_NET_RAW
    // Bound to loopback; no frame is actually sent.
    const h: PacketHandle = lib.open('lo');
    try {
      assert.throws(() => lib.send(h, Buffer.alloc(13)), /14 to 65535 bytes, got 13/);
      assert.throws(() => lib.send(h, Buffer.alloc(65536)), RangeError);
      assert.throws(() => lib.send(h, 'frame' as unknown as Buffer), /frame must be a Buffer/);
    } finally {
      lib.close(h);
    }
    lib.close(h);
    assert.throws(() => lib.send(h, Buffer.alloc(60)), (e: NodeJS.ErrnoException) => e.code === 'EBADF');
  });

  it('PacketSender refuses non-Ethernet links and sends before open/after close', function () {
    if (process.getuid?.() !== 0) this.skip();
    assert.throws(() => new PacketSender(lib).open('lo'), /not Ethernet/);
    const s = new PacketSender(lib);
    assert.throws(() => s.sendGarp('10.0.0.1'), /not open/);
    s.close();
    s.close();
    assert.equal(s.isOpen, false);
  });
});

describe('net/packet: PacketSender frame reuse', () => {
  it('sends the same bytes for an address every time, and rebuilds them after a re-open (the MAC may have changed)', () => {
    // Only the JavaScript side is under test here; the real addon's frames are checked on the wire below.
    let mac = Buffer.from('020000000001', 'hex');
    const sent: Buffer[] = [];
    const lib = {
      open: () => ({}) as PacketHandle,
      close: () => undefined,
      send: (_h: PacketHandle, f: Buffer) => (sent.push(f), f.length),
      interfaceInfo: () => ({ ifindex: 7, hwType: 1, mac }),
    };
    const s = new PacketSender(lib).open('eth0');
    s.prepare(['10.0.0.50', 'fd00::50']);
    assert.equal(sent.length, 0, 'prepare() sends nothing');
    s.sendGarp('10.0.0.50');
    s.sendGarp('10.0.0.50');
    s.sendGarp('10.0.0.51');
    s.sendUnsolicitedNa('fd00::50', { router: false });
    s.sendUnsolicitedNa('fd00::50', { router: true });
    assert.equal(sent[0], sent[1], 'one frame object reused');
    assert.deepEqual(sent[0], gratuitousArpFrame({ srcMac: '02:00:00:00:00:01', ip: '10.0.0.50' }));
    assert.deepEqual(sent[2], gratuitousArpFrame({ srcMac: '02:00:00:00:00:01', ip: '10.0.0.51' }));
    assert.notDeepEqual(sent[3], sent[4], 'the Router flag is part of the key');
    mac = Buffer.from('020000000002', 'hex');
    s.open('eth0');
    s.sendGarp('10.0.0.50');
    assert.deepEqual(sent[5], gratuitousArpFrame({ srcMac: '02:00:00:00:00:02', ip: '10.0.0.50' }));
  });
});

describe('net/packet: frames on the wire (namespace lab)', function () {
  this.timeout(60000);
  let lab: Lab | undefined;
  let cap: PcapCapture | undefined;

  afterEach(async () => {
    await cap?.dispose();
    cap = undefined;
    lab?.destroy();
    lab = undefined;
  });

  it('gratuitous ARP: broadcast request, sender MAC = a’s, sender IP = target IP = VIP; mon’s cache follows', async function () {
    if (!canNetns) this.skip(); // needs root and ip netns
    lab = new Lab({ hosts: [{ name: 'a', addr: '10.99.1.1/24' }, { name: 'mon', addr: '10.99.1.100/24' }] }).up();
    const a = lab.host('a');
    const vip = '10.99.1.50';
    // A stale entry with another MAC, as if the VIP had lived on another router: a
    // gratuitous ARP must move it (Linux updates existing entries from gratuitous requests).
    ip(['neigh', 'replace', vip, 'lladdr', '02:00:00:00:00:99', 'dev', 'lab0', 'nud', 'stale'], lab.host('mon').ns);
    assert.equal(neighMac(lab, 'mon', vip), '02:00:00:00:00:99');
    cap = new PcapCapture(lab, 'mon', `arp and ether src ${a.mac}`);
    await cap.started();

    const r = await runFixture(lab, 'a', ['--iface', a.iface, '--garp', vip, '--count', '3']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.out, { ok: true, mac: a.mac, ifindex: r.out.ifindex, sent: [42, 42, 42] });

    const frames = await cap.waitFrames(3, 10000);
    assert.equal(frames.length, 3);
    const want = gratuitousArpFrame({ srcMac: a.mac, ip: vip });
    for (const f of frames) {
      assert.equal(f.length, 42);
      assert.deepEqual(f, want);
      assert.equal(f.subarray(0, 6).toString('hex'), 'ffffffffffff');
      assert.equal(f.subarray(6, 12).toString('hex'), a.mac.replace(/:/g, ''));
    }
    await cap.stop();
    const text = cap.decode();
    assert.equal(text.length, 3);
    for (const t of text) {
      assert.match(t, new RegExp(`^${a.mac} > ff:ff:ff:ff:ff:ff, ethertype ARP \\(0x0806\\), length 42: Ethernet \\(len 6\\), IPv4 \\(len 4\\), Request who-has ${vip} \\(ff:ff:ff:ff:ff:ff\\) tell ${vip}, length 28$`));
    }
    assert.ok(await until(() => neighMac(lab!, 'mon', vip) === a.mac, 5000), `mon's entry for ${vip}: ${neighMac(lab, 'mon', vip)}`);
  });

  it('unsolicited NA: VIP → ff02::1, hop limit 255, Override, TLLA = a’s MAC, checksum ok; mon’s cache follows', async function () {
    if (!canNetns) this.skip();
    lab = new Lab({
      ipv6: true,
      hosts: [{ name: 'a', addr6: 'fd00:99:1::1/64' }, { name: 'mon', addr6: 'fd00:99:1::100/64' }],
    }).up();
    const a = lab.host('a');
    const vip = 'fd00:99:1::50';
    ip(['-6', 'neigh', 'replace', vip, 'lladdr', '02:00:00:00:00:99', 'dev', 'lab0', 'nud', 'stale'], lab.host('mon').ns);
    assert.equal(neighMac(lab, 'mon', vip), '02:00:00:00:00:99');
    // Neighbor Advertisements from a only (not mon's own ND, not MLD).
    cap = new PcapCapture(lab, 'mon', `icmp6 and ip6[40] == 136 and ether src ${a.mac}`);
    await cap.started();

    const r = await runFixture(lab, 'a', ['--iface', a.iface, '--na', vip, '--count', '2']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.out.sent, [86, 86]);

    const frames = await cap.waitFrames(2, 10000);
    assert.equal(frames.length, 2);
    const want = unsolicitedNaFrame({ srcMac: a.mac, ip6: vip, router: false });
    for (const f of frames) assert.deepEqual(f, want);
    await cap.stop();
    for (const t of cap.decode()) {
      assert.match(t, new RegExp(`^${a.mac} > 33:33:00:00:00:01, ethertype IPv6 \\(0x86dd\\), length 86: \\(hlim 255, next-header ICMPv6 \\(58\\) payload length: 32\\) ${vip} > ff02::1: \\[icmp6 sum ok\\] ICMP6, neighbor advertisement, length 32, tgt is ${vip}, Flags \\[override\\] destination link-address option \\(2\\), length 8 \\(1\\): ${a.mac}`));
    }
    assert.ok(await until(() => neighMac(lab!, 'mon', vip) === a.mac, 5000), `mon's entry for ${vip}: ${neighMac(lab, 'mon', vip)}`);
  });

  it('unsolicited NA carries the Router flag when a forwards IPv6 (as keepalived)', async function () {
    if (!canNetns) this.skip();
    lab = new Lab({ ipv6: true, hosts: [{ name: 'a', addr6: 'fd00:99:2::1/64' }, { name: 'mon', addr6: 'fd00:99:2::100/64' }] }).up();
    const a = lab.host('a');
    nsExec(a.ns, ['sysctl', '-qw', `net.ipv6.conf.${a.iface}.forwarding=1`]);
    cap = new PcapCapture(lab, 'mon', `icmp6 and ip6[40] == 136 and ether src ${a.mac}`);
    await cap.started();
    const r = await runFixture(lab, 'a', ['--iface', a.iface, '--na', 'fd00:99:2::50']);
    assert.equal(r.status, 0, r.stderr);
    const frames = await cap.waitFrames(1, 10000);
    assert.equal(frames.length, 1);
    assert.deepEqual(frames[0], unsolicitedNaFrame({ srcMac: a.mac, ip6: 'fd00:99:2::50', router: true }));
    await cap.stop();
    assert.match(cap.decode()[0] ?? '', /Flags \[router, override\]/);
  });

  it('a bad interface name inside the namespace: clear ENODEV, normal exit, nothing sent', async function () {
    if (!canNetns) this.skip();
    lab = new Lab({ hosts: [{ name: 'a', addr: '10.99.3.1/24' }, { name: 'mon', addr: '10.99.3.100/24' }] }).up();
    const r = await runFixture(lab, 'a', ['--iface', 'eth9', '--garp', '10.99.3.50']);
    assert.equal(r.signal, null);
    assert.equal(r.status, 1);
    assert.equal(r.out.ok, false);
    assert.equal(r.out.code, 'ENODEV');
    assert.match(r.out.message ?? '', /^ENODEV: no interface eth9/);
    assert.deepEqual(r.out.sent, []);
  });

  it('a link that is down: ENETDOWN from send, no crash', async function () {
    if (!canNetns) this.skip();
    lab = new Lab({ hosts: [{ name: 'a', addr: '10.99.4.1/24' }, { name: 'mon', addr: '10.99.4.100/24' }] }).up();
    const a = lab.host('a');
    ip(['link', 'set', a.iface, 'down'], a.ns);
    const r = await runFixture(lab, 'a', ['--iface', a.iface, '--garp', '10.99.4.50']);
    assert.equal(r.signal, null);
    assert.equal(r.status, 1);
    assert.equal(r.out.code, 'ENETDOWN');
    assert.match(r.out.message ?? '', new RegExp(`^ENETDOWN: cannot send on ${a.iface}`));
  });

  it('sends byte-for-byte what keepalived 2.2 sends for the same VIPs (GARP and NA)', async function () {
    if (!canNetns) this.skip();
    try {
      execFileSync('keepalived', ['--version'], { stdio: 'ignore' });
    } catch {
      this.skip(); // keepalived is the reference; without it there is nothing to compare with
    }
    lab = new Lab({
      ipv6: true,
      hosts: [
        { name: 'a', addr: '10.99.5.1/24', addr6: 'fd00:99:5::1/64' },
        { name: 'mon', addr: '10.99.5.100/24', addr6: 'fd00:99:5::100/64' },
      ],
    }).up();
    const a = lab.host('a');
    const vip4 = '10.99.5.50';
    const vip6 = 'fd00:99:5::50';
    const dir = mkdtempSync(join(tmpdir(), 'hacheck-ka-'));
    try {
      // Priority 255 (address owner) goes MASTER at once; one batch of 2 GARPs / NAs.
      writeFileSync(
        join(dir, 'keepalived.conf'),
        `global_defs {
  router_id hacheck_test
  vrrp_garp_master_delay 0
  vrrp_garp_master_repeat 2
}
vrrp_instance V4 {
  state MASTER
  interface ${a.iface}
  virtual_router_id 51
  priority 255
  advert_int 1
  virtual_ipaddress {
    ${vip4}/32
  }
}
vrrp_instance V6 {
  state MASTER
  interface ${a.iface}
  virtual_router_id 52
  priority 255
  advert_int 1
  virtual_ipaddress {
    ${vip6}/128
  }
}
`,
      );
      cap = new PcapCapture(lab, 'mon', `(arp or (icmp6 and ip6[40] == 136)) and ether src ${a.mac}`);
      await cap.started();
      const ka = lab.spawn('a', [
        'keepalived', '-n', '-l', '-G', '-P',
        '-f', join(dir, 'keepalived.conf'),
        '-p', join(dir, 'k.pid'), '-r', join(dir, 'v.pid'), '-c', join(dir, 'c.pid'),
      ]);
      let kaLog = '';
      ka.stdout!.setEncoding('utf8').on('data', (d: string) => (kaLog += d));
      ka.stderr!.setEncoding('utf8').on('data', (d: string) => (kaLog += d));
      const isArp = (f: Buffer): boolean => f.readUInt16BE(12) === 0x0806;
      const theirs = await cap.waitFrames(4, 15000);
      assert.ok(theirs.filter(isArp).length >= 2 && theirs.filter((f) => !isArp(f)).length >= 2, `keepalived sent ${theirs.length} frames; log:\n${kaLog}`);
      const exited = new Promise((r) => ka.once('exit', r));
      ka.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      const before = cap.frames().length;

      const r = await runFixture(lab, 'a', ['--iface', a.iface, '--garp', vip4, '--na', vip6]);
      assert.equal(r.status, 0, r.stderr);
      const ours = (await cap.waitFrames(before + 2, 10000)).slice(before);
      assert.equal(ours.length, 2);

      const distinct = (fs: Buffer[]): string[] => [...new Set(fs.map((f) => f.toString('hex')))].sort();
      assert.deepEqual(distinct(ours), distinct(theirs));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
