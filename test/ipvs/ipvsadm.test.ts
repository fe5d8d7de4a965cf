import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../support/paths.js';

import sinon from 'sinon';

import {
  IpvsadmBackend,
  IpvsadmError,
  IpvsadmParseError,
  formatOp,
  formatOpArgs,
  formatTable,
  mergeThresholds,
  parseIpvsadmSave,
  parseIpvsadmThresholds,
  reconcile,
} from '../../src/ipvs/ipvsadm.js';
import type { IpvsBackend } from '../../src/ipvs/ipvsadm.js';
import { DEFAULT_TUNNEL, SCHED_FLAG_1, SCHED_FLAG_2, SCHED_FLAG_3 } from '../../src/ipvs/types.js';
import type { Op, RealServer, ServiceAttrs, ServiceKey, Table } from '../../src/ipvs/types.js';

// Output of `ipvsadm -S -n` (ipvsadm v1.31, Linux 6.1) captured in the IPVS
// VM after creating these entries with ipvsadm; it covers NAT/DR/TUN
// destinations, GUE/GRE tunnels, -p with and without -M, --pe, -o, -b
// flags as printed for sh/mh/other schedulers, SCTP, IPv6 and fwmarks.
const SAVE_V131 = `-A -t 10.0.0.1:80 -s rr -p 300
-a -t 10.0.0.1:80 -r 10.0.1.2:80 -m -w 1
-a -t 10.0.0.1:80 -r 10.0.1.3:8080 -m -w 5
-A -t 10.0.0.2:443 -s wrr -p 600 -M 255.255.255.0
-a -t 10.0.0.2:443 -r 10.0.1.2:443 -g -w 0
-a -t 10.0.0.2:443 -r 10.0.1.4:443 -i -w 3 --tun-type ipip
-a -t 10.0.0.2:443 -r 10.0.1.9:443 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum
-a -t 10.0.0.2:443 -r 10.0.1.10:443 -i -w 1 --tun-type gre --tun-nocsum
-A -t 10.0.0.5:0 -s rr -p 360
-A -t 10.0.0.6:80 -s rr -p 100 --pe sip
-A -t 10.0.0.8:80 -s fo
-A -t 10.0.0.9:80 -s dh -b flag-3
-A -u 10.0.0.3:53 -s sh -o -b sh-fallback,sh-port
-a -u 10.0.0.3:53 -r 10.0.1.5:53 -m -w 1
-A -u 10.0.0.7:5060 -s rr -p 100 --pe sip
-A -u 10.0.0.10:80 -s sh -o -b sh-fallback
-A --sctp-service 10.0.0.4:3868 -s mh -b mh-port
-A -t [2001:db8::1]:80 -s rr -b flag-1,flag-2,flag-3
-a -t [2001:db8::1]:80 -r [2001:db8::2]:80 -m -w 2
-A -f 1 -s lc
-a -f 1 -r 10.0.1.6:0 -g -w 1
-a -f 1 -r 10.0.1.7:8080 -m -w 1
-A -f 2 -6 -s wlc -p 60 -M 64
-a -f 2 -6 -r [2001:db8::10]:0 -g -w 1
`;

// `ipvsadm -L -n --thresholds` for part of the same table (same VM).
const THRESHOLDS_V131 = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn 
  -> RemoteAddress:Port
TCP  10.0.0.1:80 rr persistent 300
  -> 10.0.1.2:80                  0          0          0          0         
  -> 10.0.1.3:8080                100        50         0          0         
UDP  10.0.0.3:53 sh (sh-fallback,sh-port) ops
  -> 10.0.1.5:53                  7          0          0          0         
TCP  [2001:db8::1]:80 rr (flag-1,flag-2,flag-3)
  -> [2001:db8::2]:80             0          3          0          0         
FWM  2 IPv6 wlc persistent 60 mask 64
  -> [2001:db8::10]:0             9          8          0          0         
`;

function rs(addr: string, port: number, extra: Partial<RealServer> = {}): RealServer {
  return { addr, port, forwarding: 'masq', tunnel: { ...DEFAULT_TUNNEL }, weight: 1, uThreshold: 0, lThreshold: 0, ...extra };
}

const web: ServiceKey = { kind: 'addr', family: 'inet', protocol: 'tcp', addr: '10.0.0.1', port: 80 };
const webAttrs: ServiceAttrs = { key: web, scheduler: 'rr', schedFlags: 0, persistenceTimeout: 0, netmask: '255.255.255.255', ops: false, pe: '' };

describe('ipvs/ipvsadm parseIpvsadmSave', () => {
  const t = parseIpvsadmSave(SAVE_V131);

  it('reads every service and destination', () => {
    assert.equal(t.size, 13);
    const n = [...t.values()].reduce((s, v) => s + v.realServers.size, 0);
    assert.equal(n, 11);
  });

  it('reads persistence, netmask and persistence engine', () => {
    const a = t.get('tcp 10.0.0.2:443')!;
    assert.equal(a.scheduler, 'wrr');
    assert.equal(a.persistenceTimeout, 600);
    assert.equal(a.netmask, '255.255.255.0');
    assert.equal(t.get('tcp 10.0.0.1:80')!.netmask, '255.255.255.255');
    assert.equal(t.get('tcp 10.0.0.5:0')!.persistenceTimeout, 360);
    assert.equal(t.get('udp 10.0.0.7:5060')!.pe, 'sip');
    assert.equal(t.get('tcp 10.0.0.8:80')!.persistenceTimeout, 0);
  });

  it('reads forwarding methods, weights and tunnel parameters', () => {
    const d = t.get('tcp 10.0.0.2:443')!.realServers;
    assert.deepEqual(d.get('10.0.1.2:443'), rs('10.0.1.2', 443, { forwarding: 'gatewaying', weight: 0 }));
    assert.deepEqual(d.get('10.0.1.4:443')!.tunnel, { type: 'ipip', port: 0, csum: 'nocsum' });
    assert.deepEqual(d.get('10.0.1.9:443')!.tunnel, { type: 'gue', port: 6080, csum: 'csum' });
    assert.deepEqual(d.get('10.0.1.10:443')!.tunnel, { type: 'gre', port: 0, csum: 'nocsum' });
    assert.deepEqual(t.get('tcp 10.0.0.1:80')!.realServers.get('10.0.1.3:8080'), rs('10.0.1.3', 8080, { weight: 5 }));
  });

  it('reads scheduler flags under their per-scheduler names, and ops', () => {
    const sh = t.get('udp 10.0.0.3:53')!;
    assert.equal(sh.schedFlags, SCHED_FLAG_1 | SCHED_FLAG_2);
    assert.equal(sh.ops, true);
    assert.equal(t.get('udp 10.0.0.10:80')!.schedFlags, SCHED_FLAG_1);
    assert.equal(t.get('sctp 10.0.0.4:3868')!.schedFlags, SCHED_FLAG_2);
    assert.equal(t.get('tcp 10.0.0.9:80')!.schedFlags, SCHED_FLAG_3);
    assert.equal(t.get('tcp [2001:db8::1]:80')!.schedFlags, SCHED_FLAG_1 | SCHED_FLAG_2 | SCHED_FLAG_3);
  });

  it('reads IPv6 and fwmark services', () => {
    const v6 = t.get('tcp [2001:db8::1]:80')!;
    assert.deepEqual(v6.key, { kind: 'addr', family: 'inet6', protocol: 'tcp', addr: '2001:db8::1', port: 80 });
    assert.deepEqual(v6.realServers.get('[2001:db8::2]:80'), rs('2001:db8::2', 80, { weight: 2 }));
    const f1 = t.get('fwmark 1 inet')!;
    assert.deepEqual([...f1.realServers.keys()], ['10.0.1.6:0', '10.0.1.7:8080']);
    const f2 = t.get('fwmark 2 inet6')!;
    assert.deepEqual(f2.key, { kind: 'fwmark', family: 'inet6', fwmark: 2 });
    assert.equal(f2.netmask, '64');
    assert.equal(f2.persistenceTimeout, 60);
  });

  it('accepts -x/-y, long options, a leading "ipvsadm", comments and the ipvsadm 1.26 "ops"/"pe" words', () => {
    const t2 = parseIpvsadmSave(
      [
        '# saved',
        'ipvsadm --add-service --udp-service 10.0.0.3:53 --scheduler sh ops pe sip --persistent',
        '-a -u 10.0.0.3:53 -r 10.0.1.5 --masquerading --weight 4 -x 10 -y 5',
        '-a -u 10.0.0.3:53 -r 10.0.1.6:99',
        '',
      ].join('\n'),
    );
    const v = t2.get('udp 10.0.0.3:53')!;
    assert.equal(v.ops, true);
    assert.equal(v.pe, 'sip');
    assert.equal(v.persistenceTimeout, 360);
    assert.deepEqual(v.realServers.get('10.0.1.5:53'), rs('10.0.1.5', 53, { weight: 4, uThreshold: 10, lThreshold: 5 }));
    // No forwarding option means -g, whose port ipvsadm forces to the service port.
    assert.deepEqual(v.realServers.get('10.0.1.6:53'), rs('10.0.1.6', 53, { forwarding: 'gatewaying' }));
  });

  it('parses an empty table', () => {
    assert.equal(parseIpvsadmSave('').size, 0);
  });

  it('reports the line of malformed input', () => {
    assert.throws(() => parseIpvsadmSave('-A -t 10.0.0.1:80 -s rr\n-A -t 10.0.0.2:80 --frobnicate\n'), (e: unknown) => {
      assert.ok(e instanceof IpvsadmParseError);
      assert.equal(e.line, 2);
      assert.match(e.message, /line 2: unexpected argument "--frobnicate"/);
      return true;
    });
    assert.throws(() => parseIpvsadmSave('-a -t 10.0.0.1:80 -r 10.0.1.2:80 -m -w 1\n'), /line 1: real server for unknown service tcp 10.0.0.1:80/);
    assert.throws(() => parseIpvsadmSave('-A -t 10.0.0.300:80 -s rr\n'), /line 1: bad address/);
    assert.throws(() => parseIpvsadmSave('-A -t 10.0.0.1:80 -b flag-9\n'), /unknown scheduler flag/);
  });
});

describe('ipvs/ipvsadm thresholds', () => {
  it('parses `ipvsadm -L -n --thresholds` and merges it into the saved table', () => {
    const th = parseIpvsadmThresholds(THRESHOLDS_V131);
    assert.deepEqual(th.get('tcp 10.0.0.1:80')!.get('10.0.1.3:8080'), { uThreshold: 100, lThreshold: 50 });
    assert.deepEqual(th.get('fwmark 2 inet6')!.get('[2001:db8::10]:0'), { uThreshold: 9, lThreshold: 8 });
    const t = mergeThresholds(parseIpvsadmSave(SAVE_V131), th);
    assert.equal(t.get('tcp 10.0.0.1:80')!.realServers.get('10.0.1.3:8080')!.uThreshold, 100);
    assert.equal(t.get('udp 10.0.0.3:53')!.realServers.get('10.0.1.5:53')!.uThreshold, 7);
    assert.equal(t.get('tcp [2001:db8::1]:80')!.realServers.get('[2001:db8::2]:80')!.lThreshold, 3);
    assert.equal(t.get('fwmark 2 inet6')!.realServers.get('[2001:db8::10]:0')!.lThreshold, 8);
    assert.equal(t.get('tcp 10.0.0.2:443')!.realServers.get('10.0.1.9:443')!.uThreshold, 0);
  });
});

describe('ipvs/ipvsadm formatter', () => {
  it('formats every operation kind', () => {
    const persistent: ServiceAttrs = { ...webAttrs, scheduler: 'sh', persistenceTimeout: 300, netmask: '255.255.255.0', pe: 'sip', schedFlags: SCHED_FLAG_1 | SCHED_FLAG_3 };
    const v6fw: ServiceKey = { kind: 'fwmark', family: 'inet6', fwmark: 2 };
    const sctp: ServiceKey = { kind: 'addr', family: 'inet6', protocol: 'sctp', addr: '2001:db8::1', port: 3868 };
    const ops: Op[] = [
      { kind: 'add-service', service: webAttrs },
      { kind: 'edit-service', service: persistent },
      { kind: 'add-service', service: { ...webAttrs, key: { ...web, protocol: 'udp' }, ops: true } },
      { kind: 'delete-service', key: v6fw },
      { kind: 'add-server', key: web, server: rs('10.0.1.2', 8080, { weight: 3, uThreshold: 100, lThreshold: 50 }) },
      { kind: 'edit-server', key: web, server: rs('10.0.1.2', 80, { forwarding: 'gatewaying', weight: 0 }) },
      { kind: 'add-server', key: v6fw, server: rs('2001:db8::10', 0, { forwarding: 'ipip', tunnel: { type: 'gue', port: 6080, csum: 'remcsum' } }) },
      { kind: 'add-server', key: sctp, server: rs('2001:db8::2', 3868, { forwarding: 'ipip', tunnel: { type: 'gre', port: 0, csum: 'csum' } }) },
      { kind: 'delete-server', key: sctp, server: { addr: '2001:db8::2', port: 3868 } },
    ];
    assert.deepEqual(ops.map(formatOp), [
      '-A -t 10.0.0.1:80 -s rr',
      '-E -t 10.0.0.1:80 -s sh -p 300 -M 255.255.255.0 --pe sip -b flag-1,flag-3',
      '-A -u 10.0.0.1:80 -s rr -o',
      '-D -f 2 -6',
      '-a -t 10.0.0.1:80 -r 10.0.1.2:8080 -m -w 3 -x 100 -y 50',
      '-e -t 10.0.0.1:80 -r 10.0.1.2:80 -g -w 0',
      '-a -f 2 -6 -r [2001:db8::10]:0 -i --tun-type gue --tun-port 6080 --tun-remcsum -w 1',
      '-a --sctp-service [2001:db8::1]:3868 -r [2001:db8::2]:3868 -i --tun-type gre --tun-csum -w 1',
      '-d --sctp-service [2001:db8::1]:3868 -r [2001:db8::2]:3868',
    ]);
    assert.deepEqual(formatOpArgs(ops[3]!), ['-D', '-f', '2', '-6']);
  });

  it('round-trips the saved table through formatTable and parseIpvsadmSave', () => {
    const t = mergeThresholds(parseIpvsadmSave(SAVE_V131), parseIpvsadmThresholds(THRESHOLDS_V131));
    assert.deepEqual(parseIpvsadmSave(formatTable(t)), t);
  });
});

/* ------------------------------------------------------------------ backend */

// A stand-in for ipvsadm that behaves like v1.31 as observed in the VM:
// `-R` runs line after line; a line listed in $D/soft fails like a kernel
// error (message on stderr, next line runs); a line listed in $D/fatal
// fails like an argument error (message, exit 2); the marker lines hacheck
// adds are rejected as unknown options. Every command it runs is appended
// to $D/log.
const FAKE_IPVSADM = `#!/bin/bash
D="$(dirname "$0")"
listed() { [ -f "$D/$1" ] && grep -qxF -- "$2" "$D/$1"; }
case "$1" in
  -S) cat "$D/save.txt"; exit 0 ;;
  -L) cat "$D/thresholds.txt"; exit 0 ;;
  -R)
    while IFS= read -r line; do
      case "$line" in
        "-L --hacheck-op-done-"*) echo "\${line#-L }: unknown option" >&2; continue ;;
      esac
      echo "$line" >> "$D/log"
      if listed soft "$line"; then echo "Service not defined" >&2; fi
      if listed fatal "$line"; then echo "Zero port specified for non-persistent service" >&2; exit 2; fi
    done
    echo "$$" >> "$D/ended"
    exit 255 ;;
esac
echo "$*" >> "$D/log"
if listed soft "$*"; then echo "No such destination" >&2; exit 255; fi
exit 0
`;

describe('ipvs/ipvsadm IpvsadmBackend', function () {
  let dir: string;
  let fake: string;

  const logLines = (): string[] => (existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8').trim().split('\n') : []);
  const script = (name: string, body: string): string => {
    const p = join(dir, name);
    writeFileSync(p, body);
    chmodSync(p, 0o755);
    return p;
  };
  const ops: Op[] = [
    { kind: 'add-service', service: webAttrs },
    { kind: 'add-server', key: web, server: rs('10.0.1.2', 80) },
    { kind: 'add-server', key: web, server: rs('10.0.1.3', 80) },
    { kind: 'add-server', key: web, server: rs('10.0.1.4', 80) },
  ];
  const opLines = ops.map(formatOp);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hacheck-ipvs-'));
    fake = script('ipvsadm', FAKE_IPVSADM);
    writeFileSync(join(dir, 'save.txt'), SAVE_V131);
    writeFileSync(join(dir, 'thresholds.txt'), THRESHOLDS_V131);
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('getTable() reads the save output and the thresholds', async () => {
    const t = await new IpvsadmBackend({ ipvsadm: fake }).getTable();
    assert.equal(t.size, 13);
    assert.equal(t.get('tcp 10.0.0.1:80')!.realServers.get('10.0.1.3:8080')!.lThreshold, 50);
    assert.deepEqual(logLines(), []);
    const noTh = await new IpvsadmBackend({ ipvsadm: fake, readThresholds: false }).getTable();
    assert.equal(noTh.get('tcp 10.0.0.1:80')!.realServers.get('10.0.1.3:8080')!.lThreshold, 0);
  });

  it('apply() sends the whole batch to one ipvsadm -R', async () => {
    const r = await new IpvsadmBackend({ ipvsadm: fake }).apply(ops);
    assert.deepEqual(r, { applied: ops, failed: [], processes: 1 });
    assert.deepEqual(logLines(), opLines);
  });

  it('apply() keeps one ipvsadm -R for the next batches; close() ends it', async () => {
    const b = new IpvsadmBackend({ ipvsadm: fake });
    const first = await b.apply(ops.slice(0, 2));
    assert.deepEqual(first, { applied: ops.slice(0, 2), failed: [], processes: 1 });
    const second = await b.apply(ops.slice(2));
    assert.deepEqual(second, { applied: ops.slice(2), failed: [], processes: 0 }, 'no new process');
    assert.deepEqual(logLines(), opLines);
    assert.equal(existsSync(join(dir, 'ended')), false, 'still running between batches');
    b.close();
    const ended = Date.now() + 5000;
    while (!existsSync(join(dir, 'ended')) && Date.now() < ended) await new Promise((r) => setTimeout(r, 20));
    assert.equal(readFileSync(join(dir, 'ended'), 'utf8').trim().split('\n').length, 1, 'the one process saw the end of its input');
    const third = await b.apply(ops.slice(0, 1));
    assert.equal(third.processes, 1, 'a batch after close() starts a new one');
    b.close();
  });

  it('apply() after a line that ended ipvsadm -R starts a new process for the next batch too', async () => {
    writeFileSync(join(dir, 'fatal'), `${opLines[3]}\n`);
    const b = new IpvsadmBackend({ ipvsadm: fake });
    const r1 = await b.apply(ops);
    assert.equal(r1.processes, 1);
    assert.deepEqual(r1.failed.map((f) => f.line), [opLines[3]]);
    const r2 = await b.apply(ops.slice(1, 2));
    assert.deepEqual(r2, { applied: ops.slice(1, 2), failed: [], processes: 1 });
    b.close();
  });

  it('an idle ipvsadm -R does not keep the Node process alive', async () => {
    const code = `
      import { IpvsadmBackend } from ${JSON.stringify(pathToFileURL(join(ROOT, 'dist/src/ipvs/ipvsadm.js')).href)};
      const b = new IpvsadmBackend({ ipvsadm: ${JSON.stringify(fake)} });
      const r = await b.apply(${JSON.stringify(ops.slice(0, 1))});
      console.log(JSON.stringify(r.applied.length));
    `;
    const t0 = Date.now();
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(out.trim(), '1');
    assert.ok(Date.now() - t0 < 15_000);
  });

  it('apply() with nothing to do starts no process', async () => {
    const r = await new IpvsadmBackend({ ipvsadm: join(dir, 'absent') }).apply([]);
    assert.deepEqual(r, { applied: [], failed: [], processes: 0 });
  });

  it('apply() attributes a kernel error to its line while the rest still applies', async () => {
    writeFileSync(join(dir, 'soft'), `${opLines[1]}\n`);
    const r = await new IpvsadmBackend({ ipvsadm: fake }).apply(ops);
    assert.equal(r.processes, 1);
    assert.deepEqual(r.failed, [{ op: ops[1], line: opLines[1], message: 'Service not defined' }]);
    assert.deepEqual(r.applied, [ops[0], ops[2], ops[3]]);
  });

  it('apply() resumes after a line that stops ipvsadm -R, in a second batch', async () => {
    writeFileSync(join(dir, 'fatal'), `${opLines[1]}\n`);
    const r = await new IpvsadmBackend({ ipvsadm: fake }).apply(ops);
    assert.equal(r.processes, 2);
    assert.deepEqual(r.failed, [{ op: ops[1], line: opLines[1], message: 'Zero port specified for non-persistent service' }]);
    assert.deepEqual(r.applied, [ops[0], ops[2], ops[3]]);
    assert.deepEqual(logLines(), opLines);
  });

  it('apply() handles a failing last line and several fatal lines', async () => {
    writeFileSync(join(dir, 'fatal'), `${opLines[0]}\n${opLines[3]}\n`);
    writeFileSync(join(dir, 'soft'), `${opLines[2]}\n`);
    const r = await new IpvsadmBackend({ ipvsadm: fake }).apply(ops);
    assert.equal(r.processes, 2);
    assert.deepEqual(r.applied, [ops[1]]);
    assert.deepEqual(
      r.failed.map((f) => [f.line, f.message]),
      [
        [opLines[0], 'Zero port specified for non-persistent service'],
        [opLines[2], 'Service not defined'],
        [opLines[3], 'Zero port specified for non-persistent service'],
      ],
    );
  });

  it('apply() reports an exit without any message against the line it stopped at', async () => {
    const dies = script('dies', '#!/bin/bash\nread -r line\nexit 3\n');
    const r = await new IpvsadmBackend({ ipvsadm: fake, restoreCommand: [dies] }).apply(ops.slice(0, 2));
    assert.equal(r.processes, 2);
    assert.deepEqual(r.applied, []);
    assert.equal(r.failed.length, 2);
    assert.match(r.failed[0]!.message, /dies exited with status 3$/);
  });

  it('apply() gives up on a hanging ipvsadm after the timeout, without retrying', async () => {
    const hang = script('hang', '#!/bin/bash\nsleep 30\n');
    const started = Date.now();
    const r = await new IpvsadmBackend({ ipvsadm: fake, restoreCommand: [hang, '-R'], timeoutMs: 300 }).apply(ops);
    const took = Date.now() - started;
    assert.ok(took < 3000, `took ${took} ms`);
    assert.equal(r.processes, 1);
    assert.deepEqual(r.applied, []);
    assert.equal(r.failed.length, 4);
    assert.match(r.failed[0]!.message, /hang -R timed out after 300 ms/);
  });

  it('getTable() fails with TIMEOUT when ipvsadm hangs', async () => {
    const hang = script('hang', '#!/bin/bash\nsleep 30\n');
    await assert.rejects(new IpvsadmBackend({ ipvsadm: hang, timeoutMs: 300 }).getTable(), (e: unknown) => {
      assert.ok(e instanceof IpvsadmError);
      assert.equal(e.code, 'TIMEOUT');
      assert.match(e.message, /timed out after 300 ms/);
      return true;
    });
  });

  it('fails with ENOENT and a clear message when ipvsadm is missing', async () => {
    const missing = join(dir, 'no-such-ipvsadm');
    const b = new IpvsadmBackend({ ipvsadm: missing });
    for (const p of [b.getTable(), b.apply(ops), b.applyPerEntry(ops)]) {
      await assert.rejects(p, (e: unknown) => {
        assert.ok(e instanceof IpvsadmError);
        assert.equal(e.code, 'ENOENT');
        assert.equal(e.message, `${missing} not found (is ipvsadm installed?)`);
        return true;
      });
    }
  });

  it('getTable() fails with EXIT and ipvsadm\'s message when it exits non-zero', async () => {
    const noIpvs = script(
      'noipvs',
      '#!/bin/bash\necho "Can\'t initialize ipvs: Protocol not available" >&2\necho "Are you sure that IP Virtual Server is built in the kernel or as module?" >&2\nexit 2\n',
    );
    await assert.rejects(new IpvsadmBackend({ ipvsadm: noIpvs }).getTable(), (e: unknown) => {
      assert.ok(e instanceof IpvsadmError);
      assert.equal(e.code, 'EXIT');
      assert.equal(e.exitCode, 2);
      assert.match(e.message, /noipvs -S -n exited with status 2: Can't initialize ipvs: Protocol not available; Are you sure/);
      return true;
    });
  });

  it('getTable() fails with PARSE on output it does not understand', async () => {
    writeFileSync(join(dir, 'save.txt'), '-A -t 10.0.0.1:80 -s rr --new-option\n');
    await assert.rejects(new IpvsadmBackend({ ipvsadm: fake }).getTable(), (e: unknown) => {
      assert.ok(e instanceof IpvsadmParseError);
      assert.equal(e.code, 'PARSE');
      return true;
    });
  });

  it('applyPerEntry() runs one ipvsadm per operation and reports each failure', async () => {
    writeFileSync(join(dir, 'soft'), `${opLines[2]}\n`);
    const r = await new IpvsadmBackend({ ipvsadm: fake }).applyPerEntry(ops);
    assert.equal(r.processes, 4);
    assert.deepEqual(r.applied, [ops[0], ops[1], ops[3]]);
    assert.deepEqual(r.failed, [{ op: ops[2], line: opLines[2], message: 'No such destination' }]);
    assert.deepEqual(logLines(), opLines);
  });
});

describe('ipvs/ipvsadm reconcile', () => {
  it('applies only the difference and heals a flushed table', async () => {
    const desired: Table = parseIpvsadmSave(SAVE_V131);
    let kernel: Table = parseIpvsadmSave(SAVE_V131);
    const backend: IpvsBackend = {
      getTable: sinon.stub().callsFake(async () => kernel),
      apply: sinon.stub().callsFake(async (ops: Op[]) => ({ applied: ops, failed: [], processes: 1 })),
    };
    const first = await reconcile(backend, desired);
    assert.deepEqual(first.ops, []);
    sinon.assert.notCalled(backend.apply as sinon.SinonStub);

    kernel = new Map(); // `ipvsadm -C` behind our back
    const second = await reconcile(backend, desired);
    assert.equal(second.ops.filter((o) => o.kind === 'add-service').length, 13);
    assert.equal(second.ops.filter((o) => o.kind === 'add-server').length, 11);
    sinon.assert.calledOnceWithExactly(backend.apply as sinon.SinonStub, second.ops);
  });
});
