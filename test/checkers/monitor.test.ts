// HealthMonitor on real configurations (loadConfigText) against loopback servers.

import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { capture, closeServer, listen, lvsOf, waitFor } from '../support/checkers.js';
import { toIpvsSpecs } from '../../src/config/model/lvs.js';
import { realServerId } from '../../src/ipvs/desired.js';
import { HealthMonitor, checkerMessage, type HealthChange } from '../../src/checkers/monitor.js';
import type { PollingChecker } from '../../src/config/model/checkers.js';




describe('checkers/monitor HealthMonitor', function () {
  this.timeout(30_000);
  const servers: net.Server[] = [];
  let mon: HealthMonitor | undefined;
  afterEach(async () => {
    mon?.stop();
    mon = undefined;
    await Promise.all(servers.splice(0).map(closeServer));
  });

  it('a real server whose listener goes away is down after retry × delay_before_retry, up after one success', async () => {
    let srv = net.createServer((s) => s.destroy());
    servers.push(srv);
    const port = await listen(srv);
    const lvs = lvsOf(`
virtual_server 10.0.0.1 80 {
  delay_loop 0.2
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 127.0.0.1 ${port} {
    TCP_CHECK {
      connect_timeout 1
      retry 2
      delay_before_retry 0.3
      warmup 0
    }
  }
}`);
    const { lines, log } = capture();
    const changes: (HealthChange & { at: number })[] = [];
    mon = new HealthMonitor(lvs, { log, scheduler: { bootstrapDelayMs: 0 } });
    mon.on('change', (c: HealthChange) => changes.push({ ...c, at: Date.now() }));
    const id = realServerId(toIpvsSpecs(lvs)[0].id, { ip: '127.0.0.1', port });
    assert.deepEqual(mon.health().get(id), { up: true });
    mon.start();
    await waitFor(() => lines.some((l) => l.msg === `TCP connection to [127.0.0.1]:tcp:${port} success.`), 5000, 'first success');
    assert.ok(lines.some((l) => l.msg === `Activating healthchecker for service [127.0.0.1]:tcp:${port} for VS [10.0.0.1]:tcp:80`));

    const closedAt = Date.now();
    await closeServer(srv);
    await waitFor(() => changes.length === 1, 10_000, 'down');
    const down = changes[0];
    assert.equal(down.up, false);
    assert.equal(down.reason, 'TCP_CHECK connect ECONNREFUSED');
    assert.equal(down.vs.id, '[10.0.0.1]:tcp:80');
    assert.equal(down.rs.port, port);
    // up to one delay_loop to notice, then retry (2) × delay_before_retry (0.3 s)
    const took = down.at - closedAt;
    assert.ok(took >= 2 * 300 - 50 && took < 2 * 300 + 200 + 1500, `down after ${took} ms`);
    assert.ok(lines.some((l) => l.msg === `TCP_CHECK on service [127.0.0.1]:tcp:${port} failed after 2 retries.` && l.reason === 'connect ECONNREFUSED'));
    assert.deepEqual(mon.health().get(id), { up: false });

    srv = net.createServer((s) => s.destroy());
    servers.push(srv);
    await listen(srv, port);
    await waitFor(() => changes.length === 2, 5000, 'up');
    assert.equal(changes[1].up, true);
    assert.equal(changes[1].reason, 'TCP_CHECK ok');
    assert.deepEqual(mon.health().get(id), { up: true });
  });

  it('alpha starts down; a real server is alive only when all its checkers are up', async () => {
    const a = net.createServer((s) => s.destroy());
    servers.push(a);
    const pa = await listen(a);
    const dead = net.createServer();
    const pd = await listen(dead);
    await closeServer(dead);
    const lvs = lvsOf(`
virtual_server 10.0.0.1 80 {
  delay_loop 0.2
  lb_algo rr
  lb_kind NAT
  protocol TCP
  alpha
  real_server 127.0.0.1 ${pa} {
    TCP_CHECK {
      warmup 0
    }
    TCP_CHECK {
      connect_port ${pd}
      warmup 0
    }
  }
  real_server 127.0.0.2 ${pa} {
    TCP_CHECK {
      connect_ip 127.0.0.1
      warmup 0
    }
  }
}`);
    const changes: HealthChange[] = [];
    mon = new HealthMonitor(lvs, { scheduler: { bootstrapDelayMs: 0 } });
    mon.on('change', (c: HealthChange) => changes.push(c));
    const vsId = toIpvsSpecs(lvs)[0].id;
    const id1 = realServerId(vsId, { ip: '127.0.0.1', port: pa });
    const id2 = realServerId(vsId, { ip: '127.0.0.2', port: pa });
    assert.deepEqual([...mon.health().keys()].sort(), [id1, id2].sort());
    assert.deepEqual(mon.health().get(id1), { up: false });
    assert.deepEqual(mon.health().get(id2), { up: false });
    mon.start();
    await waitFor(() => changes.length >= 1, 5000, 'rs2 up');
    assert.equal(changes[0].rs.ip, '127.0.0.2');
    assert.equal(changes[0].up, true);
    // rs1 has one checker up and one failing: it stays down
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(changes.length, 1);
    assert.deepEqual(mon.health().get(id1), { up: false });
  });

  it('MISC_CHECK misc_dynamic sets the weight', async () => {
    const lvs = lvsOf(`
global_defs {
  script_user nobody
  enable_script_security
}
virtual_server 10.0.0.1 80 {
  delay_loop 0.2
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 127.0.0.1 80 {
    weight 5
    MISC_CHECK {
      misc_path "/bin/sh -c 'exit 4'"
      misc_dynamic
      warmup 0
    }
  }
}`);
    const changes: HealthChange[] = [];
    mon = new HealthMonitor(lvs, { scheduler: { bootstrapDelayMs: 0 } });
    mon.on('change', (c: HealthChange) => changes.push(c));
    mon.start();
    await waitFor(() => changes.length >= 1, 5000, 'weight change');
    assert.equal(changes[0].up, true);
    assert.equal(changes[0].weight, 2);
    const [h] = [...mon.health().values()];
    assert.deepEqual(h, { up: true, weight: 2 });
  });

  it('a flood of hung targets does not delay other checkers', async () => {
    // 200 HTTP_GETs against a server that accepts and never answers, and one TCP_CHECK every 0.1 s
    const hung = http.createServer(() => {});
    servers.push(hung);
    const ph = await listen(hung);
    let goodConns = 0;
    const good = net.createServer((s) => {
      goodConns++;
      s.destroy();
    });
    servers.push(good);
    const pg = await listen(good);
    const rsHung = Array.from({ length: 200 }, (_, i) => `
  real_server 127.0.${1 + (i >> 8)}.${(i & 255) + 1} ${ph} {
    HTTP_GET {
      url {
        path /
      }
      connect_ip 127.0.0.1
      connect_timeout 10
      warmup 0
    }
  }`).join('');
    const lvs = lvsOf(`
virtual_server 10.0.0.1 80 {
  delay_loop 0.1
  lb_algo rr
  lb_kind NAT
  protocol TCP
  ${rsHung}
  real_server 127.0.9.9 ${pg} {
    TCP_CHECK {
      connect_ip 127.0.0.1
      warmup 0
    }
  }
}`);
    mon = new HealthMonitor(lvs, { scheduler: { bootstrapDelayMs: 0 } });
    mon.start();
    await waitFor(() => mon!.inFlight >= 200, 5000, 'hung checks in flight');
    const c0 = goodConns;
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 2000));
    const runs = goodConns - c0;
    const secs = (Date.now() - t0) / 1000;
    // every 0.1 s plus the run itself: ~20 in 2 s; allow a loaded machine half of that
    assert.ok(runs >= 10, `good checker ran ${runs} times in ${secs}s`);
    assert.ok(mon.inFlight >= 200, 'hung checks still in flight');
  });

  it('checkerMessage: keepalived\'s texts', () => {
    const tcp = { type: 'TCP_CHECK', retry: 1, logAllFailures: false } as PollingChecker;
    assert.equal(checkerMessage(tcp, { kind: 'failed', afterRetries: 1 }, '[10.0.0.2]:tcp:80', 'VS', { ok: false }), 'TCP_CHECK on service [10.0.0.2]:tcp:80 failed after 1 retries.');
    assert.equal(checkerMessage(tcp, { kind: 'failed' }, '[10.0.0.2]:tcp:80', 'VS', { ok: false }), 'TCP_CHECK on service [10.0.0.2]:tcp:80 failed.');
    const ssl = { type: 'SSL_GET', retry: 1, logAllFailures: false } as PollingChecker;
    assert.equal(checkerMessage(ssl, { kind: 'failed', afterRetries: 3 }, 'RS', 'VS', { ok: false }), 'SSL_CHECK on service RS failed after 3 retries.');
    assert.equal(checkerMessage(ssl, { kind: 'success' }, 'RS', 'VS', { ok: true }), 'Remote Web server RS succeed on service.');
    const misc = { type: 'MISC_CHECK', retry: 1, logAllFailures: false, miscPath: '/bin/check arg', script: { argv: ['/bin/check', 'arg'] } } as unknown as PollingChecker;
    assert.equal(
      checkerMessage(misc, { kind: 'failed' }, '[10.0.0.2]:tcp:80', '[10.0.0.1]:tcp:80', { ok: false, reason: 'exit 1', detail: 'exited with status 1' }),
      'Misc check for [[10.0.0.2]:tcp:80 VS [10.0.0.1]:tcp:80] by [/bin/check] failed after 1 retry (exited with status 1).',
    );
    assert.equal(checkerMessage(misc, { kind: 'success' }, 'RS', 'VS', { ok: true }), 'Misc check for [RS VS VS] by [/bin/check] succeeded.');
    const dns = { type: 'DNS_CHECK', retry: 3, logAllFailures: false } as PollingChecker;
    assert.equal(checkerMessage(dns, { kind: 'failed', afterRetries: 3 }, 'RS', 'VS', { ok: false, detail: 'read timeout from socket' }), 'DNS_CHECK (RS) read timeout from socket after 3 retries');
  });
});
