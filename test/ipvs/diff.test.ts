import assert from 'node:assert/strict';

import { applyOpsToTable, diffTables } from '../../src/ipvs/diff.js';
import { formatOp } from '../../src/ipvs/ipvsadm.js';
import { DEFAULT_TUNNEL, realServerKey, serviceKeyString } from '../../src/ipvs/types.js';
import type { Forwarding, Op, RealServer, ServiceKey, Table, VirtualService } from '../../src/ipvs/types.js';

function rs(addr: string, port: number, weight = 1, forwarding: Forwarding = 'masq', extra: Partial<RealServer> = {}): RealServer {
  return { addr, port, forwarding, tunnel: { ...DEFAULT_TUNNEL }, weight, uThreshold: 0, lThreshold: 0, ...extra };
}

function svc(key: ServiceKey, servers: RealServer[], extra: Partial<VirtualService> = {}): VirtualService {
  return {
    key,
    scheduler: 'rr',
    schedFlags: 0,
    persistenceTimeout: 0,
    netmask: key.family === 'inet6' ? '128' : '255.255.255.255',
    ops: false,
    pe: '',
    realServers: new Map(servers.map((r) => [realServerKey(r), r])),
    ...extra,
  };
}

function table(...services: VirtualService[]): Table {
  return new Map(services.map((s) => [serviceKeyString(s.key), s]));
}

/** Deep copy, so that a test can change one table without touching the other. */
function clone(t: Table): Table {
  const out: Table = new Map();
  for (const [k, v] of t) {
    out.set(k, { ...v, key: { ...v.key }, realServers: new Map([...v.realServers].map(([rk, r]) => [rk, { ...r, tunnel: { ...r.tunnel } }])) });
  }
  return out;
}

const web: ServiceKey = { kind: 'addr', family: 'inet', protocol: 'tcp', addr: '10.0.0.1', port: 80 };
const dns: ServiceKey = { kind: 'addr', family: 'inet', protocol: 'udp', addr: '10.0.0.2', port: 53 };
const fw1: ServiceKey = { kind: 'fwmark', family: 'inet', fwmark: 1 };

function base(): Table {
  return table(
    svc(web, [rs('10.0.1.2', 80), rs('10.0.1.3', 80, 2)]),
    svc(dns, [rs('10.0.1.5', 53)], { scheduler: 'sh', ops: true }),
    svc(fw1, [rs('10.0.1.6', 0, 1, 'gatewaying'), rs('10.0.1.7', 8080)]),
  );
}

const lines = (ops: Op[]): string[] => ops.map(formatOp);

describe('ipvs/diff diffTables', () => {
  it('yields nothing for identical tables (adoption keeps kernel entries)', () => {
    assert.deepEqual(diffTables(base(), base()), []);
    assert.deepEqual(diffTables(base(), base(), 'all'), []);
  });

  it('adds every service before its servers when starting from empty', () => {
    assert.deepEqual(lines(diffTables(new Map(), base())), [
      '-A -t 10.0.0.1:80 -s rr',
      '-A -u 10.0.0.2:53 -s sh -o',
      '-A -f 1 -s rr',
      '-a -t 10.0.0.1:80 -r 10.0.1.2:80 -m -w 1',
      '-a -t 10.0.0.1:80 -r 10.0.1.3:80 -m -w 2',
      '-a -u 10.0.0.2:53 -r 10.0.1.5:53 -m -w 1',
      '-a -f 1 -r 10.0.1.6:0 -g -w 1',
      '-a -f 1 -r 10.0.1.7:8080 -m -w 1',
    ]);
  });

  it('edits a server in place when weight, thresholds or forwarding change', () => {
    const want = clone(base());
    want.get('tcp 10.0.0.1:80')!.realServers.get('10.0.1.3:80')!.weight = 0;
    want.get('tcp 10.0.0.1:80')!.realServers.get('10.0.1.2:80')!.uThreshold = 100;
    // On a fwmark service a DR destination has port 0, so switching it to NAT keeps the key.
    want.get('fwmark 1 inet')!.realServers.get('10.0.1.6:0')!.forwarding = 'masq';
    assert.deepEqual(lines(diffTables(base(), want)), [
      '-e -t 10.0.0.1:80 -r 10.0.1.2:80 -m -w 1 -x 100',
      '-e -t 10.0.0.1:80 -r 10.0.1.3:80 -m -w 0',
      '-e -f 1 -r 10.0.1.6:0 -m -w 1',
    ]);
  });

  it('edits a server when only its tunnel parameters change', () => {
    const cur = table(svc(web, [rs('10.0.1.2', 80, 1, 'ipip')]));
    const want = clone(cur);
    want.get('tcp 10.0.0.1:80')!.realServers.get('10.0.1.2:80')!.tunnel = { type: 'gue', port: 6080, csum: 'csum' };
    assert.deepEqual(lines(diffTables(cur, want)), [
      '-e -t 10.0.0.1:80 -r 10.0.1.2:80 -i --tun-type gue --tun-port 6080 --tun-csum -w 1',
    ]);
  });

  it('replaces a server whose port changes (the port is part of its key)', () => {
    const want = clone(base());
    const fw = want.get('fwmark 1 inet')!;
    fw.realServers.delete('10.0.1.7:8080');
    fw.realServers.set('10.0.1.7:8081', rs('10.0.1.7', 8081));
    assert.deepEqual(lines(diffTables(base(), want)), ['-d -f 1 -r 10.0.1.7:8080', '-a -f 1 -r 10.0.1.7:8081 -m -w 1']);
  });

  it('edits a service in place when scheduler, persistence or flags change', () => {
    const want = clone(base());
    Object.assign(want.get('tcp 10.0.0.1:80')!, { scheduler: 'wlc', persistenceTimeout: 300, netmask: '255.255.255.0' });
    want.get('udp 10.0.0.2:53')!.ops = false;
    assert.deepEqual(lines(diffTables(base(), want)), [
      '-E -t 10.0.0.1:80 -s wlc -p 300 -M 255.255.255.0',
      '-E -u 10.0.0.2:53 -s sh',
    ]);
  });

  it('ignores the netmask of a service that is not persistent', () => {
    const want = clone(base());
    want.get('tcp 10.0.0.1:80')!.netmask = '255.255.0.0';
    assert.deepEqual(diffTables(base(), want), []);
  });

  it('leaves foreign services alone unless they are managed', () => {
    const foreign = svc({ kind: 'addr', family: 'inet', protocol: 'tcp', addr: '192.0.2.1', port: 22 }, [rs('192.0.2.2', 22)]);
    const cur = clone(base());
    cur.set(serviceKeyString(foreign.key), foreign);
    cur.delete('udp 10.0.0.2:53');
    const want = clone(base());
    want.delete('udp 10.0.0.2:53');
    assert.deepEqual(diffTables(cur, want), []);
    assert.deepEqual(diffTables(cur, want, ['udp 10.0.0.2:53']), []);
    assert.deepEqual(lines(diffTables(cur, want, ['tcp 192.0.2.1:22'])), ['-D -t 192.0.2.1:22']);
    assert.deepEqual(lines(diffTables(cur, want, 'all')), ['-D -t 192.0.2.1:22']);
  });

  it('deletes stray servers inside a managed service', () => {
    const cur = clone(base());
    cur.get('tcp 10.0.0.1:80')!.realServers.set('10.0.1.99:80', rs('10.0.1.99', 80));
    assert.deepEqual(lines(diffTables(cur, base())), ['-d -t 10.0.0.1:80 -r 10.0.1.99:80']);
  });

  it('removes before adding, and deletes a service without deleting its servers one by one', () => {
    const cur = base();
    const want = clone(base());
    want.delete('fwmark 1 inet');
    const w = want.get('tcp 10.0.0.1:80')!;
    w.realServers.delete('10.0.1.2:80');
    w.realServers.set('10.0.9.9:80', rs('10.0.9.9', 80));
    const ipv6: ServiceKey = { kind: 'fwmark', family: 'inet6', fwmark: 1 };
    want.set(serviceKeyString(ipv6), svc(ipv6, [rs('2001:db8::10', 0, 1, 'gatewaying')]));
    assert.deepEqual(lines(diffTables(cur, want, 'all')), [
      '-d -t 10.0.0.1:80 -r 10.0.1.2:80',
      '-D -f 1',
      '-A -f 1 -6 -s rr',
      '-a -t 10.0.0.1:80 -r 10.0.9.9:80 -m -w 1',
      '-a -f 1 -6 -r [2001:db8::10]:0 -g -w 1',
    ]);
  });

  it('converges: applying the diff gives the desired table, and a second diff is empty', () => {
    // Deterministic pseudo-random tables (LCG), so that a failure can be replayed.
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const randomTable = (): Table => {
      const t: Table = new Map();
      for (let s = 0; s < 6; s++) {
        if (rand(3) === 0) continue;
        const key: ServiceKey = s % 3 === 2
          ? { kind: 'fwmark', family: 'inet', fwmark: s }
          : { kind: 'addr', family: 'inet', protocol: s % 2 ? 'udp' : 'tcp', addr: `10.0.0.${s}`, port: 80 };
        const servers: RealServer[] = [];
        for (let r = 0; r < 5; r++) {
          if (rand(2) === 0) continue;
          const fwd: Forwarding = (['masq', 'gatewaying', 'ipip'] as const)[rand(3)]!;
          servers.push(rs(`10.0.1.${r}`, 80 + rand(2), rand(4), fwd, { uThreshold: rand(2) * 10 }));
        }
        const v = svc(key, servers, { scheduler: ['rr', 'wlc'][rand(2)]!, persistenceTimeout: rand(2) * 300 });
        t.set(serviceKeyString(key), v);
      }
      return t;
    };
    for (let i = 0; i < 200; i++) {
      const cur = randomTable();
      const want = randomTable();
      const ops = diffTables(cur, want, 'all');
      const after = applyOpsToTable(cur, ops);
      assert.deepEqual(after, want, `round ${i}`);
      assert.deepEqual(diffTables(after, want, 'all'), [], `round ${i} second diff`);
      // Every add-server follows the add-service of its service.
      const added = new Set<string>();
      for (const op of ops) {
        if (op.kind === 'add-service') added.add(serviceKeyString(op.service.key));
        if (op.kind === 'add-server' && !cur.has(serviceKeyString(op.key))) {
          assert.ok(added.has(serviceKeyString(op.key)), `round ${i}: server before service`);
        }
      }
    }
  });
});
