// Real-kernel test of the ipvsadm backend. Needs IPVS and root, so it runs
// inside the IPVS VM: scripts/test-kernel.sh. Named *.kernel.ts to stay out
// of the default mocha spec (dist/test/**/*.test.js).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { desiredTable, realServerId } from '../../src/ipvs/desired.js';
import type { HealthInput } from '../../src/ipvs/desired.js';
import { diffTables } from '../../src/ipvs/diff.js';
import { IpvsadmBackend, formatOp, reconcile } from '../../src/ipvs/ipvsadm.js';
import { DEFAULT_TUNNEL, serviceKeyString } from '../../src/ipvs/types.js';
import type { Op, ServiceAttrs, ServiceKey, Table, VirtualServerSpec } from '../../src/ipvs/types.js';

const ipvsadm = (...args: string[]): string => execFileSync('ipvsadm', args, { encoding: 'utf8' });

const specs: VirtualServerSpec[] = [
  {
    id: 'nat',
    target: { kind: 'ip', ip: '192.168.100.10', port: 80 },
    protocol: 'TCP',
    scheduler: 'wrr',
    lvsMethod: 'NAT',
    realServers: [
      { ip: '10.0.1.2', port: 8080 },
      { ip: '10.0.1.3', port: 8080, weight: 2, uthreshold: 100, lthreshold: 50 },
    ],
  },
  {
    id: 'dr',
    target: { kind: 'ip', ip: '192.168.100.11', port: 443 },
    protocol: 'TCP',
    scheduler: 'wlc',
    lvsMethod: 'DR',
    persistenceTimeout: 300,
    persistenceGranularity: '24',
    realServers: [{ ip: '10.0.2.2' }, { ip: '10.0.2.3', weight: 0 }],
  },
  {
    id: 'tun',
    target: { kind: 'ip', ip: '192.168.100.12', port: 53 },
    protocol: 'UDP',
    scheduler: 'sh',
    schedFlags: ['sh-port'],
    ops: true,
    lvsMethod: 'TUN',
    realServers: [{ ip: '10.0.3.2' }, { ip: '10.0.3.3', tunnel: { type: 'gue', port: 6080, csum: 'csum' } }],
  },
  {
    id: 'fwm1',
    target: { kind: 'fwmark', fwmark: 1 },
    scheduler: 'rr',
    lvsMethod: 'DR',
    realServers: [{ ip: '10.0.4.2' }, { ip: '10.0.4.3', port: 8080, lvsMethod: 'NAT' }],
  },
  {
    id: 'fwm2v6',
    target: { kind: 'fwmark', fwmark: 2 },
    scheduler: 'wlc',
    lvsMethod: 'DR',
    persistenceTimeout: 60,
    persistenceGranularity: '64',
    realServers: [{ ip: '2001:db8::10' }],
  },
  {
    id: 'v6',
    target: { kind: 'ip', ip: '2001:db8::1', port: 80 },
    protocol: 'TCP',
    scheduler: 'rr',
    realServers: [{ ip: '2001:db8::2', port: 8080 }],
  },
  {
    id: 'sctp-sorry',
    target: { kind: 'ip', ip: '192.168.100.13', port: 3868 },
    protocol: 'SCTP',
    scheduler: 'mh',
    schedFlags: ['mh-fallback'],
    sorryServer: { ip: '10.0.9.9', port: 3869 },
    realServers: [{ ip: '10.0.5.2', port: 3868 }],
  },
];

// The sorry server only shows while the SCTP service has no live real server.
const health: HealthInput = { realServers: new Map([[realServerId('sctp-sorry', { ip: '10.0.5.2', port: 3868 }), { up: false }]]) };

// What `ipvsadm -S -n` prints for the table above: services sorted by
// fwmark, family, protocol, address and port; destinations by address
// and port; no -x/-y.
const EXPECTED_SAVE = `-A -t 192.168.100.10:80 -s wrr
-a -t 192.168.100.10:80 -r 10.0.1.2:8080 -m -w 1
-a -t 192.168.100.10:80 -r 10.0.1.3:8080 -m -w 2
-A -t 192.168.100.11:443 -s wlc -p 300 -M 255.255.255.0
-a -t 192.168.100.11:443 -r 10.0.2.2:443 -g -w 1
-a -t 192.168.100.11:443 -r 10.0.2.3:443 -g -w 0
-A -u 192.168.100.12:53 -s sh -o -b sh-port
-a -u 192.168.100.12:53 -r 10.0.3.2:53 -i -w 1 --tun-type ipip
-a -u 192.168.100.12:53 -r 10.0.3.3:53 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum
-A --sctp-service 192.168.100.13:3868 -s mh -b mh-fallback
-a --sctp-service 192.168.100.13:3868 -r 10.0.9.9:3869 -m -w 1
-A -t [2001:db8::1]:80 -s rr
-a -t [2001:db8::1]:80 -r [2001:db8::2]:8080 -m -w 1
-A -f 1 -s rr
-a -f 1 -r 10.0.4.2:0 -g -w 1
-a -f 1 -r 10.0.4.3:8080 -m -w 1
-A -f 2 -6 -s wlc -p 60 -M 64
-a -f 2 -6 -r [2001:db8::10]:0 -g -w 1
`;

const timings: Record<string, number> = {};

describe('kernel: IpvsadmBackend against real IPVS', function () {
  const backend = new IpvsadmBackend({ timeoutMs: 60_000 });
  const desired = desiredTable(specs, health);

  before(function () {
    try {
      ipvsadm('-C');
    } catch (e) {
      console.log(`SKIP: no usable IPVS here (${(e as Error).message.split('\n')[0]}); run scripts/test-kernel.sh`);
      this.skip();
    }
  });

  after(() => {
    const out = process.env.HACHECK_KERNEL_OUT;
    if (out) writeFileSync(join(out, 'ipvs-backend-timings.json'), `${JSON.stringify(timings, null, 2)}\n`);
  });

  it('applies a NAT/DR/TUN/fwmark/IPv6/SCTP table from empty in one ipvsadm -R', async () => {
    const ops = diffTables(await backend.getTable(), desired);
    assert.equal(ops.length, 18);
    const t0 = performance.now();
    const r = await backend.apply(ops);
    timings['initial apply (18 ops, batch)'] = performance.now() - t0;
    assert.deepEqual(r.failed, []);
    assert.equal(r.processes, 1);
  });

  it('reads back exactly what was applied', async () => {
    assert.equal(ipvsadm('-S', '-n'), EXPECTED_SAVE);
    const t = await backend.getTable();
    assert.deepEqual(t, desired);
    assert.equal(t.get('tcp 192.168.100.10:80')!.realServers.get('10.0.1.3:8080')!.uThreshold, 100);
    assert.deepEqual(diffTables(t, desired), []);
  });

  it('changes a weight with a single -e', async () => {
    const h: HealthInput = {
      realServers: new Map([...health.realServers!, [realServerId('nat', { ip: '10.0.1.2', port: 8080 }), { up: true, weight: 7 }]]),
    };
    const want = desiredTable(specs, h);
    const { ops, result } = await reconcile(backend, want);
    assert.deepEqual(ops.map(formatOp), ['-e -t 192.168.100.10:80 -r 10.0.1.2:8080 -m -w 7']);
    assert.deepEqual(result.failed, []);
    assert.match(ipvsadm('-S', '-n'), /^-a -t 192\.168\.100\.10:80 -r 10\.0\.1\.2:8080 -m -w 7$/m);
    assert.deepEqual(await backend.getTable(), want);
    // Back to the original weight for the following tests.
    const back = await reconcile(backend, desired);
    assert.deepEqual(back.ops.map(formatOp), ['-e -t 192.168.100.10:80 -r 10.0.1.2:8080 -m -w 1']);
  });

  it('keeps applying the rest of a batch after bad lines', async () => {
    const key = (addr: string, port: number): ServiceKey => ({ kind: 'addr', family: 'inet', protocol: 'tcp', addr, port });
    const attrs = (k: ServiceKey): ServiceAttrs => ({
      key: k,
      scheduler: 'rr',
      schedFlags: 0,
      persistenceTimeout: 0,
      netmask: '255.255.255.255',
      ops: false,
      pe: '',
    });
    const server = { addr: '10.0.6.2', port: 80, forwarding: 'masq' as const, tunnel: { ...DEFAULT_TUNNEL }, weight: 1, uThreshold: 0, lThreshold: 0 };
    const ops: Op[] = [
      { kind: 'add-service', service: attrs(key('192.168.200.1', 80)) },
      // The kernel refuses this one ("Service not defined"); ipvsadm -R goes on.
      { kind: 'add-server', key: key('192.168.200.99', 80), server },
      { kind: 'add-server', key: key('192.168.200.1', 80), server },
      // ipvsadm itself refuses a port-0 service that is not persistent and stops -R.
      { kind: 'add-service', service: attrs(key('192.168.200.2', 0)) },
      { kind: 'add-service', service: attrs(key('192.168.200.3', 80)) },
      { kind: 'add-server', key: key('192.168.200.3', 80), server },
    ];
    backend.close(); // a fresh ipvsadm -R, so that the process count below is this batch's
    const r = await backend.apply(ops);
    assert.deepEqual(
      r.failed.map((f) => [f.line, f.message]),
      [
        ['-a -t 192.168.200.99:80 -r 10.0.6.2:80 -m -w 1', 'Service not defined'],
        ['-A -t 192.168.200.2:0 -s rr', 'Zero port specified for non-persistent service'],
      ],
    );
    assert.deepEqual(r.applied, [ops[0], ops[2], ops[4], ops[5]]);
    assert.equal(r.processes, 2);
    const t = await backend.getTable();
    assert.deepEqual([...t.get('tcp 192.168.200.1:80')!.realServers.keys()], ['10.0.6.2:80']);
    assert.deepEqual([...t.get('tcp 192.168.200.3:80')!.realServers.keys()], ['10.0.6.2:80']);
    assert.equal(t.has('tcp 192.168.200.2:0'), false);
    // These services are not in the desired table: foreign to a reconcile
    // unless named as managed.
    assert.deepEqual((await reconcile(backend, desired)).ops, []);
    const cleanup = await reconcile(backend, desired, ['tcp 192.168.200.1:80', 'tcp 192.168.200.3:80']);
    assert.deepEqual(cleanup.ops.map(formatOp), ['-D -t 192.168.200.1:80', '-D -t 192.168.200.3:80']);
    assert.equal(ipvsadm('-S', '-n'), EXPECTED_SAVE);
  });

  it('heals the table after `ipvsadm -C` behind its back', async () => {
    ipvsadm('-C');
    assert.equal(ipvsadm('-S', '-n'), '');
    const t0 = performance.now();
    const { ops, result } = await reconcile(backend, desired);
    timings['heal after -C (read + 18 ops)'] = performance.now() - t0;
    assert.equal(ops.length, 18);
    assert.deepEqual(result.failed, []);
    assert.equal(ipvsadm('-S', '-n'), EXPECTED_SAVE);
    assert.deepEqual((await reconcile(backend, desired)).ops, []);
  });

  it('batch apply versus one ipvsadm per entry (timing)', async () => {
    const n = 100;
    const k: ServiceKey = { kind: 'addr', family: 'inet', protocol: 'tcp', addr: '192.168.250.1', port: 80 };
    const big: Table = new Map([
      [
        serviceKeyString(k),
        {
          key: k,
          scheduler: 'rr',
          schedFlags: 0,
          persistenceTimeout: 0,
          netmask: '255.255.255.255',
          ops: false,
          pe: '',
          realServers: new Map(
            Array.from({ length: n }, (_, i) => {
              const rs = { addr: `10.1.${i >> 8}.${i & 255}`, port: 80, forwarding: 'masq' as const, tunnel: { ...DEFAULT_TUNNEL }, weight: 1, uThreshold: 0, lThreshold: 0 };
              return [`${rs.addr}:80`, rs] as const;
            }),
          ),
        },
      ],
    ]);
    const ops = diffTables(new Map(), big);
    let t0 = performance.now();
    const batch = await backend.apply(ops);
    const batchMs = performance.now() - t0;
    assert.deepEqual(batch.failed, []);
    ipvsadm('-D', '-t', '192.168.250.1:80');
    t0 = performance.now();
    const single = await backend.applyPerEntry(ops);
    const singleMs = performance.now() - t0;
    assert.deepEqual(single.failed, []);
    ipvsadm('-D', '-t', '192.168.250.1:80');
    timings[`${ops.length} ops, one ipvsadm -R`] = batchMs;
    timings[`${ops.length} ops, one ipvsadm each`] = singleMs;
    console.log(`      ${ops.length} ops: batch ${batchMs.toFixed(0)} ms (${batch.processes} process), per entry ${singleMs.toFixed(0)} ms (${single.processes} processes)`);
    assert.ok(batchMs < singleMs, 'one process should beat one per entry');
  });
});
