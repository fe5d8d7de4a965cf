// The no-IPVS fallback: deciding from what ipvsadm and /proc say, probing with
// stand-in ipvsadm programs, the dry-run backend's table and log lines, and
// the IPVS manager running on it.

import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { loadConfigText } from '../../src/config/index.js';
import { fakeEnvironment } from '../../src/config/env.js';
import type { FileInfo } from '../../src/config/env.js';
import { realServerId } from '../../src/ipvs/desired.js';
import type { RealServerHealth } from '../../src/ipvs/desired.js';
import { DRY_RUN_PREFIX, DryRunBackend, chooseIpvsBackend, classifyIpvs, noIpvsWarning, probeIpvs } from '../../src/ipvs/dry-run.js';
import { IpvsadmBackend, formatTable } from '../../src/ipvs/ipvsadm.js';
import { IpvsManager } from '../../src/ipvs/manager.js';
import type { HealthChange, HealthSource } from '../../src/ipvs/manager.js';
import type { ServiceAttrs, ServiceKey } from '../../src/ipvs/types.js';

interface Line {
  level: string;
  msg: string;
  [k: string]: unknown;
}

function captureLog() {
  const lines: Line[] = [];
  const at = (level: string) => (obj: object, msg: string) => void lines.push({ ...(obj as Record<string, unknown>), level, msg });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

const NO_IPVS = "Can't initialize ipvs: Protocol not available\nAre you sure that IP Virtual Server is built in the kernel or as module?\n";

describe('no-IPVS fallback', () => {
  describe('classifyIpvs', () => {
    it('IPVS is there when /proc/net/ip_vs exists or ipvsadm -S -n succeeds', () => {
      assert.deepEqual(classifyIpvs({ procIpVs: true }), { kind: 'available' });
      assert.deepEqual(classifyIpvs({ procIpVs: false, ipvsadm: { kind: 'exit', code: 0, stderr: '' } }), { kind: 'available' });
    });

    it('no IPVS when ipvsadm cannot initialize it (protocol not available, module not found)', () => {
      assert.deepEqual(classifyIpvs({ procIpVs: false, ipvsadm: { kind: 'exit', code: 2, stderr: NO_IPVS } }), {
        kind: 'absent',
        reason: "ipvsadm: Can't initialize ipvs: Protocol not available",
      });
      // As on this kernel: modprobe's complaint first.
      const modprobe = 'modprobe: FATAL: Module ip_vs not found in directory /lib/modules/6.18.44\n';
      assert.deepEqual(classifyIpvs({ procIpVs: false, ipvsadm: { kind: 'exit', code: 2, stderr: modprobe + NO_IPVS } }), {
        kind: 'absent',
        reason: "ip_vs module not loadable; ipvsadm: Can't initialize ipvs: Protocol not available",
      });
      const r = classifyIpvs({ procIpVs: false, ipvsadm: { kind: 'exit', code: 2, stderr: "Can't initialize ipvs: No such file or directory\n" } });
      assert.equal(r.kind, 'absent');
    });

    it('dry run when ipvsadm is not installed and ip_vs is not loaded', () => {
      const r = classifyIpvs({ procIpVs: false, ipvsadm: { kind: 'missing' } });
      assert.equal(r.kind, 'absent');
      assert.match((r as { reason: string }).reason, /ipvsadm not installed/);
    });

    it('unknown (real backend) for permission problems, timeouts and other failures', () => {
      for (const ipvsadm of [
        { kind: 'exit' as const, code: 2, stderr: "Can't initialize ipvs: Permission denied (you must be root)\n" },
        { kind: 'exit' as const, code: 1, stderr: 'something else\n' },
        { kind: 'exit' as const, code: 1, stderr: '' },
        { kind: 'error' as const, message: 'ipvsadm -S -n timed out after 10000 ms' },
      ]) {
        const r = classifyIpvs({ procIpVs: false, ipvsadm });
        assert.equal(r.kind, 'unknown', JSON.stringify(ipvsadm));
        assert.ok((r as { reason: string }).reason.length > 0);
      }
    });
  });

  describe('probeIpvs', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'hc-dryrun-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    function fakeIpvsadm(name: string, body: string): string {
      const p = join(dir, name);
      writeFileSync(p, `#!/bin/sh\n${body}\n`);
      chmodSync(p, 0o755);
      return p;
    }
    const noProc = () => join(dir, 'no-such-proc-file');

    it('reads ipvsadm -S -n: failure to initialize IPVS → absent', async () => {
      const ipvsadm = fakeIpvsadm('noipvs', `[ "$1 $2" = "-S -n" ] || exit 9\nprintf "%s" "${NO_IPVS.replace(/\n/g, '\\n')}" >&2\nexit 2`);
      const r = await probeIpvs({ ipvsadm, procPath: noProc() });
      assert.equal(r.kind, 'absent');
      assert.match((r as { reason: string }).reason, /Protocol not available/);
    });

    it('ipvsadm -S -n succeeding → available; /proc/net/ip_vs present → available without running ipvsadm', async () => {
      assert.deepEqual(await probeIpvs({ ipvsadm: fakeIpvsadm('ok', 'exit 0'), procPath: noProc() }), { kind: 'available' });
      const proc = join(dir, 'ip_vs');
      writeFileSync(proc, '');
      assert.deepEqual(await probeIpvs({ ipvsadm: fakeIpvsadm('never', 'exit 7'), procPath: proc }), { kind: 'available' });
    });

    it('ipvsadm missing → absent; hanging → unknown within the time limit', async () => {
      assert.equal((await probeIpvs({ ipvsadm: join(dir, 'not-installed'), procPath: noProc() })).kind, 'absent');
      const t0 = Date.now();
      const r = await probeIpvs({ ipvsadm: fakeIpvsadm('hang', 'exec sleep 30'), procPath: noProc(), timeoutMs: 300 });
      assert.equal(r.kind, 'unknown');
      assert.match((r as { reason: string }).reason, /timed out/);
      assert.ok(Date.now() - t0 < 10_000);
    });
  });

  describe('DryRunBackend', () => {
    const key: ServiceKey = { kind: 'addr', family: 'inet', protocol: 'tcp', addr: '10.0.0.100', port: 80 };
    const service: ServiceAttrs = { key, scheduler: 'rr', persistenceTimeout: 0, netmask: '255.255.255.255', schedFlags: 0, ops: false, pe: '' };

    it('keeps the table in memory and logs one entry per batch with the ipvsadm -R lines', async () => {
      const log = captureLog();
      const b = new DryRunBackend(log);
      const rs = (addr: string) => ({ addr, port: 80, forwarding: 'gatewaying' as const, weight: 1, uThreshold: 0, lThreshold: 0, tunnel: { type: 'ipip' as const, port: 0, csum: 'nocsum' as const } });
      const r1 = await b.apply([
        { kind: 'add-service', service },
        { kind: 'add-server', key, server: rs('10.0.0.21') },
        { kind: 'add-server', key, server: rs('10.0.0.22') },
      ]);
      assert.equal(r1.applied.length, 3);
      assert.deepEqual(r1.failed, []);
      assert.equal(r1.processes, 0);
      assert.deepEqual(log.lines.map((l) => l.msg), [
        `${DRY_RUN_PREFIX} -A -t 10.0.0.100:80 -s rr; -a -t 10.0.0.100:80 -r 10.0.0.21:80 -g -w 1; -a -t 10.0.0.100:80 -r 10.0.0.22:80 -g -w 1`,
      ]);
      assert.deepEqual({ level: log.lines[0]!.level, dryRun: log.lines[0]!.dryRun, ops: log.lines[0]!.ops }, { level: 'info', dryRun: true, ops: 3 });

      const r2 = await b.apply([{ kind: 'delete-server', key, server: rs('10.0.0.22') }]);
      assert.equal(r2.applied.length, 1);
      assert.equal(log.lines.at(-1)!.msg, `${DRY_RUN_PREFIX} -d -t 10.0.0.100:80 -r 10.0.0.22:80`);
      assert.equal(formatTable(await b.getTable()), '-A -t 10.0.0.100:80 -s rr\n-a -t 10.0.0.100:80 -r 10.0.0.21:80 -g -w 1\n');

      // The kernel's rules hold: a second add of the same destination fails.
      const r3 = await b.apply([{ kind: 'add-server', key, server: rs('10.0.0.21') }]);
      assert.deepEqual(r3.failed.map((f) => f.message), ['Destination already exists']);

      // An empty batch logs nothing.
      const n = log.lines.length;
      await b.apply([]);
      assert.equal(log.lines.length, n);
    });

    it('getTable returns a copy: callers cannot change the table behind its back', async () => {
      const b = new DryRunBackend(captureLog());
      await b.apply([{ kind: 'add-service', service }]);
      const t = await b.getTable();
      t.clear();
      assert.equal((await b.getTable()).size, 1);
    });
  });

  describe('chooseIpvsBackend', () => {
    it('no IPVS: one plain warning and the dry-run backend', async () => {
      const log = captureLog();
      let realBuilt = 0;
      const r = await chooseIpvsBackend({
        log,
        real: () => {
          realBuilt++;
          return new IpvsadmBackend();
        },
        probe: async () => ({ kind: 'absent', reason: "Can't initialize ipvs: Protocol not available" }),
      });
      assert.equal(r.dryRun, true);
      assert.ok(r.backend instanceof DryRunBackend);
      assert.equal(realBuilt, 0);
      assert.deepEqual(log.lines.map((l) => [l.level, l.msg]), [
        ['warn', noIpvsWarning("Can't initialize ipvs: Protocol not available")],
      ]);
      assert.match(log.lines[0]!.msg, /^Kernel has no IPVS \(.*\): IPVS changes will be logged, not applied$/);
    });

    it('IPVS there or unknown: the real backend, nothing logged', async () => {
      for (const availability of [{ kind: 'available' as const }, { kind: 'unknown' as const, reason: 'x' }]) {
        const log = captureLog();
        const real = new IpvsadmBackend();
        const r = await chooseIpvsBackend({ log, real: () => real, probe: async () => availability });
        assert.equal(r.dryRun, false);
        assert.equal(r.backend, real);
        assert.deepEqual(log.lines, []);
      }
    });
  });

  describe('IpvsManager on the dry-run backend', () => {
    const dirInfo: FileInfo = { isFile: false, isDir: true, mode: 0o755, uid: 0, gid: 0 };
    const env = fakeEnvironment({ files: { '/': dirInfo } });
    const TEXT = `
virtual_server 10.0.0.100 80 {
  lb_algo rr
  lb_kind DR
  protocol TCP
  real_server 10.0.0.21 80 { TCP_CHECK { connect_timeout 1 } }
  real_server 10.0.0.22 80 { TCP_CHECK { connect_timeout 1 } }
}
`;
    const VS = '[10.0.0.100]:tcp:80';

    class FakeHealth extends EventEmitter implements HealthSource {
      readonly map = new Map<string, RealServerHealth>();
      health(): ReadonlyMap<string, RealServerHealth> {
        return this.map;
      }
      set(ip: string, up: boolean): void {
        this.map.set(realServerId(VS, { ip, port: 80 }), { up });
        const c: HealthChange = { vs: { id: VS }, rs: { ip, port: 80 }, up, reason: up ? 'ok' : 'connection refused' };
        this.emit('change', c);
      }
    }

    it('logs the table it would create, each removal and re-addition, and the release at stop', async () => {
      const r = loadConfigText(TEXT, { env, configId: 'test', file: 'k.conf' });
      assert.deepEqual(r.diags.list.filter((d) => d.severity === 'error').map((d) => d.message), []);
      const log = captureLog();
      const health = new FakeHealth();
      const backend = new DryRunBackend(log);
      const mgr = new IpvsManager({ lvs: r.config.lvs, health, backend, log, reconcileIntervalMs: 0 });
      try {
        await mgr.start();
        const dry = () => log.lines.filter((l) => l.dryRun).map((l) => l.msg);
        assert.deepEqual(dry(), [
          `${DRY_RUN_PREFIX} -A -t 10.0.0.100:80 -s rr; -a -t 10.0.0.100:80 -r 10.0.0.21:80 -g -w 1; -a -t 10.0.0.100:80 -r 10.0.0.22:80 -g -w 1`,
        ]);
        health.set('10.0.0.22', false);
        await mgr.idle();
        assert.equal(dry().at(-1), `${DRY_RUN_PREFIX} -d -t 10.0.0.100:80 -r 10.0.0.22:80`);
        assert.ok(log.lines.some((l) => l.msg === `Removing service [10.0.0.22]:tcp:80 from VS ${VS}`));
        health.set('10.0.0.22', true);
        await mgr.idle();
        assert.equal(dry().at(-1), `${DRY_RUN_PREFIX} -a -t 10.0.0.100:80 -r 10.0.0.22:80 -g -w 1`);
        // A reconcile re-reads the in-memory table: nothing to change, nothing logged.
        const n = dry().length;
        await mgr.reconcileNow();
        assert.equal(dry().length, n);
        await mgr.stop();
        assert.equal(dry().at(-1), `${DRY_RUN_PREFIX} -D -t 10.0.0.100:80`);
        assert.deepEqual(log.lines.filter((l) => l.level === 'error'), []);
      } finally {
        await mgr.stop({ keep: true });
      }
    });
  });
});
