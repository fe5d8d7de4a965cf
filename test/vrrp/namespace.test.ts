/**
 * VRRP for real: hacheck daemons (and keepalived 2.2.7 as a peer) in network namespaces on one
 * bridge; what they do is checked on the wire by tcpdump in a monitor namespace and in the
 * kernel's address tables, never by trusting the sender. Each test builds and tears down its
 * own lab, also when it fails.
 */
import assert from 'node:assert/strict';
import { Capture, joinedLines, until, type Lab } from '../support/netns.js';
import { DaemonLab, hasVip, instanceBlock, type Daemon, type Impl, type InstanceSpec } from '../support/vrrp-lab.js';

const VIP = '10.98.0.50';
const VIP6 = 'fd00:98::50';

function config(name: string, instances: InstanceSpec[], global: string[] = [], extra = ''): string {
  return [
    'global_defs {',
    `    router_id ${name}`,
    ...global.map((g) => `    ${g}`),
    '}',
    '',
    ...instances.map(instanceBlock),
    extra,
    '',
  ].join('\n');
}

/** `vrrp` adverts on the capture: {src, vrid, prio} from tcpdump -vv text. */
function adverts(lines: string[]): { t: number; src: string; vrid: number; prio: number; line: string }[] {
  const out = [];
  for (const l of lines) {
    const m = /^(\d+\.\d+) .*? (\S+) > (\S+): VRRPv(\d), Advertisement, vrid (\d+), prio (\d+)/.exec(l);
    if (m) out.push({ t: Number(m[1]), src: m[2], vrid: Number(m[5]), prio: Number(m[6]), line: l });
  }
  return out;
}

function vrrpOnWire(lines: string[]) {
  return adverts(joinedLines(lines).map((l) => l.replace(/\(tos.*?\)\s*/, '')));
}

function garps(lines: string[], vip: string, mac: string): string[] {
  const v = vip.replace(/\./g, '\\.');
  const re = new RegExp(`ARP.*(Request who-has ${v} (\\(\\S+\\) )?tell ${v}|Reply ${v} is-at)`);
  return lines.filter((l) => l.split(' ')[1]?.toLowerCase() === mac.toLowerCase() && re.test(l));
}

describe('VRRP in network namespaces', function () {
  this.timeout(120_000);
  const dl = new DaemonLab();
  const mkLab = (ipv6 = false): Lab => dl.peers('10.98.0', ipv6 ? 'fd00:98' : undefined);
  const daemon = (host: string, impl: Impl, conf: string): Daemon => dl.start(host, impl, conf);

  const master = (extra: Partial<InstanceSpec> = {}): InstanceSpec => ({ state: 'MASTER', priority: 150, vips: [`${VIP}/24 dev lab0`], auth: 's3cret', ...extra });
  const backup = (extra: Partial<InstanceSpec> = {}): InstanceSpec => ({ state: 'BACKUP', priority: 100, vips: [`${VIP}/24 dev lab0`], auth: 's3cret', ...extra });

  it('elects the configured master; adverts and GARPs are on the wire', async function () {
    const l = mkLab();
    const cap = new Capture(l, 'mon', 'vrrp or arp');
    await cap.started();
    daemon('n1', 'hacheck', config('n1', [master()]));
    assert.ok(await until(() => hasVip(l.host('n1').ns, VIP), 15_000), 'n1 holds the VIP');
    daemon('n2', 'hacheck', config('n2', [backup()]));
    await new Promise((r) => setTimeout(r, 4000));
    assert.ok(hasVip(l.host('n1').ns, VIP), 'n1 still holds the VIP');
    assert.ok(!hasVip(l.host('n2').ns, VIP), 'n2 does not hold the VIP');
    const lines = await cap.stop();
    const ads = vrrpOnWire(lines);
    const fromN1 = ads.filter((a) => a.src === '10.98.0.11');
    assert.ok(fromN1.length >= 3, `adverts from n1: ${fromN1.length}`);
    assert.ok(fromN1.every((a) => a.vrid === 51 && a.prio === 150));
    assert.ok(joinedLines(lines).some((l) => /ttl 255/.test(l) && /224\.0\.0\.18/.test(l)), 'TTL 255 to 224.0.0.18');
    assert.equal(ads.filter((a) => a.src === '10.98.0.12' && a.prio > 0).length, 0, 'the backup sends no adverts');
    assert.ok(garps(lines, VIP, l.host('n1').mac).length >= 5, 'a burst of 5 GARPs from n1');
  });

  it('SIGKILL of the master: the backup takes the VIP after Master_Down_Interval', async function () {
    const l = mkLab();
    const n1 = daemon('n1', 'hacheck', config('n1', [master()]));
    assert.ok(await until(() => hasVip(l.host('n1').ns, VIP), 15_000));
    daemon('n2', 'hacheck', config('n2', [backup()]));
    await new Promise((r) => setTimeout(r, 4000));
    const cap = new Capture(l, 'mon', 'vrrp or arp');
    await cap.started();
    await n1.signal('SIGKILL');
    assert.ok(await until(() => hasVip(l.host('n2').ns, VIP), 10_000), 'n2 holds the VIP');
    await new Promise((r) => setTimeout(r, 300));
    const lines = await cap.stop();
    const ads = vrrpOnWire(lines);
    const first = ads.find((a) => a.src === '10.98.0.12' && a.prio === 100);
    assert.ok(first, 'n2 advertises as master');
    assert.ok(garps(lines, VIP, l.host('n2').mac).length >= 1, 'n2 sends GARPs');
    const lastN1 = ads.filter((a) => a.src === '10.98.0.11' && a.t < first.t).pop();
    if (lastN1) {
      const gap = (first.t - lastN1.t) * 1000;
      // RFC 3768 §6.1: Master_Down_Interval = 3 × 1 s + (256 − 100)/256 s = 3609.4 ms.
      assert.ok(gap > 3400 && gap < 4200, `detection ${gap.toFixed(1)} ms`);
    }
  });

  it('SIGTERM of the master: priority 0, then takeover after Skew_Time; the old master preempts on return', async function () {
    const l = mkLab();
    const n1 = daemon('n1', 'hacheck', config('n1', [master()]));
    assert.ok(await until(() => hasVip(l.host('n1').ns, VIP), 15_000));
    daemon('n2', 'hacheck', config('n2', [backup()]));
    await new Promise((r) => setTimeout(r, 4000));
    const cap = new Capture(l, 'mon', 'vrrp');
    await cap.started();
    await n1.signal('SIGTERM');
    assert.ok(await until(() => hasVip(l.host('n2').ns, VIP), 10_000), 'n2 holds the VIP');
    assert.ok(!hasVip(l.host('n1').ns, VIP), 'n1 removed its VIP');
    await new Promise((r) => setTimeout(r, 200));
    const ads = vrrpOnWire(cap.lines());
    const zero = ads.find((a) => a.src === '10.98.0.11' && a.prio === 0);
    assert.ok(zero, 'n1 sent priority 0');
    const first = ads.find((a) => a.src === '10.98.0.12' && a.t >= zero.t);
    assert.ok(first, 'n2 advertised');
    const skew = (first.t - zero.t) * 1000;
    // RFC 3768 §6.4.2: Skew_Time = (256 − 100)/256 s = 609.4 ms.
    assert.ok(skew > 450 && skew < 1000, `skew ${skew.toFixed(1)} ms`);
    // The old master comes back and preempts.
    n1.start();
    assert.ok(await until(() => hasVip(l.host('n1').ns, VIP) && !hasVip(l.host('n2').ns, VIP), 15_000), 'n1 preempted');
    await cap.stop();
  });

  it('nopreempt: the returning higher-priority node stays backup', async function () {
    const l = mkLab();
    const conf = (n: string, prio: number) => config(n, [backup({ priority: prio, extra: ['nopreempt'] })]);
    const n1 = daemon('n1', 'hacheck', conf('n1', 150));
    assert.ok(await until(() => hasVip(l.host('n1').ns, VIP), 15_000));
    daemon('n2', 'hacheck', conf('n2', 100));
    await new Promise((r) => setTimeout(r, 3000));
    await n1.signal('SIGTERM');
    assert.ok(await until(() => hasVip(l.host('n2').ns, VIP), 10_000));
    n1.start();
    await new Promise((r) => setTimeout(r, 6000));
    assert.ok(hasVip(l.host('n2').ns, VIP), 'n2 keeps the VIP');
    assert.ok(!hasVip(l.host('n1').ns, VIP), 'n1 did not preempt');
  });

  it('unicast peers', async function () {
    const l = mkLab();
    // unicast frames are switched to n2's port only: capture there
    const cap = new Capture(l, 'n2', 'vrrp');
    await cap.started();
    daemon('n1', 'hacheck', config('n1', [master({ unicastSrc: '10.98.0.11', unicastPeers: ['10.98.0.12'] })]));
    assert.ok(await until(() => hasVip(l.host('n1').ns, VIP), 15_000));
    const n2 = daemon('n2', 'hacheck', config('n2', [backup({ unicastSrc: '10.98.0.12', unicastPeers: ['10.98.0.11'] })]));
    await new Promise((r) => setTimeout(r, 4000));
    assert.ok(!hasVip(l.host('n2').ns, VIP));
    const ads = joinedLines(cap.lines()).filter((x) => /VRRP/.test(x));
    assert.ok(ads.some((x) => /10\.98\.0\.11 > 10\.98\.0\.12/.test(x)), 'unicast adverts n1 → n2');
    assert.ok(!ads.some((x) => /224\.0\.0\.18/.test(x)), 'no multicast');
    await cap.stop();
    void n2;
  });

  it('VRRPv3 at advert_int 0.1: takeover in about 361 ms', async function () {
    const l = mkLab();
    const v3 = { version: 3 as const, advertInt: '0.1', auth: undefined };
    const n1 = daemon('n1', 'hacheck', config('n1', [master(v3)]));
    assert.ok(await until(() => hasVip(l.host('n1').ns, VIP), 15_000));
    daemon('n2', 'hacheck', config('n2', [backup(v3)]));
    await new Promise((r) => setTimeout(r, 2000));
    assert.ok(!hasVip(l.host('n2').ns, VIP));
    const cap = new Capture(l, 'mon', 'vrrp');
    await cap.started();
    await new Promise((r) => setTimeout(r, 300));
    await n1.signal('SIGKILL');
    assert.ok(await until(() => hasVip(l.host('n2').ns, VIP), 10_000));
    await new Promise((r) => setTimeout(r, 200));
    const ads = vrrpOnWire(await cap.stop());
    assert.ok(ads.every((a) => a.line.includes('VRRPv3')), 'v3 adverts');
    const first = ads.find((a) => a.src === '10.98.0.12' && a.prio === 100)!;
    assert.ok(first, 'n2 advertises');
    const lastN1 = ads.filter((a) => a.src === '10.98.0.11' && a.t < first.t).pop()!;
    const gap = (first.t - lastN1.t) * 1000;
    // RFC 5798 §6.1: 3 × 100 ms + (256 − 100) × 100 / 256 ms = 360.9 ms.
    assert.ok(gap > 300 && gap < 600, `detection ${gap.toFixed(1)} ms`);
  });

  it('an IPv6 instance: VRRPv3 to ff02::12 and the VIP moves', async function () {
    const l = mkLab(true);
    const six = { version: 3 as const, auth: undefined, vips: [`${VIP6}/64 dev lab0`] };
    const n1 = daemon('n1', 'hacheck', config('n1', [master(six)]));
    assert.ok(await until(() => hasVip(l.host('n1').ns, VIP6), 15_000), 'n1 holds the IPv6 VIP');
    daemon('n2', 'hacheck', config('n2', [backup(six)]));
    await new Promise((r) => setTimeout(r, 4000));
    assert.ok(!hasVip(l.host('n2').ns, VIP6));
    await n1.signal('SIGKILL');
    assert.ok(await until(() => hasVip(l.host('n2').ns, VIP6), 10_000), 'n2 took the IPv6 VIP');
  });

  it('a sync group moves two instances together', async function () {
    const l = mkLab();
    const group = 'vrrp_sync_group G1 {\n    group {\n        VI_1\n        VI_2\n    }\n}';
    const pair = (state: 'MASTER' | 'BACKUP', prio: number) => [
      { name: 'VI_1', state, priority: prio, vrid: 51, vips: [`${VIP}/24 dev lab0`] },
      { name: 'VI_2', state, priority: prio, vrid: 52, vips: ['10.98.0.51/24 dev lab0'] },
    ];
    const n1 = daemon('n1', 'hacheck', config('n1', pair('MASTER', 150), [], group));
    assert.ok(await until(() => hasVip(l.host('n1').ns, VIP) && hasVip(l.host('n1').ns, '10.98.0.51'), 15_000));
    daemon('n2', 'hacheck', config('n2', pair('BACKUP', 100), [], group));
    await new Promise((r) => setTimeout(r, 4000));
    await n1.signal('SIGKILL');
    assert.ok(await until(() => hasVip(l.host('n2').ns, VIP) && hasVip(l.host('n2').ns, '10.98.0.51'), 10_000), 'both moved');
  });

  it('a tracked interface going down puts the instance in FAULT and releases the VIP', async function () {
    const l = mkLab();
    // a dummy interface to track, inside n1
    const { nsExec } = await import('../support/netns.js');
    nsExec(l.host('n1').ns, ['ip', 'link', 'add', 'trk0', 'type', 'veth', 'peer', 'name', 'trk1']);
    nsExec(l.host('n1').ns, ['ip', 'link', 'set', 'trk1', 'up']);
    nsExec(l.host('n1').ns, ['ip', 'link', 'set', 'trk0', 'up']);
    const n1 = daemon('n1', 'hacheck', config('n1', [master({ extra: ['track_interface {', '    trk0', '}'] })]));
    assert.ok(await until(() => hasVip(l.host('n1').ns, VIP), 15_000));
    nsExec(l.host('n1').ns, ['ip', 'link', 'set', 'trk0', 'down']);
    assert.ok(await until(() => !hasVip(l.host('n1').ns, VIP), 10_000), 'VIP released');
    assert.ok(await n1.waitLog(/Entering FAULT STATE/, 5000), 'FAULT logged');
    nsExec(l.host('n1').ns, ['ip', 'link', 'set', 'trk0', 'up']);
    assert.ok(await until(() => hasVip(l.host('n1').ns, VIP), 15_000), 'back to MASTER');
  });

  // Interoperability with keepalived 2.2.7 is in interop.test.ts.
});
