/**
 * Socket-level interop with the real keepalived 2.2.7: keepalived runs as MASTER in one lab
 * namespace, our VrrpSocket receiver in another decodes its adverts with the codec (VRRPv2 with
 * auth PASS, VRRPv3 over IPv4 and IPv6, VRRPv2 with IPsec AH). Then our sender, in keepalived's
 * namespace, sends the same adverts and they must be byte-identical to keepalived's.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CodecExpectations } from '../../src/vrrp/codec.js';
import { Lab, canNetns } from '../support/netns.js';
import { ROOT } from '../support/paths.js';
import { runFixture, startFixture, type FixtureLine } from './fixtures/vrrp-sock-run.js';

const KEEPALIVED = '/usr/sbin/keepalived';
const FIX = (name: string): string => join(ROOT, 'dist/test/net/fixtures', `${name}.js`);

const expectV2: CodecExpectations = {
  instanceName: 'VI_1', version: 2, vrid: 51, authType: 'PASS', authPass: 'secret', advertIntervalCs: 100, vips: ['10.99.0.100'], unicastPeers: [],
};
const expectV3: CodecExpectations = {
  instanceName: 'VI_3', version: 3, vrid: 52, authType: 'NONE', authPass: '', advertIntervalCs: 100, vips: ['10.99.0.101'], unicastPeers: [],
};
const expectV6: CodecExpectations = {
  instanceName: 'VI_6', version: 3, vrid: 61, authType: 'NONE', authPass: '', advertIntervalCs: 100, vips: ['fd00:99::100'], unicastPeers: [],
};
const expectAh: CodecExpectations = {
  instanceName: 'VI_AH', version: 2, vrid: 53, authType: 'AH', authPass: 'ahsecret', advertIntervalCs: 100, vips: ['10.99.0.102'], unicastPeers: [],
};

const CONF_MAIN = `
global_defs {
  router_id n1
}
vrrp_instance VI_1 {
  state MASTER
  interface lab0
  virtual_router_id 51
  priority 150
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass secret
  }
  virtual_ipaddress {
    10.99.0.100/24
  }
}
vrrp_instance VI_3 {
  version 3
  state MASTER
  interface lab0
  virtual_router_id 52
  priority 140
  advert_int 1
  virtual_ipaddress {
    10.99.0.101/24
  }
}
vrrp_instance VI_6 {
  state MASTER
  interface lab0
  virtual_router_id 61
  priority 120
  advert_int 1
  virtual_ipaddress {
    fd00:99::100/64
  }
}
`;

const CONF_AH = `
vrrp_instance VI_AH {
  state MASTER
  interface lab0
  virtual_router_id 53
  priority 130
  advert_int 1
  authentication {
    auth_type AH
    auth_pass ahsecret
  }
  virtual_ipaddress {
    10.99.0.102/24
  }
}
`;

interface Packet {
  from: string;
  dst?: string;
  ttl?: number;
  hex: string;
  result: { ok: boolean; advert?: { vrid: number; priority: number; version: number; authType: number; addresses: string[] }; msg?: string };
}

const packets = (lines: FixtureLine[]): Packet[] => lines.filter((l) => l.event === 'packet') as unknown as Packet[];

describe('VrrpSocket interop with keepalived 2.2.7', function () {
  let lab: Lab;
  let dir: string;
  const kids: ChildProcess[] = [];

  before(function () {
    if (!canNetns || !existsSync(KEEPALIVED)) {
      console.log('    (skipped: needs root, ip netns and /usr/sbin/keepalived)');
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'hacheck-ka-'));
    lab = new Lab({
      hosts: [
        { name: 'n1', addr: '10.99.0.11/24', addr6: 'fd00:99::11/64' },
        { name: 'n2', addr: '10.99.0.12/24', addr6: 'fd00:99::12/64' },
      ],
      ipv6: true,
    }).up();
  });

  after(() => {
    for (const k of kids) if (k.exitCode === null) k.kill('SIGKILL');
    lab?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Start keepalived (VRRP only, foreground, console log) in n1 with its own pid files. */
  function keepalived(name: string, conf: string): { proc: ChildProcess; log: () => string; stop: () => Promise<void> } {
    const file = join(dir, `${name}.conf`);
    writeFileSync(file, conf);
    const proc = lab.spawn('n1', [
      KEEPALIVED, '-n', '-l', '-P', '-f', file,
      '-p', join(dir, `${name}.pid`), '-r', join(dir, `${name}-vrrp.pid`), '-c', join(dir, `${name}-check.pid`),
    ]);
    kids.push(proc);
    let log = '';
    proc.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const stop = async (): Promise<void> => {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
    };
    return { proc, log: () => log, stop };
  }

  it('decodes keepalived VRRPv2 (auth PASS), VRRPv3 IPv4 and VRRPv3 IPv6 adverts; ours are byte-identical', async () => {
    // keepalived starts in BACKUP and becomes MASTER after 3 × advert_int + skew (~4 s).
    const rx4 = await startFixture(lab, 'n2', FIX('vrrp-sock-recv'), { open: { family: 'inet', ifname: 'lab0' }, expect: [expectV2, expectV3], count: 4, timeoutMs: 15000 });
    const rx6 = await startFixture(lab, 'n2', FIX('vrrp-sock-recv'), { open: { family: 'inet6', ifname: 'lab0' }, expect: expectV6, count: 2, timeoutMs: 15000 });
    const ka = keepalived('main', CONF_MAIN);
    const [r4, r6] = await Promise.all([rx4.done, rx6.done]);
    await ka.stop();
    const p4 = packets(r4.lines);
    const p6 = packets(r6.lines);
    const ctx = `keepalived log:\n${ka.log()}\nrx4: ${JSON.stringify(r4)}\nrx6: ${JSON.stringify(r6)}`;
    assert.ok(p4.length >= 2 && p6.length >= 1, ctx);

    for (const p of [...p4, ...p6]) assert.equal(p.result.ok, true, `${JSON.stringify(p)}\n${ctx}`);
    const v2 = p4.find((p) => p.result.advert?.vrid === 51);
    const v3 = p4.find((p) => p.result.advert?.vrid === 52);
    assert.ok(v2 && v3, ctx);
    assert.deepEqual(v2.result.advert, { version: 2, type: 1, vrid: 51, priority: 150, addresses: ['10.99.0.100'], advertIntervalCs: 100, authType: 1, checksum: 183 });
    assert.equal(v2.ttl, 255);
    assert.equal(v2.dst, '224.0.0.18');
    assert.equal(v2.from, '10.99.0.11');
    assert.equal(v3.result.advert!.version, 3);
    assert.equal(v3.result.advert!.priority, 140);
    const v6 = p6[0]!;
    assert.equal(v6.result.advert!.vrid, 61);
    assert.equal(v6.result.advert!.priority, 120);
    assert.match(v6.from, /^fe80::/);

    // Our sender in n1 (same addresses as keepalived), with keepalived's IPv4 header IDs.
    const ipId = (hex: string): number => parseInt(hex.slice(8, 12), 16);
    const ours4 = await startFixture(lab, 'n2', FIX('vrrp-sock-recv'), { open: { family: 'inet', ifname: 'lab0' }, expect: [expectV2, expectV3], count: 2, timeoutMs: 8000 });
    const ours6 = await startFixture(lab, 'n2', FIX('vrrp-sock-recv'), { open: { family: 'inet6', ifname: 'lab0' }, expect: expectV6, count: 1, timeoutMs: 8000 });
    const send = async (advert: object, family: 'inet' | 'inet6', dst: string, extra: object = {}): Promise<void> => {
      const r = await runFixture(lab, 'n1', FIX('vrrp-sock-send'), { open: { family, ifname: 'lab0' }, dst, advert, ...extra });
      assert.deepEqual(r.lines.filter((l) => l.event === 'send').map((l) => (l.result as { ok: boolean }).ok), [true], JSON.stringify(r));
    };
    await send({ version: 2, vrid: 51, priority: 150, addresses: ['10.99.0.100'], advertIntervalCs: 100, authType: 'PASS' }, 'inet', '224.0.0.18', { authPass: 'secret', ipId: ipId(v2.hex) });
    await send({ version: 3, vrid: 52, priority: 140, addresses: ['10.99.0.101'], advertIntervalCs: 100 }, 'inet', '224.0.0.18', { ipId: ipId(v3.hex) });
    await send({ version: 3, vrid: 61, priority: 120, addresses: ['fd00:99::100'], advertIntervalCs: 100 }, 'inet6', 'ff02::12');
    const o4 = packets((await ours4.done).lines);
    const o6 = packets((await ours6.done).lines);
    assert.equal(o4.find((p) => p.result.advert?.vrid === 51)?.hex, v2.hex, 'VRRPv2 IPv4 packet differs from keepalived');
    assert.equal(o4.find((p) => p.result.advert?.vrid === 52)?.hex, v3.hex, 'VRRPv3 IPv4 packet differs from keepalived');
    assert.equal(o6[0]?.hex, v6.hex, 'VRRPv3 IPv6 payload differs from keepalived');
    assert.equal(o6[0]?.from, v6.from);
  });

  it('decodes keepalived VRRPv2 with auth_type AH on a protocol-51 socket (ICV verified by the codec)', async () => {
    const rx = await startFixture(lab, 'n2', FIX('vrrp-sock-recv'), { open: { family: 'inet', ifname: 'lab0', protocol: 51 }, expect: expectAh, count: 2, timeoutMs: 15000 });
    const ka = keepalived('ah', CONF_AH);
    const r = await rx.done;
    await ka.stop();
    const p = packets(r.lines);
    const ctx = `keepalived log:\n${ka.log()}\nrx: ${JSON.stringify(r)}`;
    assert.ok(p.length >= 1, ctx);
    for (const x of p) {
      assert.equal(x.result.ok, true, `${JSON.stringify(x)}\n${ctx}`);
      assert.equal(x.result.advert!.vrid, 53);
      assert.equal(x.result.advert!.authType, 2);
      assert.equal(x.hex.slice(18, 20), '33', 'IPv4 protocol 51 (AH)');
    }
  });
});
