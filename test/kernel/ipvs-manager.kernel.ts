// Real-kernel test of the IPVS manager (src/ipvs/manager.ts) in the IPVS VM
// (scripts/test-kernel.sh): real servers in network namespaces, health from
// the real checkers (or the test's TCP poller until they exist), and the
// kernel table read back with ipvsadm.
//
//   client ns 192.168.100.2 ── 192.168.100.1 director (root ns, VIP 192.168.100.10)
//   rs1 ns    10.0.1.2      ── 10.0.1.1
//   rs2 ns    10.0.2.2      ── 10.0.2.1
// Real servers answer HTTP on :8080 with their name and route via the director (LVS-NAT).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

import { pino } from 'pino';

import { loadConfigText } from '../../src/config/index.js';
import type { LvsConfig } from '../../src/config/model/lvs.js';
import { IpvsadmBackend, formatOp } from '../../src/ipvs/ipvsadm.js';
import { IpvsManager } from '../../src/ipvs/manager.js';
import type { AppliedEvent } from '../../src/ipvs/manager.js';
import { healthSourceFor } from './tcp-health.js';
import type { StartableHealth } from './tcp-health.js';
import { NatLab, PY, SERVER_PY, conns, ipvsadm, run, skipUnlessKernel, sleep, until, waitPort, writeTimings } from './support.js';

// Checker timing: delay_loop 1, connect_timeout 1, retry 1, delay_before_retry 1.
// A dead real server is out within delay_loop + connect_timeout×(retry+1) + delay_before_retry×retry = 4 s.
const CHECK = 'TCP_CHECK {\n      connect_port 8080\n      connect_timeout 1\n      retry 1\n      delay_before_retry 1\n    }';
const DETECT_BOUND_MS = 1000 + 1000 * 2 + 1000 * 1;
// The VM is emulated (~30x slower processes); allow this much on top of the bound.
const VM_SLACK_MS = 6000;

const CONFIG = (natWeight: number, withTun: boolean) => `
virtual_server 192.168.100.10 80 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 10.0.1.2 8080 {
    weight ${natWeight}
    ${CHECK}
  }
  real_server 10.0.2.2 8080 {
    ${CHECK}
  }
}
virtual_server 192.168.100.11 80 {
  delay_loop 1
  lb_algo wlc
  lb_kind DR
  protocol TCP
  real_server 10.0.1.2 80 {
    ${CHECK}
  }
  real_server 10.0.2.2 80 {
    inhibit_on_failure
    ${CHECK}
  }
}
${
  withTun
    ? `virtual_server 192.168.100.12 80 {
  delay_loop 1
  lb_algo rr
  lb_kind TUN
  protocol TCP
  quorum 2
  sorry_server 10.0.9.9 80
  real_server 10.0.1.2 80 {
    ${CHECK}
  }
  real_server 10.0.2.2 80 {
    ${CHECK}
  }
}`
    : ''
}
`;

const ALL_UP = `-A -t 192.168.100.10:80 -s rr
-a -t 192.168.100.10:80 -r 10.0.1.2:8080 -m -w 1
-a -t 192.168.100.10:80 -r 10.0.2.2:8080 -m -w 1
-A -t 192.168.100.11:80 -s wlc
-a -t 192.168.100.11:80 -r 10.0.1.2:80 -g -w 1
-a -t 192.168.100.11:80 -r 10.0.2.2:80 -g -w 1
-A -t 192.168.100.12:80 -s rr
-a -t 192.168.100.12:80 -r 10.0.1.2:80 -i -w 1 --tun-type ipip
-a -t 192.168.100.12:80 -r 10.0.2.2:80 -i -w 1 --tun-type ipip
`;

// rs2 dead: removed from NAT, weight 0 in DR (inhibit_on_failure), TUN quorum 2 lost → sorry server only.
const RS2_DOWN = `-A -t 192.168.100.10:80 -s rr
-a -t 192.168.100.10:80 -r 10.0.1.2:8080 -m -w 1
-A -t 192.168.100.11:80 -s wlc
-a -t 192.168.100.11:80 -r 10.0.1.2:80 -g -w 1
-a -t 192.168.100.11:80 -r 10.0.2.2:80 -g -w 0
-A -t 192.168.100.12:80 -s rr
-a -t 192.168.100.12:80 -r 10.0.9.9:80 -i -w 1 --tun-type ipip
`;

const RELOADED = `-A -t 192.168.100.10:80 -s rr
-a -t 192.168.100.10:80 -r 10.0.1.2:8080 -m -w 3
-a -t 192.168.100.10:80 -r 10.0.2.2:8080 -m -w 1
-A -t 192.168.100.11:80 -s wlc
-a -t 192.168.100.11:80 -r 10.0.1.2:80 -g -w 1
-a -t 192.168.100.11:80 -r 10.0.2.2:80 -g -w 1
`;

function lvsOf(text: string): LvsConfig {
  const r = loadConfigText(text, { configId: 'test', file: 'kernel.conf' });
  const errs = r.diags.list.filter((d) => d.severity === 'error');
  assert.deepEqual(errs.map((d) => d.message), []);
  return r.config.lvs;
}

const timings: Record<string, number> = {};

describe('kernel: IpvsManager with real servers in namespaces', function () {
  const servers = new Map<string, ChildProcess>();
  const logLines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void logLines.push(JSON.parse(s) as Record<string, unknown>) });
  const applied: AppliedEvent[] = [];
  let mgr: IpvsManager | undefined;
  let health: StartableHealth | undefined;
  let usable = false;

  const startServer = async (name: string, ip: string): Promise<void> => {
    const child = spawn('ip', ['netns', 'exec', `hcm${name}`, PY, '-c', SERVER_PY, name, ip, '8080'], { stdio: 'ignore' });
    servers.set(name, child);
    await waitPort(ip, 8080, name);
  };
  const stopServer = async (name: string): Promise<void> => {
    const c = servers.get(name);
    servers.delete(name);
    if (!c || c.exitCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await gone;
  };
  const curl = (): string => {
    try {
      return run('ip', 'netns', 'exec', net.clientNs, 'curl', '-s', '--max-time', '5', 'http://192.168.100.10/').trim();
    } catch {
      return '(failed)';
    }
  };
  const save = () => ipvsadm('-S', '-n');
  const net = new NatLab('hcm', '192.168.100', ['10.0.1', '10.0.2']);

  before(async function () {
    skipUnlessKernel(this);
    usable = true;
    net.up();
    await Promise.all([startServer('rs1', '10.0.1.2'), startServer('rs2', '10.0.2.2')]);
  });

  after(async function () {
    health?.stop();
    await mgr?.stop();
    for (const name of [...servers.keys()]) await stopServer(name);
    if (!usable) return;
    net.down();
    writeTimings('ipvs-manager-timings.json', timings);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') {
      console.log(`      table:\n${save()}\n      log:\n${logLines.map((l) => `        ${String(l.level)} ${String(l.msg)}`).join('\n')}`);
    }
  });

  it('builds the NAT/DR/TUN table from the configuration and keeps it once checks pass', async () => {
    const lvs = lvsOf(CONFIG(1, true));
    const h = await healthSourceFor(lvs, log);
    health = h.source;
    console.log(`      health source: ${h.kind}`);
    mgr = new IpvsManager({ lvs, health, backend: new IpvsadmBackend({ timeoutMs: 60_000 }), log, reconcileIntervalMs: 2000 });
    mgr.on('applied', (e: AppliedEvent) => applied.push(e));
    const t0 = performance.now();
    await mgr.start();
    timings['start: table complete'] = performance.now() - t0;
    assert.equal(save(), ALL_UP);
    health.start();
    // Checks pass: nothing changes.
    await sleep(3000);
    await mgr.idle();
    assert.equal(save(), ALL_UP);
  });

  it('a client reaches both real servers through the NAT VIP', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add(curl());
    assert.deepEqual([...seen].sort(), ['rs1', 'rs2']);
  });

  it('a dead real server is removed within the checker bound (NAT removed, DR inhibited, TUN sorry server)', async () => {
    const t0 = performance.now();
    await stopServer('rs2');
    await until('rs2 removed', () => save() === RS2_DOWN, DETECT_BOUND_MS + VM_SLACK_MS, 50);
    timings['rs2 dead → table updated'] = performance.now() - t0;
    console.log(`      removed after ${(performance.now() - t0).toFixed(0)} ms (bound ${DETECT_BOUND_MS} ms + VM slack)`);
    const msgs = logLines.map((l) => l.msg);
    assert.ok(msgs.includes('Removing service [10.0.2.2]:tcp:8080 from VS [192.168.100.10]:tcp:80'));
    assert.ok(msgs.includes('Disabling service [10.0.2.2]:tcp:80 of VS [192.168.100.11]:tcp:80'));
    assert.ok(msgs.includes('Lost quorum 2-0=2 > 1 for VS [192.168.100.12]:tcp:80'));
    assert.ok(msgs.includes('Adding sorry server [10.0.9.9]:tcp:80 to VS [192.168.100.12]:tcp:80'));
  });

  it('the client no longer reaches the dead one', () => {
    for (let i = 0; i < 3; i++) assert.equal(curl(), 'rs1');
  });

  it('a returning real server is re-added and the quorum regained', async () => {
    const t0 = performance.now();
    await startServer('rs2', '10.0.2.2');
    await until('rs2 back', () => save() === ALL_UP, DETECT_BOUND_MS + VM_SLACK_MS, 50);
    timings['rs2 back → table updated'] = performance.now() - t0;
    const msgs = logLines.map((l) => l.msg);
    assert.ok(msgs.includes('Adding service [10.0.2.2]:tcp:8080 to VS [192.168.100.10]:tcp:80'));
    assert.ok(msgs.includes('Gained quorum 2+0=2 <= 2 for VS [192.168.100.12]:tcp:80'));
  });

  it('a reload is applied as a diff: unchanged entries keep their counters', async () => {
    // Traffic so the NAT service has counters, then wait for the estimator (~2 s) to fold them.
    for (let i = 0; i < 4; i++) curl();
    await until('counters', () => (conns().get('192.168.100.10:80') ?? 0) >= 4, 15_000, 500);
    const before = conns();
    // curl blocks the event loop, so the last batch's event may still be pending.
    await mgr!.idle();
    const from = applied.length;
    const lvs = lvsOf(CONFIG(3, false));
    health!.stop();
    const h = await healthSourceFor(lvs, log);
    await mgr!.reload(lvs, h.source);
    health = h.source;
    health.start();
    assert.deepEqual(
      applied.slice(from).flatMap((e) => e.ops.map(formatOp)),
      ['-D -t 192.168.100.12:80', '-e -t 192.168.100.10:80 -r 10.0.1.2:8080 -m -w 3'],
    );
    assert.equal(save(), RELOADED);
    await sleep(2500);
    const after = conns();
    for (const k of ['192.168.100.10:80', '192.168.100.10:80 10.0.1.2:8080', '192.168.100.10:80 10.0.2.2:8080']) {
      assert.ok((after.get(k) ?? 0) >= (before.get(k) ?? 0) && (before.get(k) ?? 0) > 0, `${k}: ${before.get(k)} → ${after.get(k)}`);
    }
  });

  it('heals `ipvsadm -C` behind its back at the next reconcile', async () => {
    ipvsadm('-C');
    const t0 = performance.now();
    await until('healed', () => save() === RELOADED, 2000 + VM_SLACK_MS, 100);
    timings['ipvsadm -C → healed'] = performance.now() - t0;
    assert.ok(logLines.some((l) => String(l.msg).startsWith('IPVS table changed outside hacheck; restoring it with 6 operations')));
  });

  it('stop removes the services it manages', async () => {
    health!.stop();
    ipvsadm('-A', '-t', '172.16.0.1:80', '-s', 'rr');
    await mgr!.stop();
    mgr = undefined;
    assert.equal(save(), '-A -t 172.16.0.1:80 -s rr\n');
    ipvsadm('-C');
  });
});
