import assert from 'node:assert/strict';

import {
  desiredTable,
  effectiveQuorum,
  liveWeightSum,
  realServerId,
  realWeight,
  stepQuorum,
} from '../../src/ipvs/desired.js';
import type { HealthInput, RealServerHealth } from '../../src/ipvs/desired.js';
import { SCHED_FLAG_1, SCHED_FLAG_2, SCHED_FLAG_3 } from '../../src/ipvs/types.js';
import type { RealServer, Table, VirtualServerSpec, VirtualService } from '../../src/ipvs/types.js';

function vs(over: Partial<VirtualServerSpec> = {}): VirtualServerSpec {
  return {
    id: '10.0.0.1:80',
    target: { kind: 'ip', ip: '10.0.0.1', port: 80 },
    protocol: 'TCP',
    scheduler: 'rr',
    lvsMethod: 'NAT',
    realServers: [
      { ip: '10.0.1.2', port: 8080 },
      { ip: '10.0.1.3', port: 8080, weight: 3 },
    ],
    ...over,
  };
}

function health(spec: VirtualServerSpec, states: Record<string, RealServerHealth>, quorum?: boolean): HealthInput {
  const realServers = new Map<string, RealServerHealth>();
  for (const rs of spec.realServers) {
    const s = states[rs.ip];
    if (s) realServers.set(realServerId(spec.id, rs), s);
  }
  return { realServers, quorum: quorum === undefined ? undefined : new Map([[spec.id, quorum]]) };
}

function only(table: Table): VirtualService {
  assert.equal(table.size, 1, `expected one service, got ${[...table.keys()].join(', ')}`);
  return [...table.values()][0]!;
}

/** "addr:port fwd weight" per destination, sorted, for compact assertions. */
function dests(v: VirtualService): string[] {
  return [...v.realServers.values()].map((r: RealServer) => `${r.addr}:${r.port} ${r.forwarding} ${r.weight}`).sort();
}

describe('ipvs/desired desiredTable', () => {
  it('builds a NAT service with live real servers and their weights', () => {
    const v = only(desiredTable([vs()]));
    assert.deepEqual(v.key, { kind: 'addr', family: 'inet', protocol: 'tcp', addr: '10.0.0.1', port: 80 });
    assert.equal(v.scheduler, 'rr');
    assert.equal(v.persistenceTimeout, 0);
    assert.equal(v.netmask, '255.255.255.255');
    assert.deepEqual(dests(v), ['10.0.1.2:8080 masq 1', '10.0.1.3:8080 masq 3']);
    const rs = v.realServers.get('10.0.1.3:8080')!;
    assert.deepEqual(rs.tunnel, { type: 'ipip', port: 0, csum: 'nocsum' });
    assert.equal(rs.uThreshold, 0);
  });

  it('applies keepalived defaults: UDP, wlc, NAT, VS port for NAT real servers, VS weight', () => {
    const spec: VirtualServerSpec = {
      id: 'x',
      target: { kind: 'ip', ip: '10.0.0.9', port: 53 },
      weight: 4,
      realServers: [{ ip: '10.0.1.2' }, { ip: '10.0.1.3', port: 0, weight: 2 }],
    };
    const v = only(desiredTable([spec]));
    assert.equal(v.key.kind === 'addr' && v.key.protocol, 'udp');
    assert.equal(v.scheduler, 'wlc');
    assert.deepEqual(dests(v), ['10.0.1.2:53 masq 4', '10.0.1.3:53 masq 2']);
  });

  it('forces DR/TUN ports to the service port, and to 0 on fwmark services', () => {
    const spec = vs({
      lvsMethod: 'DR',
      realServers: [
        { ip: '10.0.1.2', port: 8080 },
        { ip: '10.0.1.3', lvsMethod: 'TUN', tunnel: { type: 'gue', port: 6080, csum: 'csum' } },
        { ip: '10.0.1.4', port: 8443, lvsMethod: 'NAT' },
      ],
    });
    const v = only(desiredTable([spec]));
    assert.deepEqual(dests(v), ['10.0.1.2:80 gatewaying 1', '10.0.1.3:80 ipip 1', '10.0.1.4:8443 masq 1']);
    assert.deepEqual(v.realServers.get('10.0.1.3:80')!.tunnel, { type: 'gue', port: 6080, csum: 'csum' });

    const fw = only(desiredTable([{ ...spec, id: 'FWM 7', target: { kind: 'fwmark', fwmark: 7 } }]));
    assert.deepEqual(fw.key, { kind: 'fwmark', fwmark: 7, family: 'inet' });
    assert.deepEqual(dests(fw), ['10.0.1.2:0 gatewaying 1', '10.0.1.3:0 ipip 1', '10.0.1.4:8443 masq 1']);
  });

  it('derives the family of a fwmark service from its real servers or ip_family', () => {
    const six = vs({ id: 'FWM 2', target: { kind: 'fwmark', fwmark: 2 }, lvsMethod: 'DR', realServers: [{ ip: '2001:DB8:0::10' }] });
    const v = only(desiredTable([six]));
    assert.deepEqual(v.key, { kind: 'fwmark', fwmark: 2, family: 'inet6' });
    assert.equal(v.netmask, '128');
    assert.deepEqual(dests(v), ['2001:db8::10:0 gatewaying 1']);
    const forced = only(desiredTable([{ ...six, family: 'inet' as const, lvsMethod: 'TUN' as const }]));
    assert.deepEqual(forced.key, { kind: 'fwmark', fwmark: 2, family: 'inet' });
  });

  it('removes a down real server, or keeps it at weight 0 with inhibit_on_failure', () => {
    const spec = vs();
    const h = health(spec, { '10.0.1.2': { up: false }, '10.0.1.3': { up: true } });
    assert.deepEqual(dests(only(desiredTable([spec], h))), ['10.0.1.3:8080 masq 3']);

    const inhibited = vs({ inhibitOnFailure: true });
    assert.deepEqual(dests(only(desiredTable([inhibited], health(inhibited, { '10.0.1.2': { up: false } })))), [
      '10.0.1.2:8080 masq 0',
      '10.0.1.3:8080 masq 3',
    ]);

    // A per-real-server override beats the virtual_server default.
    const mixed = vs({
      inhibitOnFailure: true,
      realServers: [
        { ip: '10.0.1.2', port: 8080, inhibitOnFailure: false },
        { ip: '10.0.1.3', port: 8080 },
      ],
    });
    const hm = health(mixed, { '10.0.1.2': { up: false }, '10.0.1.3': { up: false } });
    // Both down: quorum is lost but there is no sorry server, so nothing else changes.
    assert.deepEqual(dests(only(desiredTable([mixed], hm))), ['10.0.1.3:8080 masq 0']);
  });

  it('with alpha, leaves unchecked real servers out until their first success', () => {
    const spec = vs({ alpha: true });
    assert.deepEqual(dests(only(desiredTable([spec]))), []);
    const h = health(spec, { '10.0.1.3': { up: true } });
    assert.deepEqual(dests(only(desiredTable([spec], h))), ['10.0.1.3:8080 masq 3']);
    // Per-real-server alpha override.
    const partial = vs({ realServers: [{ ip: '10.0.1.2', port: 8080, alpha: true }, { ip: '10.0.1.3', port: 8080 }] });
    assert.deepEqual(dests(only(desiredTable([partial]))), ['10.0.1.3:8080 masq 1']);
  });

  it('uses the dynamic weight from health, clamped like real_weight()', () => {
    const spec = vs();
    const h = health(spec, { '10.0.1.2': { up: true, weight: 17 }, '10.0.1.3': { up: true, weight: -5 } });
    assert.deepEqual(dests(only(desiredTable([spec], h))), ['10.0.1.2:8080 masq 17', '10.0.1.3:8080 masq 0']);
    assert.equal(realWeight(2 ** 40), 2147483647);
    assert.equal(realWeight(Number.NaN), 0);
    assert.equal(liveWeightSum(spec, h), 17);
  });

  it('swaps all real servers for the sorry server when the quorum is lost', () => {
    const spec = vs({ quorum: 3, sorryServer: { ip: '10.0.9.9' } });
    // Only the weight-1 server is alive: 1 < 3 → quorum down at start.
    const h = health(spec, { '10.0.1.2': { up: true }, '10.0.1.3': { up: false } });
    assert.deepEqual(dests(only(desiredTable([spec], h))), ['10.0.9.9:80 masq 1']);
    // The weight-3 server alone satisfies the quorum: no sorry server.
    const h2 = health(spec, { '10.0.1.2': { up: false }, '10.0.1.3': { up: true } });
    assert.deepEqual(dests(only(desiredTable([spec], h2))), ['10.0.1.3:8080 masq 3']);
  });

  it('adds the sorry server when no real server is alive (default quorum 1)', () => {
    const spec = vs({ sorryServer: { ip: '10.0.9.9', port: 8081, lvsMethod: 'NAT' } });
    const h = health(spec, { '10.0.1.2': { up: false }, '10.0.1.3': { up: false } });
    assert.deepEqual(dests(only(desiredTable([spec], h))), ['10.0.9.9:8081 masq 1']);
  });

  it('keeps inhibited real servers at weight 0 beside the active sorry server', () => {
    const spec = vs({ inhibitOnFailure: true, quorum: 4, sorryServer: { ip: '10.0.9.9', lvsMethod: 'DR' } });
    const h = health(spec, { '10.0.1.2': { up: true }, '10.0.1.3': { up: false } });
    assert.deepEqual(dests(only(desiredTable([spec], h))), [
      '10.0.1.2:8080 masq 0',
      '10.0.1.3:8080 masq 0',
      '10.0.9.9:80 gatewaying 1',
    ]);
  });

  it('with sorry_server_inhibit, keeps the unused sorry server at weight 0', () => {
    const spec = vs({ sorryServer: { ip: '10.0.9.9', inhibit: true } });
    assert.deepEqual(dests(only(desiredTable([spec]))), ['10.0.1.2:8080 masq 1', '10.0.1.3:8080 masq 3', '10.0.9.9:80 masq 0']);
  });

  it('follows the quorum state given in health (hysteresis band)', () => {
    const spec = vs({ quorum: 3, hysteresis: 1, sorryServer: { ip: '10.0.9.9' } });
    const h = health(spec, { '10.0.1.2': { up: true }, '10.0.1.3': { up: true, weight: 2 } }, false);
    // Sum 3 is inside [quorum-hysteresis, quorum+hysteresis): a down quorum stays down.
    assert.deepEqual(dests(only(desiredTable([spec], h))), ['10.0.9.9:80 masq 1']);
    h.quorum = new Map([[spec.id, true]]);
    assert.deepEqual(dests(only(desiredTable([spec], h))), ['10.0.1.2:8080 masq 1', '10.0.1.3:8080 masq 2']);
  });

  it('expands a virtual_server_group: address ranges, IPv6 ranges and fwmarks', () => {
    const spec: VirtualServerSpec = {
      id: '[web]:0',
      protocol: 'TCP',
      lvsMethod: 'DR',
      target: {
        kind: 'group',
        name: 'web',
        entries: [
          { kind: 'range', ip: '10.0.0.1', rangeEnd: 3, port: 80 },
          { kind: 'fwmark', fwmark: 5 },
          { kind: 'range', ip: '10.0.0.10', port: 443 },
        ],
      },
      realServers: [{ ip: '10.0.1.2' }],
    };
    const t = desiredTable([spec]);
    assert.deepEqual([...t.keys()], ['tcp 10.0.0.1:80', 'tcp 10.0.0.2:80', 'tcp 10.0.0.3:80', 'tcp 10.0.0.10:443', 'fwmark 5 inet']);
    assert.deepEqual(dests(t.get('tcp 10.0.0.10:443')!), ['10.0.1.2:443 gatewaying 1']);
    assert.deepEqual(dests(t.get('fwmark 5 inet')!), ['10.0.1.2:0 gatewaying 1']);

    const six: VirtualServerSpec = {
      ...spec,
      target: { kind: 'group', name: 'six', entries: [{ kind: 'range', ip: '2001:db8::fe', rangeEnd: 0x101, port: 80 }, { kind: 'fwmark', fwmark: 6, family: 'inet6' }] },
      realServers: [{ ip: '2001:db8::2' }],
    };
    assert.deepEqual([...desiredTable([six]).keys()], [
      'tcp [2001:db8::fe]:80',
      'tcp [2001:db8::ff]:80',
      'tcp [2001:db8::100]:80',
      'tcp [2001:db8::101]:80',
      'fwmark 6 inet6',
    ]);
  });

  it('skips real servers of the wrong family unless tunnelled', () => {
    const warnings: string[] = [];
    const spec = vs({ lvsMethod: 'DR', realServers: [{ ip: '2001:db8::2' }, { ip: '2001:db8::3', lvsMethod: 'TUN' }, { ip: '10.0.1.2' }] });
    const v = only(desiredTable([spec], {}, warnings));
    assert.deepEqual(dests(v), ['10.0.1.2:80 gatewaying 1', '2001:db8::3:80 ipip 1']);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /2001:db8::2/);
  });

  it('maps persistence_timeout, persistence_granularity and persistence_engine', () => {
    const p = only(desiredTable([vs({ persistenceTimeout: 600, persistenceGranularity: '255.255.255.0', persistenceEngine: 'sip' })]));
    assert.equal(p.persistenceTimeout, 600);
    assert.equal(p.netmask, '255.255.255.0');
    assert.equal(p.pe, 'sip');
    // A granularity alone makes the service persistent with 360 s; a prefix length is converted.
    const g = only(desiredTable([vs({ persistenceGranularity: '24' })]));
    assert.equal(g.persistenceTimeout, 360);
    assert.equal(g.netmask, '255.255.255.0');
    // Port 0 is only valid when persistent.
    const z = only(desiredTable([vs({ target: { kind: 'ip', ip: '10.0.0.1', port: 0 } })]));
    assert.equal(z.persistenceTimeout, 360);
    // No persistence: no netmask, no engine.
    const n = only(desiredTable([vs({ persistenceEngine: 'sip' })]));
    assert.equal(n.pe, '');
    const six = only(desiredTable([vs({ target: { kind: 'ip', ip: '2001:db8::1', port: 80 }, realServers: [{ ip: '2001:db8::2' }], persistenceTimeout: 60, persistenceGranularity: '64' })]));
    assert.equal(six.netmask, '64');
  });

  it('maps scheduler flags per scheduler and ops only for UDP or fwmark', () => {
    const warnings: string[] = [];
    const sh = only(desiredTable([vs({ scheduler: 'sh', schedFlags: ['sh-port', 'sh-fallback', 'flag-3'], protocol: 'UDP', ops: true })]));
    assert.equal(sh.schedFlags, SCHED_FLAG_1 | SCHED_FLAG_2 | SCHED_FLAG_3);
    assert.equal(sh.ops, true);
    const rr = only(desiredTable([vs({ scheduler: 'rr', schedFlags: ['sh-port', 'flag-1'], ops: true })], {}, warnings));
    assert.equal(rr.schedFlags, SCHED_FLAG_1);
    assert.equal(rr.ops, false, 'ops is cleared on TCP');
    assert.equal(warnings.length, 1);
    const mh = only(desiredTable([vs({ scheduler: 'mh', schedFlags: ['mh-port'] })]));
    assert.equal(mh.schedFlags, SCHED_FLAG_2);
    const fw = only(desiredTable([vs({ target: { kind: 'fwmark', fwmark: 1 }, ops: true })]));
    assert.equal(fw.ops, true);
  });

  it('keeps the first of two virtual servers producing the same IPVS service', () => {
    const warnings: string[] = [];
    const t = desiredTable([vs({ scheduler: 'rr' }), vs({ id: 'dup', scheduler: 'wrr' })], {}, warnings);
    assert.equal(only(t).scheduler, 'rr');
    assert.match(warnings[0]!, /dup.*already defined/);
  });

  it('ignores a duplicated real server, keeping the first', () => {
    const warnings: string[] = [];
    const spec = vs({ realServers: [{ ip: '10.0.1.2', port: 8080, weight: 2 }, { ip: '10.0.1.2', port: 8080, weight: 9 }] });
    assert.deepEqual(dests(only(desiredTable([spec], {}, warnings))), ['10.0.1.2:8080 masq 2']);
    assert.match(warnings[0]!, /10\.0\.1\.2:8080 duplicated/);
  });

  it('keys health by virtual server id and real server ip:port', () => {
    assert.equal(realServerId('10.0.0.1:80', { ip: '2001:DB8::0:1', port: 80 }), '10.0.0.1:80 [2001:db8::1]:80');
    assert.equal(realServerId('FWM 1', { ip: '10.0.1.2' }), 'FWM 1 10.0.1.2:0');
  });
});

describe('ipvs/desired stepQuorum', () => {
  const spec = vs({ quorum: 3, hysteresis: 1, realServers: [{ ip: '10.0.1.2', weight: 5 }] });

  it('starts up only at quorum + hysteresis', () => {
    assert.deepEqual(stepQuorum(undefined, 3, spec), { up: false, transition: 'init' });
    assert.deepEqual(stepQuorum(undefined, 4, spec), { up: true, transition: 'init' });
  });

  it('is gained at quorum + hysteresis and lost below quorum - hysteresis', () => {
    assert.deepEqual(stepQuorum(false, 3, spec), { up: false, transition: null });
    assert.deepEqual(stepQuorum(false, 4, spec), { up: true, transition: 'gained' });
    assert.deepEqual(stepQuorum(true, 2, spec), { up: true, transition: null });
    assert.deepEqual(stepQuorum(true, 1, spec), { up: false, transition: 'lost' });
  });

  it('clamps hysteresis to quorum - 1', () => {
    const loose = vs({ quorum: 2, hysteresis: 5, realServers: [{ ip: '10.0.1.2', weight: 5 }] });
    assert.deepEqual(effectiveQuorum(loose), { quorum: 2, hysteresis: 1 });
    assert.deepEqual(stepQuorum(true, 1, loose), { up: true, transition: null });
    assert.deepEqual(stepQuorum(true, 0, loose), { up: false, transition: 'lost' });
  });

  it('is down when no live weight remains, even with a quorum of 0', () => {
    // All real servers configured with weight 0: the quorum is lowered to 0,
    // so only the "no live weight" rule can take it down.
    const zero = vs({ realServers: [{ ip: '10.0.1.2', weight: 0 }] });
    assert.deepEqual(effectiveQuorum(zero), { quorum: 0, hysteresis: 0 });
    assert.deepEqual(stepQuorum(undefined, 0, zero), { up: false, transition: 'init' });
    assert.deepEqual(stepQuorum(true, 0, zero), { up: false, transition: 'lost' });
    assert.deepEqual(stepQuorum(false, 0, zero), { up: false, transition: null });
  });

  it('lowers a quorum above the total configured weight', () => {
    const high = vs({ quorum: 100, realServers: [{ ip: '10.0.1.2', weight: 2 }, { ip: '10.0.1.3' }] });
    assert.deepEqual(effectiveQuorum(high), { quorum: 3, hysteresis: 0 });
    assert.deepEqual(stepQuorum(undefined, 3, high), { up: true, transition: 'init' });
  });

  it('drives desiredTable through a loss and a recovery', () => {
    const s = vs({ quorum: 2, sorryServer: { ip: '10.0.9.9' } });
    let q = stepQuorum(undefined, 4, s);
    const down = health(s, { '10.0.1.2': { up: true }, '10.0.1.3': { up: false } });
    q = stepQuorum(q.up, liveWeightSum(s, down), s);
    assert.deepEqual(q, { up: false, transition: 'lost' });
    down.quorum = new Map([[s.id, q.up]]);
    assert.deepEqual(dests(only(desiredTable([s], down))), ['10.0.9.9:80 masq 1']);
    const up = health(s, { '10.0.1.2': { up: true }, '10.0.1.3': { up: true } });
    q = stepQuorum(q.up, liveWeightSum(s, up), s);
    assert.deepEqual(q, { up: true, transition: 'gained' });
    up.quorum = new Map([[s.id, q.up]]);
    assert.deepEqual(dests(only(desiredTable([s], up))), ['10.0.1.2:8080 masq 1', '10.0.1.3:8080 masq 3']);
  });
});
