// WorkerHealthMonitor: the checkers in a real worker thread, against real loopback servers.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { capture, closeServer, listen, lvsOf, waitFor } from '../support/checkers.js';
import { toIpvsSpecs } from '../../src/config/model/lvs.js';
import { realServerId } from '../../src/ipvs/desired.js';
import { initialHealth, HealthMonitor, type HealthChange } from '../../src/checkers/monitor.js';
import { WorkerHealthMonitor } from '../../src/checkers/worker-host.js';

/** A listener that accepts and closes at once (what a TCP_CHECK needs). */
function tcpServer(): net.Server {
  return net.createServer((s) => s.destroy());
}

/** Four TCP listeners that accept and close; prints their ports, then the count of connections accepted. */
const LISTENERS = `
import net from 'node:net';
let accepted = 0;
const ports = [];
for (let i = 0; i < 4; i++) {
  const s = net.createServer((c) => { accepted++; c.destroy(); });
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  ports.push(s.address().port);
}
console.log(JSON.stringify({ ports }));
setInterval(() => console.log(JSON.stringify({ accepted })), 200);
`;



function tcpVs(ports: number[], opts = 'delay_loop 0.2\n  retry 1\n  delay_before_retry 0.2\n  warmup 0\n  connect_timeout 1'): string {
  return `
virtual_server 10.0.0.1 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
${ports
  .map(
    (p) => `  real_server 127.0.0.1 ${p} {
    TCP_CHECK {
      ${opts}
    }
  }`,
  )
  .join('\n')}
}`;
}

describe('checkers/worker WorkerHealthMonitor (worker thread)', function () {
  this.timeout(60_000);
  const servers: net.Server[] = [];
  let mon: WorkerHealthMonitor | undefined;
  const children: ChildProcess[] = [];
  afterEach(async () => {
    await mon?.stop();
    mon = undefined;
    for (const c of children.splice(0)) c.kill('SIGKILL');
    await Promise.all(servers.splice(0).map(closeServer));
  });

  it('health before start is the configuration\'s, as an in-process HealthMonitor says', () => {
    const lvs = lvsOf(`
virtual_server 10.0.0.1 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 127.0.0.1 1 { TCP_CHECK { } }
  real_server 127.0.0.1 2 { TCP_CHECK { alpha } }
  real_server 127.0.0.1 3 { }
}`);
    const w = new WorkerHealthMonitor(lvs);
    assert.deepEqual([...w.health()], [...new HealthMonitor(lvs).health()]);
    assert.deepEqual([...initialHealth(lvs)].map(([, h]) => h.up), [true, false, true]);
  });

  it('a listener that closes: down on the main thread with keepalived\'s reason, up when it listens again; log lines through the main logger', async () => {
    let srv = tcpServer();
    servers.push(srv);
    const port = await listen(srv);
    const lvs = lvsOf(tcpVs([port]));
    const id = realServerId(toIpvsSpecs(lvs)[0].id, { ip: '127.0.0.1', port });
    const { lines, log } = capture();
    const changes: HealthChange[] = [];
    mon = new WorkerHealthMonitor(lvs, { log, bootstrapDelayMs: 0 });
    mon.on('change', (c: HealthChange) => changes.push(c));
    mon.start();
    await waitFor(() => lines.some((l) => /TCP connection to \[127\.0\.0\.1\]:tcp:\d+ success\./.test(l.msg)), 10_000, 'first success logged');
    assert.ok(lines.some((l) => l.msg === `Activating healthchecker for service [127.0.0.1]:tcp:${port} for VS [10.0.0.1]:tcp:80` && l.checker === 'TCP_CHECK'));
    assert.equal(changes.length, 0);

    await closeServer(srv);
    await waitFor(() => changes.length >= 1, 10_000, 'down');
    const down = changes[0];
    assert.equal(down.up, false);
    assert.equal(down.reason, 'TCP_CHECK connect ECONNREFUSED');
    assert.equal(typeof down.latencyMs, 'number');
    // the main thread's own model objects, not clones
    assert.equal(down.vs, lvs.virtualServers[0]);
    assert.equal(down.rs, lvs.virtualServers[0].realServers[0]);
    assert.deepEqual(mon.health().get(id), { up: false });
    const failed = lines.find((l) => l.msg === `TCP_CHECK on service [127.0.0.1]:tcp:${port} failed after 1 retries.`);
    assert.ok(failed, JSON.stringify(lines.map((l) => l.msg)));
    // same fields as an in-process monitor (syslog ident Keepalived_healthcheckers follows from vs/rs/checker)
    assert.equal(failed.vs, '[10.0.0.1]:tcp:80');
    assert.equal(failed.rs, `[127.0.0.1]:tcp:${port}`);
    assert.equal(failed.checker, 'TCP_CHECK');
    assert.equal(failed.reason, 'connect ECONNREFUSED');
    assert.equal(failed.level, 30);

    srv = tcpServer();
    servers.push(srv);
    await listen(srv, port);
    await waitFor(() => changes.length >= 2, 10_000, 'up again');
    assert.equal(changes[1].up, true);
    assert.equal(changes[1].reason, 'TCP_CHECK ok');
    assert.deepEqual(mon.health().get(id), { up: true });
  });

  it('stop() ends the worker within a bound, and nothing is reported after', async () => {
    const srv = tcpServer();
    servers.push(srv);
    const port = await listen(srv);
    const { lines, log } = capture();
    mon = new WorkerHealthMonitor(lvsOf(tcpVs([port])), { log, bootstrapDelayMs: 0 });
    mon.start();
    await waitFor(() => lines.some((l) => /success\./.test(l.msg)), 10_000, 'first success');
    assert.ok(mon.threadId !== undefined);
    const t0 = Date.now();
    await mon.stop();
    const took = Date.now() - t0;
    assert.ok(took < 5_000, `stop took ${took} ms`);
    assert.equal(mon.threadId, undefined);
    const n = lines.length;
    await closeServer(srv);
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(lines.length, n, JSON.stringify(lines.slice(n)));
  });

  it('a worker that crashes is logged, restarted, and keeps reporting (resuming from the health it had)', async () => {
    let srv = tcpServer();
    servers.push(srv);
    const port = await listen(srv);
    const { lines, log } = capture();
    const changes: HealthChange[] = [];
    mon = new WorkerHealthMonitor(lvsOf(tcpVs([port])), { log, bootstrapDelayMs: 0, testHooks: true, restartMinMs: 50 });
    mon.on('change', (c: HealthChange) => changes.push(c));
    mon.start();
    await closeServer(srv);
    await waitFor(() => changes.length >= 1, 10_000, 'down');
    assert.equal(changes[0].up, false);
    const first = mon.threadId;

    mon.crashForTest();
    await waitFor(() => mon!.restarts >= 1 && mon!.threadId !== undefined, 10_000, 'restart');
    assert.notEqual(mon.threadId, first);
    assert.ok(lines.some((l) => l.level === 50 && /Healthcheck worker failed: checker worker crash/.test(l.msg)), JSON.stringify(lines.map((l) => l.msg)));
    assert.ok(lines.some((l) => /Healthcheck worker exited with code 1: Respawning/.test(l.msg)));
    // health reported so far stays; the restarted worker starts from it, so a recovery is reported
    assert.equal(mon.health().get([...mon.health().keys()][0])?.up, false);
    srv = tcpServer();
    servers.push(srv);
    await listen(srv, port);
    await waitFor(() => changes.length >= 2, 10_000, 'up after restart');
    assert.equal(changes[1].up, true);
    assert.equal(changes.length, 2);
  });

  it('PING_CHECK in the worker: the echo goes through the main thread\'s raw socket; a second worker after the first works too', async function () {
    if (process.getuid?.() !== 0) this.skip();
    const text = `
virtual_server 10.0.0.1 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 127.0.0.1 80 {
    PING_CHECK {
      delay_loop 0.2
      warmup 0
      connect_timeout 1
      alpha
    }
  }
}`;
    for (let round = 0; round < 2; round++) {
      const { lines, log } = capture();
      const changes: HealthChange[] = [];
      mon = new WorkerHealthMonitor(lvsOf(text), { log, bootstrapDelayMs: 0 });
      mon.on('change', (c: HealthChange) => changes.push(c));
      assert.equal([...mon.health().values()][0].up, false);
      mon.start();
      await waitFor(() => changes.length >= 1, 10_000, `ping up (round ${round})`);
      assert.equal(changes[0].up, true);
      assert.equal(changes[0].reason, 'PING_CHECK ok');
      assert.ok(lines.some((l) => l.msg === 'ICMP connection to [127.0.0.1]:tcp:80 success.'), JSON.stringify(lines.map((l) => l.msg)));
      await mon.stop();
      mon = undefined;
    }
  });

  it('the main event loop stays responsive while the worker runs ~2,000 checks a second', async function () {
    // The listeners run in a child process: accepting 2,000 connections a second would load
    // this test's own event loop, which is what is measured.
    const child = spawn(process.execPath, ['--input-type=module', '-e', LISTENERS], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    let accepted = 0;
    let ports: number[] = [];
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const m = JSON.parse(buf.slice(0, i)) as { ports?: number[]; accepted?: number };
        buf = buf.slice(i + 1);
        if (m.ports) ports = m.ports;
        if (m.accepted !== undefined) accepted = m.accepted;
      }
    });
    await waitFor(() => ports.length === 4, 10_000, 'listeners');
    // 200 real servers (50 per listener) at delay_loop 0.1: ~2,000 TCP connects a second
    const realPorts = Array.from({ length: 200 }, (_, i) => ports[i % 4]);
    const text = `
virtual_server 10.0.0.1 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
${realPorts.map((p, i) => `  real_server 127.0.${1 + Math.floor(i / 4)}.1 ${p} {\n    TCP_CHECK {\n      connect_ip 127.0.0.1\n      delay_loop 0.1\n      warmup 0.1\n      connect_timeout 2\n      retry 3\n    }\n  }`).join('\n')}
}`;
    const lvs = lvsOf(text);
    const changes: HealthChange[] = [];
    mon = new WorkerHealthMonitor(lvs, { bootstrapDelayMs: 0 });
    mon.on('change', (c: HealthChange) => changes.push(c));
    mon.start();
    await new Promise((r) => setTimeout(r, 1000));
    const h = monitorEventLoopDelay({ resolution: 5 });
    const a0 = accepted;
    const t0 = Date.now();
    h.enable();
    await new Promise((r) => setTimeout(r, 3000));
    h.disable();
    const rate = ((accepted - a0) * 1000) / (Date.now() - t0);
    const p99 = h.percentile(99) / 1e6;
    const maxMs = h.max / 1e6;
    console.log(`      ${Math.round(rate)} checks/s in the worker; main loop delay p99 ${p99.toFixed(1)} ms, max ${maxMs.toFixed(1)} ms`);
    assert.ok(rate > 500, `only ${rate} checks/s`);
    // generous bounds: the machine is shared, and one stall of the whole process (another
    // program, garbage collection) shows in max whatever thread the checks run on
    assert.ok(p99 < 50, `main loop delay p99 ${p99} ms`);
    assert.ok(maxMs < 100, `main loop delay max ${maxMs} ms`);
    assert.deepEqual(changes.filter((c) => !c.up), []);
  });
});
