// IpvsManager logic against an in-memory backend and a fake health source:
// adoption, diffs on health changes, coalescing, quorum and sorry server,
// scripts, failures, healing, reload and stop.

import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';

import { loadConfigText } from '../../src/config/index.js';
import { fakeEnvironment } from '../../src/config/env.js';
import type { FileInfo } from '../../src/config/env.js';
import type { LvsConfig } from '../../src/config/model/lvs.js';
import { toIpvsSpecs } from '../../src/config/model/lvs.js';
import { desiredTable, realServerId } from '../../src/ipvs/desired.js';
import type { RealServerHealth } from '../../src/ipvs/desired.js';
import { IpvsadmBackend, formatOp, formatTable } from '../../src/ipvs/ipvsadm.js';
import { IpvsManager } from '../../src/ipvs/manager.js';
import type { AppliedEvent, HealthChange, HealthSource, IpvsManagerOptions, ManagerLogger } from '../../src/ipvs/manager.js';
import { MemoryBackend } from '../../src/ipvs/manager-memory.js';
import type { RunScriptOptions, ScriptResult } from '../../src/scripts/exec.js';

const exe: FileInfo = { isFile: true, isDir: false, mode: 0o755, uid: 0, gid: 0 };
const dir: FileInfo = { isFile: false, isDir: true, mode: 0o755, uid: 0, gid: 0 };
const env = fakeEnvironment({
  files: { '/': dir, '/usr': dir, '/usr/bin': dir, '/usr/bin/notify': exe, '/usr/bin/quorum': exe },
  users: { nobody: { uid: 65534, gid: 65534 } },
  groups: { nogroup: 65534 },
});

function lvsOf(text: string): LvsConfig {
  const r = loadConfigText(text, { env, configId: 'test', file: 'k.conf' });
  const errs = r.diags.list.filter((d) => d.severity === 'error');
  assert.deepEqual(errs.map((d) => d.message), []);
  return r.config.lvs;
}

const BASE = `
global_defs {
  script_user root
  enable_script_security
}
virtual_server 192.168.100.10 80 {
  lb_algo wrr
  lb_kind NAT
  protocol TCP
  quorum_up "/usr/bin/quorum up"
  quorum_down "/usr/bin/quorum down"
  sorry_server 10.0.9.9 8080
  real_server 10.0.1.2 8080 {
    weight 1
    notify_up "/usr/bin/notify up rs1"
    notify_down "/usr/bin/notify down rs1"
    TCP_CHECK { connect_timeout 1 }
  }
}
virtual_server 192.168.100.11 443 {
  lb_algo wlc
  lb_kind DR
  protocol TCP
  quorum 3
  real_server 10.0.2.2 443 {
    weight 2
    inhibit_on_failure
    TCP_CHECK { connect_timeout 1 }
  }
  real_server 10.0.2.3 443 {
    weight 2
    TCP_CHECK { connect_timeout 1 }
  }
}
virtual_server 192.168.100.12 53 {
  lb_algo rr
  lb_kind TUN
  protocol UDP
  alpha
  real_server 10.0.3.2 53 {
    TCP_CHECK { connect_timeout 1 }
  }
}
`;

class FakeHealth extends EventEmitter implements HealthSource {
  readonly map = new Map<string, RealServerHealth>();
  health(): ReadonlyMap<string, RealServerHealth> {
    return this.map;
  }
  set(vsId: string, ip: string, port: number, up: boolean, weight?: number): void {
    const h: RealServerHealth = weight === undefined ? { up } : { up, weight };
    this.map.set(realServerId(vsId, { ip, port }), h);
    const c: HealthChange = { vs: { id: vsId }, rs: { ip, port }, up, reason: up ? 'check ok' : 'connection refused' };
    if (weight !== undefined) c.weight = weight;
    this.emit('change', c);
  }
}

interface LogLine {
  level: string;
  msg: string;
  [k: string]: unknown;
}

function captureLog(): ManagerLogger & { lines: LogLine[]; msgs(level?: string): string[] } {
  const lines: LogLine[] = [];
  const at = (level: string) => (obj: object, msg: string) => lines.push({ ...(obj as Record<string, unknown>), level, msg });
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    msgs: (level?: string) => lines.filter((l) => !level || l.level === level).map((l) => l.msg),
  };
}

const VS1 = '[192.168.100.10]:tcp:80';
const VS2 = '[192.168.100.11]:tcp:443';
const VS3 = '[192.168.100.12]:udp:53';

function setup(opts: Partial<IpvsManagerOptions> & { text?: string } = {}) {
  const lvs = opts.lvs ?? lvsOf(opts.text ?? BASE);
  const health = (opts.health as FakeHealth | undefined) ?? new FakeHealth();
  const backend = (opts.backend as MemoryBackend | undefined) ?? new MemoryBackend();
  const log = captureLog();
  const scripts: string[][] = [];
  const runScript = async (o: RunScriptOptions): Promise<ScriptResult> => {
    scripts.push([...o.argv]);
    return { code: 0, timedOut: false, durationMs: 0, output: '' };
  };
  const applied: AppliedEvent[] = [];
  const mgr = new IpvsManager({ lvs, health, backend, log, runScript, reconcileIntervalMs: 0, ...opts });
  mgr.on('applied', (e: AppliedEvent) => applied.push(e));
  return { lvs, health, backend, log, scripts, mgr, applied };
}

const lines = (t: string) => t.split('\n').filter(Boolean);

describe('IpvsManager', () => {
  let mgr: IpvsManager | undefined;
  afterEach(async () => {
    await mgr?.stop({ keep: true });
    mgr = undefined;
  });

  it('creates the whole table from empty in one batch', async () => {
    const s = setup();
    mgr = s.mgr;
    await s.mgr.start();
    assert.equal(s.backend.batches.length, 1);
    assert.deepEqual(lines(formatTable(s.backend.table)), [
      '-A -t 192.168.100.10:80 -s wrr',
      '-a -t 192.168.100.10:80 -r 10.0.1.2:8080 -m -w 1',
      '-A -t 192.168.100.11:443 -s wlc',
      '-a -t 192.168.100.11:443 -r 10.0.2.2:443 -g -w 2',
      '-a -t 192.168.100.11:443 -r 10.0.2.3:443 -g -w 2',
      // alpha: nothing until the first successful check
      '-A -u 192.168.100.12:53 -s rr',
    ]);
    assert.deepEqual(s.log.msgs('error'), []);
  });

  it('adopts matching entries at start: only the difference is applied, foreign services untouched', async () => {
    const backend = new MemoryBackend();
    const lvs = lvsOf(BASE);
    const want = desiredTable(toIpvsSpecs(lvs));
    backend.table = want;
    // a weight changed, a stale destination in a managed service, a foreign service
    backend.table.get('tcp 192.168.100.10:80')!.realServers.get('10.0.1.2:8080')!.weight = 9;
    await backend.apply([
      { kind: 'add-server', key: want.get('tcp 192.168.100.11:443')!.key, server: { ...want.get('tcp 192.168.100.11:443')!.realServers.get('10.0.2.2:443')!, addr: '10.0.2.99' } },
      { kind: 'add-service', service: { ...want.get('tcp 192.168.100.10:80')!, key: { kind: 'addr', family: 'inet', protocol: 'tcp', addr: '172.16.0.1', port: 80 } } },
    ]);
    backend.batches.length = 0;
    const s = setup({ lvs, backend });
    mgr = s.mgr;
    await s.mgr.start();
    assert.deepEqual(backend.batches.map((b) => b.map(formatOp)), [
      ['-d -t 192.168.100.11:443 -r 10.0.2.99:443', '-e -t 192.168.100.10:80 -r 10.0.1.2:8080 -m -w 1'],
    ]);
    assert.ok(backend.table.has('tcp 172.16.0.1:80'), 'foreign service kept');
    assert.deepEqual([...s.mgr.managedServices()].sort(), ['tcp 192.168.100.10:80', 'tcp 192.168.100.11:443', 'udp 192.168.100.12:53']);
  });

  it('removes a failed real server and re-adds it, with keepalived log lines and notify scripts', async () => {
    const s = setup({ text: BASE.replace('quorum 3', 'quorum 1') });
    mgr = s.mgr;
    await s.mgr.start();
    s.health.set(VS2, '10.0.2.3', 443, false);
    await s.mgr.idle();
    assert.deepEqual(s.backend.batches.at(-1)!.map(formatOp), ['-d -t 192.168.100.11:443 -r 10.0.2.3:443']);
    const line = s.log.lines.find((l) => l.msg === `Removing service [10.0.2.3]:tcp:443 from VS ${VS2}`);
    assert.ok(line, s.log.msgs().join('\n'));
    assert.deepEqual({ vs: line.vs, rs: line.rs, reason: line.reason, weight: line.weight }, { vs: VS2, rs: '[10.0.2.3]:tcp:443', reason: 'connection refused', weight: 2 });
    s.health.set(VS2, '10.0.2.3', 443, true);
    await s.mgr.idle();
    assert.deepEqual(s.backend.batches.at(-1)!.map(formatOp), ['-a -t 192.168.100.11:443 -r 10.0.2.3:443 -g -w 2']);
    assert.ok(s.log.msgs().includes(`Adding service [10.0.2.3]:tcp:443 to VS ${VS2}`));
  });

  it('inhibit_on_failure: weight 0 instead of removal ("Disabling service ... of VS")', async () => {
    const s = setup({ text: BASE.replace('quorum 3', 'quorum 1') });
    mgr = s.mgr;
    await s.mgr.start();
    s.health.set(VS2, '10.0.2.2', 443, false);
    await s.mgr.idle();
    assert.deepEqual(s.backend.batches.at(-1)!.map(formatOp), ['-e -t 192.168.100.11:443 -r 10.0.2.2:443 -g -w 0']);
    assert.ok(s.log.msgs().includes(`Disabling service [10.0.2.2]:tcp:443 of VS ${VS2}`));
    s.health.set(VS2, '10.0.2.2', 443, true);
    await s.mgr.idle();
    assert.deepEqual(s.backend.batches.at(-1)!.map(formatOp), ['-e -t 192.168.100.11:443 -r 10.0.2.2:443 -g -w 2']);
    assert.ok(s.log.msgs().includes(`Enabling service [10.0.2.2]:tcp:443 of VS ${VS2}`));
  });

  it('runs notify_down/notify_up with the configured argv', async () => {
    const s = setup();
    mgr = s.mgr;
    await s.mgr.start();
    s.health.set(VS1, '10.0.1.2', 8080, false);
    s.health.set(VS1, '10.0.1.2', 8080, true);
    await s.mgr.idle();
    await s.mgr.stop({ keep: true });
    assert.deepEqual(
      s.scripts.filter((a) => a[0] === '/usr/bin/notify'),
      [
        ['/usr/bin/notify', 'down', 'rs1'],
        ['/usr/bin/notify', 'up', 'rs1'],
      ],
    );
  });

  it('quorum lost → sorry server in, real servers out; regained → back, with quorum scripts', async () => {
    const s = setup();
    mgr = s.mgr;
    await s.mgr.start();
    s.health.set(VS1, '10.0.1.2', 8080, false);
    await s.mgr.idle();
    assert.ok(s.log.msgs().includes(`Lost quorum 1-0=1 > 0 for VS ${VS1}`), s.log.msgs().join('\n'));
    assert.ok(s.log.msgs().includes(`Adding sorry server [10.0.9.9]:tcp:8080 to VS ${VS1}`));
    assert.deepEqual(
      lines(formatTable(s.backend.table)).filter((l) => l.includes('192.168.100.10')),
      ['-A -t 192.168.100.10:80 -s wrr', '-a -t 192.168.100.10:80 -r 10.0.9.9:8080 -m -w 1'],
    );
    s.health.set(VS1, '10.0.1.2', 8080, true);
    await s.mgr.idle();
    assert.ok(s.log.msgs().includes(`Gained quorum 1+0=1 <= 1 for VS ${VS1}`));
    assert.ok(s.log.msgs().includes(`Removing sorry server [10.0.9.9]:tcp:8080 from VS ${VS1}`));
    assert.deepEqual(s.backend.batches.at(-1)!.map(formatOp), ['-d -t 192.168.100.10:80 -r 10.0.9.9:8080', '-a -t 192.168.100.10:80 -r 10.0.1.2:8080 -m -w 1']);
    await s.mgr.stop({ keep: true });
    assert.deepEqual(
      s.scripts.filter((a) => a[0] === '/usr/bin/quorum'),
      [
        ['/usr/bin/quorum', 'down'],
        ['/usr/bin/quorum', 'up'],
      ],
    );
  });

  it('quorum with weights: lost below the quorum without a sorry server changes nothing in the table', async () => {
    const s = setup();
    mgr = s.mgr;
    await s.mgr.start();
    s.health.set(VS2, '10.0.2.3', 443, false); // live weight 2 < quorum 3
    await s.mgr.idle();
    // The quorum was never up (4 >= 3 at start, so it was): lost now.
    assert.ok(s.log.msgs().includes(`Lost quorum 3-0=3 > 2 for VS ${VS2}`), s.log.msgs().join('\n'));
    assert.deepEqual(s.backend.batches.at(-1)!.map(formatOp), ['-d -t 192.168.100.11:443 -r 10.0.2.3:443']);
  });

  it('alpha real server: added on its first successful check', async () => {
    const s = setup();
    mgr = s.mgr;
    await s.mgr.start();
    s.health.set(VS3, '10.0.3.2', 53, true);
    await s.mgr.idle();
    assert.deepEqual(s.backend.batches.at(-1)!.map(formatOp), ['-a -u 192.168.100.12:53 -r 10.0.3.2:53 -i -w 1']);
    assert.ok(s.log.msgs().includes(`Adding service [10.0.3.2]:udp:53 to VS ${VS3}`));
  });

  it('alpha with a sorry server starts with quorum down and the sorry server in', async () => {
    const s = setup({ text: BASE.replace('lb_algo wrr', 'lb_algo wrr\n  alpha') });
    mgr = s.mgr;
    await s.mgr.start();
    assert.ok(s.log.msgs().includes(`Starting with quorum down 1+0=1 > 0 for VS ${VS1}`), s.log.msgs().join('\n'));
    assert.ok(lines(formatTable(s.backend.table)).includes('-a -t 192.168.100.10:80 -r 10.0.9.9:8080 -m -w 1'));
  });

  it('dynamic weight: one -e and keepalived\'s "Changing weight" line', async () => {
    const s = setup();
    mgr = s.mgr;
    await s.mgr.start();
    s.health.set(VS2, '10.0.2.3', 443, true, 5);
    await s.mgr.idle();
    assert.deepEqual(s.backend.batches.at(-1)!.map(formatOp), ['-e -t 192.168.100.11:443 -r 10.0.2.3:443 -g -w 5']);
    assert.ok(s.log.msgs().includes(`Changing weight from 2 to 5 for active service [10.0.2.3]:tcp:443 of VS ${VS2}`));
  });

  it('coalesces a burst of changes into one batch and never overlaps batches', async () => {
    const s = setup({ text: BASE.replace('quorum 3', 'quorum 1') });
    mgr = s.mgr;
    await s.mgr.start();
    s.backend.delayMs = 30;
    const before = s.backend.batches.length;
    for (let i = 0; i < 20; i++) {
      s.health.set(VS2, '10.0.2.3', 443, i % 2 === 0);
      s.health.set(VS2, '10.0.2.2', 443, i % 2 === 0);
    }
    await s.mgr.idle();
    assert.equal(s.backend.batches.length - before, 1);
    // Changes arriving while a batch runs go into exactly one more batch.
    s.health.set(VS2, '10.0.2.3', 443, true);
    await new Promise((r) => setTimeout(r, 15));
    s.health.set(VS2, '10.0.2.3', 443, false);
    s.health.set(VS2, '10.0.2.2', 443, true);
    await s.mgr.idle();
    assert.equal(s.backend.maxConcurrent, 1);
    assert.deepEqual(lines(formatTable(s.backend.table)).filter((l) => l.includes('443')), [
      '-A -t 192.168.100.11:443 -s wlc',
      '-a -t 192.168.100.11:443 -r 10.0.2.2:443 -g -w 2',
    ]);
  });

  it('one failing operation: logged, the rest applied, retried at the next reconcile', async () => {
    const s = setup();
    mgr = s.mgr;
    s.backend.failOp = (op) => (op.kind === 'add-server' && op.server.addr === '10.0.2.3' ? 'Memory allocation problem' : undefined);
    await s.mgr.start();
    assert.ok(s.log.msgs('error').includes('IPVS: "ipvsadm -a -t 192.168.100.11:443 -r 10.0.2.3:443 -g -w 2" failed: Memory allocation problem'), s.log.msgs().join('\n'));
    assert.equal(s.backend.table.get('tcp 192.168.100.11:443')!.realServers.size, 1);
    assert.equal(s.backend.table.get('tcp 192.168.100.10:80')!.realServers.size, 1);
    s.backend.failOp = undefined;
    await s.mgr.reconcileNow();
    assert.deepEqual(s.backend.batches.at(-1)!.map(formatOp), ['-a -t 192.168.100.11:443 -r 10.0.2.3:443 -g -w 2']);
    assert.deepEqual(s.log.msgs('warn'), [], 'a retry of our own failure is not an outside change');
  });

  it('missing ipvsadm: clear error, no crash, healed once it is back', async () => {
    const s = setup();
    mgr = s.mgr;
    s.backend.missingBinary = true;
    await s.mgr.start();
    assert.ok(s.log.msgs('error').some((m) => m.startsWith('Cannot read the IPVS table: ipvsadm not found')), s.log.msgs().join('\n'));
    s.health.set(VS2, '10.0.2.3', 443, false);
    await s.mgr.idle();
    s.backend.missingBinary = false;
    await s.mgr.reconcileNow();
    assert.equal(s.backend.table.size, 3);
    assert.equal(s.backend.table.get('tcp 192.168.100.11:443')!.realServers.size, 1);
  });

  it('missing ipvsadm binary with the real backend: error logged, start resolves, no crash', async () => {
    const s = setup({ backend: new IpvsadmBackend({ ipvsadm: '/nonexistent/ipvsadm', restoreCommand: ['/nonexistent/ipvsadm', '-R'] }) as unknown as MemoryBackend });
    mgr = s.mgr;
    await s.mgr.start();
    assert.deepEqual(s.log.msgs('error'), ['Cannot read the IPVS table: /nonexistent/ipvsadm not found (is ipvsadm installed?); retrying at the next reconcile']);
    s.health.set(VS2, '10.0.2.3', 443, false);
    await s.mgr.idle();
    await s.mgr.stop();
    assert.equal(s.log.msgs('error').length, 3, s.log.msgs('error').join('\n'));
  });

  it('heals a table flushed behind its back (periodic reconcile)', async () => {
    const s = setup({ reconcileIntervalMs: 50 });
    mgr = s.mgr;
    await s.mgr.start();
    const want = formatTable(s.backend.table);
    s.backend.table = new Map(); // ipvsadm -C
    const deadline = Date.now() + 5000;
    while (formatTable(s.backend.table) !== want && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(formatTable(s.backend.table), want);
    assert.ok(s.log.msgs('warn').includes('IPVS table changed outside hacheck; restoring it with 6 operations'), s.log.msgs().join('\n'));
  });

  it('reload applies only the difference; removed services go, foreign ones stay', async () => {
    const s = setup();
    mgr = s.mgr;
    await s.mgr.start();
    await s.backend.apply([
      { kind: 'add-service', service: { ...s.backend.table.get('tcp 192.168.100.10:80')!, key: { kind: 'addr', family: 'inet', protocol: 'tcp', addr: '172.16.0.1', port: 80 } } },
    ]);
    s.health.set(VS2, '10.0.2.3', 443, false);
    await s.mgr.idle();
    const next = BASE.replace('weight 1\n', 'weight 4\n').replace(/virtual_server 192\.168\.100\.12 53 \{[\s\S]*$/, '');
    const before = s.backend.batches.length;
    await s.mgr.reload(lvsOf(next));
    assert.deepEqual(s.backend.batches.slice(before).map((b) => b.map(formatOp)), [
      ['-D -u 192.168.100.12:53', '-e -t 192.168.100.10:80 -r 10.0.1.2:8080 -m -w 4'],
    ]);
    // health of the real servers that stayed is kept: 10.0.2.3 is still down
    assert.equal(s.backend.table.get('tcp 192.168.100.11:443')!.realServers.has('10.0.2.3:443'), false);
    assert.ok(s.backend.table.has('tcp 172.16.0.1:80'));
  });

  it('stop removes the managed services (not foreign ones); keep leaves them', async () => {
    const s = setup();
    await s.mgr.start();
    await s.backend.apply([
      { kind: 'add-service', service: { ...s.backend.table.get('tcp 192.168.100.10:80')!, key: { kind: 'addr', family: 'inet', protocol: 'tcp', addr: '172.16.0.1', port: 80 } } },
    ]);
    await s.mgr.stop();
    assert.deepEqual([...s.backend.table.keys()], ['tcp 172.16.0.1:80']);
    assert.ok(s.log.msgs().includes(`Shutting down service [10.0.1.2]:tcp:8080 from VS ${VS1}`));

    const t = setup({ keepOnStop: true });
    await t.mgr.start();
    await t.mgr.stop();
    assert.equal(t.backend.table.size, 3);
  });

  it('ignores changes for real servers it does not know and changes after stop', async () => {
    const s = setup();
    await s.mgr.start();
    const n = s.backend.batches.length;
    s.health.set('[1.2.3.4]:tcp:1', '1.1.1.1', 1, false);
    await s.mgr.idle();
    await s.mgr.stop({ keep: true });
    s.health.set(VS2, '10.0.2.3', 443, false);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(s.backend.batches.length, n);
  });
});
