/**
 * Interoperability with keepalived 2.2.7: one hacheck node and one keepalived node on the same
 * bridge, in both roles, for VRRPv2 with `auth_type PASS` and for VRRPv3. Each case checks that
 * the configured master wins, that after convergence only one node holds the VIP and only one
 * source advertises, that failover works both ways (SIGTERM, preemption on return, SIGKILL), and
 * that keepalived's own SIGUSR2 statistics count hacheck's adverts as received with no packet
 * or authentication error (and hacheck's, same file and layout, likewise for keepalived's).
 * keepalived's log is also searched for the rejections its statistics do not count (a checksum
 * or version error has no counter in the stats file).
 */
import assert from 'node:assert/strict';
import { Capture, joinedLines, until, type Lab } from '../support/netns.js';
import {
  DaemonLab,
  hasVip,
  instanceBlock,
  parseKeepalivedStats,
  type Daemon,
  type Impl,
  type InstanceSpec,
  type KeepalivedStats,
} from '../support/vrrp-lab.js';

const VIP = '10.97.0.50';
const ADDR: Record<'n1' | 'n2', string> = { n1: '10.97.0.11', n2: '10.97.0.12' };
/** keepalived keeps the first 8 octets of auth_pass (RFC 3768 §5.3.6: 8-octet password). */
const PASS = 'secret12';

function config(name: string, inst: InstanceSpec): string {
  return ['global_defs {', `    router_id ${name}`, '}', '', instanceBlock(inst), ''].join('\n');
}

interface Advert {
  t: number;
  src: string;
  version: number;
  vrid: number;
  prio: number;
  line: string;
}

/** VRRP adverts seen by tcpdump -n -e -tt -vv: time (s), source, version, vrid, priority. */
function adverts(lines: string[]): Advert[] {
  const out: Advert[] = [];
  for (const l of joinedLines(lines)) {
    const m = /^(\d+\.\d+) .*? (\d+\.\d+\.\d+\.\d+) > (\S+): VRRPv(\d), Advertisement, vrid (\d+), prio (\d+)/.exec(
      l.replace(/\(tos.*?\)\s*/, ''),
    );
    if (m) out.push({ t: Number(m[1]), src: m[2]!, version: Number(m[4]), vrid: Number(m[5]), prio: Number(m[6]), line: l });
  }
  return out;
}

/**
 * keepalived's log lines for an advert it rejected (vrrp_check_packet() of 2.2.7). Checksum and
 * version errors are only counted for SNMP, not in the stats file, so the log is the witness.
 */
const KA_REJECT =
  /Invalid VRRPv\d checksum|wrong version|advertisement interval mismatch|invalid passwd|auth, expecting|Invalid auth type|AH header|vrrp packet too (long|short)|invalid TTL|unexpected ip number count|ip_tot_len mismatch|not present in MASTER advert|Expected \w+icast packet|Invalid packet type|expected \d+ VIPs/;

/** The counters that must stay 0 for a peer's well-formed adverts. */
const ERROR_COUNTERS = [
  'Packet Errors/Length',
  'Packet Errors/TTL',
  'Packet Errors/Invalid Type',
  'Packet Errors/Advertisement Interval',
  'Packet Errors/Address List',
  'Authentication Errors/Invalid Type',
  'Authentication Errors/Type Mismatch',
  'Authentication Errors/Failure',
];

function instanceStats(s: KeepalivedStats): Record<string, number> {
  const c = s.get('VI_1');
  assert.ok(c, `VI_1 in keepalived's stats: ${JSON.stringify([...s])}`);
  return c;
}

function assertNoErrors(c: Record<string, number>, when: string, who: Impl = 'keepalived'): void {
  // Type Mismatch and Failure exist only when keepalived is built with VRRP auth; the Debian
  // package is, and an absent counter must not pass silently.
  for (const k of ERROR_COUNTERS) assert.equal(c[k], 0, `${when}: ${who}'s "${k}" = ${c[k]} (${JSON.stringify(c)})`);
}

describe('keepalived stats file parser', function () {
  it('reads every counter of vrrp_print_stats() (2.2.7 layout), keyed by section', function () {
    const text = [
      'VRRP Instance: VI_1',
      '  Advertisements:',
      '    Received: 12',
      '    Sent: 3',
      '  Became master: 1',
      '  Released master: 0',
      '  Packet Errors:',
      '    Length: 0',
      '    TTL: 0',
      '    Invalid Type: 0',
      '    Advertisement Interval: 0',
      '    Address List: 0',
      '  Authentication Errors:',
      '    Invalid Type: 0',
      '    Type Mismatch: 0',
      '    Failure: 7',
      '  Priority Zero:',
      '    Received: 1',
      '    Sent: 0',
      'VRRP Instance: VI_2',
      '  Advertisements:',
      '    Received: 0',
      '',
    ].join('\n');
    const s = parseKeepalivedStats(text);
    assert.deepEqual([...s.keys()], ['VI_1', 'VI_2']);
    const c = s.get('VI_1')!;
    assert.equal(c['Advertisements/Received'], 12);
    assert.equal(c['Advertisements/Sent'], 3);
    assert.equal(c['Became master'], 1);
    assert.equal(c['Packet Errors/Invalid Type'], 0);
    assert.equal(c['Authentication Errors/Failure'], 7);
    assert.equal(c['Priority Zero/Received'], 1);
    assert.equal(Object.keys(c).length, 14);
    assert.deepEqual(s.get('VI_2'), { 'Advertisements/Received': 0 });
  });

  it('rejects a line it does not know rather than skipping it', function () {
    assert.throws(() => parseKeepalivedStats('VRRP Instance: VI_1\n  Advertisements:\n    Received: many\n'), /unexpected line/);
  });
});

describe('VRRP interop with keepalived 2.2.7 in network namespaces', function () {
  this.timeout(120_000);
  let cap: Capture | undefined;

  // Registered before the DaemonLab's hooks, so the capture stops (and is printed on failure) first.
  afterEach(async function () {
    const lines = cap ? await cap.stop() : [];
    cap = undefined;
    if (this.currentTest?.state === 'failed') process.stderr.write(`--- wire:\n${joinedLines(lines).slice(-40).join('\n')}\n`);
  });
  const dl = new DaemonLab({ keepalived: true });
  const mkLab = (): Lab => dl.peers('10.97.0');
  const daemon = (host: string, impl: Impl, conf: string): Daemon => dl.start(host, impl, conf);

  const ns = (h: 'n1' | 'n2') => dl.lab!.host(h).ns;
  const onlyOn = (h: 'n1' | 'n2') => hasVip(ns(h), VIP) && !hasVip(ns(h === 'n1' ? 'n2' : 'n1'), VIP);

  /** The VIP stays on `h` alone, sampled every 100 ms for `ms`; returns the window in epoch s. */
  async function singleMaster(h: 'n1' | 'n2', ms: number, when: string): Promise<[number, number]> {
    const t0 = Date.now() / 1000;
    const end = Date.now() + ms;
    while (Date.now() < end) {
      assert.ok(onlyOn(h), `${when}: VIP on ${h} only (n1 ${hasVip(ns('n1'), VIP)}, n2 ${hasVip(ns('n2'), VIP)})`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return [t0, Date.now() / 1000];
  }

  /** Only `h` advertised inside the window, at least twice, with the expected version and priority. */
  async function onlySender(h: 'n1' | 'n2', win: [number, number], version: number, prio: number, when: string): Promise<Advert[]> {
    // tcpdump is line-buffered (-l -U) but give the last frame of the window time to be printed
    await cap!.waitFor((ls) => adverts(ls).some((a) => a.t >= win[1] - 0.05), 2500);
    const ads = adverts(cap!.lines()).filter((a) => a.t >= win[0] && a.t <= win[1]);
    const others = ads.filter((a) => a.src !== ADDR[h]);
    assert.deepEqual(others.map((a) => a.line), [], `${when}: only ${h} advertises`);
    assert.ok(ads.length >= 2, `${when}: ${h} advertised ${ads.length} times in ${(win[1] - win[0]).toFixed(1)} s`);
    for (const a of ads) {
      assert.equal(a.version, version, `${when}: VRRPv${version}: ${a.line}`);
      assert.equal(a.vrid, 51, a.line);
      assert.equal(a.prio, prio, a.line);
    }
    return ads;
  }

  function assertKeepalivedAccepted(ka: Daemon): void {
    const bad = ka.messages().filter((m) => KA_REJECT.test(m));
    assert.deepEqual(bad, [], "keepalived's log shows no rejected advert");
  }

  /**
   * VRRPv2 with auth_type PASS: hacheck n1 MASTER (priority 150) with auth_pass `hacheckPass`,
   * up and holding the VIP, then keepalived n2 BACKUP (priority 100) with PASS. Returns keepalived.
   */
  async function hacheckMasterKeepalivedBackup(hacheckPass: string): Promise<Daemon> {
    mkLab();
    const spec = (state: 'MASTER' | 'BACKUP', priority: number, auth: string): InstanceSpec => ({
      state,
      priority,
      auth,
      vips: [`${VIP}/24 dev lab0`],
    });
    daemon('n1', 'hacheck', config('n1', spec('MASTER', 150, hacheckPass)));
    assert.ok(await until(() => hasVip(ns('n1'), VIP), 15_000), 'hacheck n1 becomes master');
    return daemon('n2', 'keepalived', config('n2', spec('BACKUP', 100, PASS)));
  }

  const CASES = [
    { label: 'VRRPv2 auth_type PASS', version: 2 as const, auth: PASS },
    { label: 'VRRPv3', version: 3 as const, auth: undefined },
  ];

  for (const c of CASES) {
    for (const hacheckNode of ['n1', 'n2'] as const) {
      const kaNode = hacheckNode === 'n1' ? 'n2' : 'n1';
      const role = hacheckNode === 'n1' ? 'hacheck master / keepalived backup' : 'keepalived master / hacheck backup';
      it(`${c.label}: ${role}; failover both ways, one master, neither side counts an error`, async function () {
        const l = mkLab();
        cap = new Capture(l, 'mon', 'vrrp');
        await cap.started();
        const impl = (n: string): Impl => (n === hacheckNode ? 'hacheck' : 'keepalived');
        // Both versions at advert_int 1: RFC 5798 §5.2.7 encodes it as 100 centiseconds.
        const spec = (state: 'MASTER' | 'BACKUP', priority: number): InstanceSpec => ({
          state,
          priority,
          vrid: 51,
          advertInt: 1,
          version: c.version,
          auth: c.auth,
          vips: [`${VIP}/24 dev lab0`],
        });
        const n1 = daemon('n1', impl('n1'), config('n1', spec('MASTER', 150)));
        assert.ok(await until(() => hasVip(ns('n1'), VIP), 15_000), 'n1 (priority 150) becomes master');
        const n2 = daemon('n2', impl('n2'), config('n2', spec('BACKUP', 100)));
        const ka = kaNode === 'n1' ? n1 : n2;
        const hc = kaNode === 'n1' ? n2 : n1;

        // Convergence: the backup has been up for more than Master_Down_Interval (3.6 s).
        await new Promise((r) => setTimeout(r, 4500));
        let win = await singleMaster('n1', 3000, 'converged');
        const ads = await onlySender('n1', win, c.version, 150, 'converged');
        if (c.version === 2) assert.ok(ads.every((a) => a.line.includes(`auth "${PASS}"`)), `simple auth "${PASS}" on the wire: ${ads[0]!.line}`);

        let s = instanceStats(await ka.statsDump());
        assertNoErrors(s, 'converged');
        if (ka === n2) {
          // keepalived is the backup: everything it received was hacheck's.
          assert.ok(s['Advertisements/Received']! >= 3, `keepalived received hacheck's adverts: ${s['Advertisements/Received']}`);
          assert.equal(s['Advertisements/Sent'], 0, 'the keepalived backup sent no advert');
          assert.equal(s['Became master'], 0, 'keepalived never became master');
        } else {
          assert.equal(s['Became master'], 1, 'keepalived became master once');
          assert.equal(s['Released master'], 0, 'and stayed master');
        }
        const convergedStats = s;
        // The other way round: hacheck's own counters (same file, same layout) for keepalived's adverts.
        let h = instanceStats(await hc.statsDump());
        assertNoErrors(h, 'converged (hacheck)', 'hacheck');
        if (hc === n2) {
          assert.ok(h['Advertisements/Received']! >= 3, `hacheck received keepalived's adverts: ${h['Advertisements/Received']}`);
          assert.equal(h['Advertisements/Sent'], 0, 'the hacheck backup sent no advert');
        }

        // SIGTERM of the master: priority 0 advert, the backup takes over within Skew_Time.
        await n1.signal('SIGTERM');
        assert.ok(await until(() => onlyOn('n2'), 10_000), 'n2 takes over after SIGTERM of n1');
        win = await singleMaster('n2', 2500, 'after SIGTERM');
        await onlySender('n2', win, c.version, 100, 'after SIGTERM');

        // The master returns and preempts (keepalived starts as backup for Master_Down_Interval,
        // then preempts; hacheck likewise): the backup must hand the VIP back.
        n1.start();
        assert.ok(await until(() => onlyOn('n1'), 15_000), 'n1 preempts back');
        win = await singleMaster('n1', 2500, 'after preemption');
        await onlySender('n1', win, c.version, 150, 'after preemption');

        s = instanceStats(await ka.statsDump());
        assertNoErrors(s, 'after preemption');
        // Either role has now received hacheck's adverts: keepalived n2 as master was preempted by
        // hacheck's, keepalived n1 listened to hacheck's lower-priority adverts before preempting.
        assert.ok(s['Advertisements/Received']! >= 1, `keepalived received hacheck's adverts: ${s['Advertisements/Received']}`);
        if (ka === n2) {
          assert.ok(s['Priority Zero/Received']! >= 1, "keepalived received hacheck's priority 0 advert on SIGTERM");
          assert.ok(s['Advertisements/Received']! > convergedStats['Advertisements/Received']!, 'more adverts received');
          assert.equal(s['Became master'], 1, 'keepalived became master once (after SIGTERM)');
          assert.equal(s['Released master'], 1, 'and released it once (on preemption)');
        } else {
          assert.equal(s['Became master'], 1, 'the restarted keepalived became master');
        }

        h = instanceStats(await hc.statsDump());
        assertNoErrors(h, 'after preemption (hacheck)', 'hacheck');
        if (hc === n2) {
          assert.ok(h['Priority Zero/Received']! >= 1, "hacheck received keepalived's priority 0 advert on SIGTERM");
          assert.equal(h['Became master'], 1, 'hacheck became master once (after SIGTERM)');
          assert.equal(h['Released master'], 1, 'and released it once (on preemption)');
        }

        // SIGKILL of the master: no priority 0, takeover after Master_Down_Interval.
        await n1.signal('SIGKILL');
        assert.ok(await until(() => hasVip(ns('n2'), VIP), 10_000), 'n2 takes over after SIGKILL of n1');
        if (ka === n2) {
          s = instanceStats(await ka.statsDump());
          assertNoErrors(s, 'after SIGKILL');
          assert.equal(s['Became master'], 2, 'keepalived became master twice');
        } else {
          h = instanceStats(await hc.statsDump());
          assertNoErrors(h, 'after SIGKILL (hacheck)', 'hacheck');
          assert.equal(h['Became master'], 2, 'hacheck became master twice');
        }
        assertKeepalivedAccepted(ka);
        process.stderr.write(`      keepalived ${kaNode} stats: ${JSON.stringify(s)}\n      hacheck ${hacheckNode} stats: ${JSON.stringify(h)}\n`);
      });
    }
  }

  // IPv6 (RFC 5798 §5.1.2): adverts to ff02::12 from the link-local address, hop limit 255.
  // hacheck reads the hop limit and destination of keepalived's adverts (IPV6_HOPLIMIT /
  // IPV6_PKTINFO), so a wrong one would show in its TTL counter; keepalived checks hacheck's.
  for (const hacheckNode of ['n1', 'n2'] as const) {
    const role = hacheckNode === 'n1' ? 'hacheck master / keepalived backup' : 'keepalived master / hacheck backup';
    it(`VRRPv3 over IPv6: ${role}; SIGTERM failover, neither side counts an error`, async function () {
      const l = dl.peers('10.97.0', 'fd00:97');
      const vip6 = 'fd00:97::50';
      const impl = (n: string): Impl => (n === hacheckNode ? 'hacheck' : 'keepalived');
      const spec = (state: 'MASTER' | 'BACKUP', priority: number): InstanceSpec => ({ state, priority, vrid: 51, version: 3, vips: [`${vip6}/64 dev lab0`] });
      const n1 = daemon('n1', impl('n1'), config('n1', spec('MASTER', 150)));
      assert.ok(await until(() => hasVip(l.host('n1').ns, vip6), 15_000), 'n1 (priority 150) holds the IPv6 VIP');
      const n2 = daemon('n2', impl('n2'), config('n2', spec('BACKUP', 100)));
      const ka = hacheckNode === 'n1' ? n2 : n1;
      await new Promise((r) => setTimeout(r, 4500));
      assert.ok(hasVip(l.host('n1').ns, vip6) && !hasVip(l.host('n2').ns, vip6), 'converged: the VIP on n1 only');
      const backup = instanceStats(await n2.statsDump());
      assertNoErrors(backup, 'converged (backup)', n2.impl);
      assert.ok(backup['Advertisements/Received']! >= 3, `the backup received the master's adverts: ${JSON.stringify(backup)}`);
      assert.equal(backup['Became master'], 0, 'the backup never became master');

      await n1.signal('SIGTERM');
      assert.ok(await until(() => hasVip(l.host('n2').ns, vip6) && !hasVip(l.host('n1').ns, vip6), 10_000), 'n2 takes the IPv6 VIP after SIGTERM of n1');
      const after = instanceStats(await n2.statsDump());
      assertNoErrors(after, 'after SIGTERM', n2.impl);
      assert.ok(after['Priority Zero/Received']! >= 1, `n2 received the priority 0 advert: ${JSON.stringify(after)}`);
      assert.equal(after['Became master'], 1);
      assertKeepalivedAccepted(ka);
    });
  }

  it('VRRPv2: an auth_pass longer than 8 characters interoperates (both keep the first 8)', async function () {
    const ka = await hacheckMasterKeepalivedBackup(`${PASS}-and-more`);
    await new Promise((r) => setTimeout(r, 4500));
    await singleMaster('n1', 1500, 'converged');
    const s = instanceStats(await ka.statsDump());
    assertNoErrors(s, 'long auth_pass');
    assert.ok(s['Advertisements/Received']! >= 3, `received ${s['Advertisements/Received']}`);
    assertKeepalivedAccepted(ka);
  });

  it('sanity: keepalived counts an authentication Failure when hacheck has another auth_pass', async function () {
    const ka = await hacheckMasterKeepalivedBackup('wrongpw1');
    assert.ok(await ka.waitLog(/received an invalid passwd/, 10_000), 'keepalived logs the bad password');
    const s = instanceStats(await ka.statsDump());
    assert.ok(s['Authentication Errors/Failure']! >= 1, `Failure counted: ${JSON.stringify(s)}`);
    // A rejected advert is not counted as received (vrrp_check_packet returns before).
    assert.equal(s['Advertisements/Received'], 0, 'nothing accepted');
  });
});
