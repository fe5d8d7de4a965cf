// "Same table as keepalived": for keepalived's sample LVS configurations
// (../shared/corpus/keepalived-samples, those keepalived accepts) and our own,
// run keepalived 2.2.7 (`keepalived -n -l -C`) and then hacheck's IpvsManager
// on the same file in the IPVS VM, and compare what the kernel holds.
//
// What is compared: the table right after start-up, before any checker has
// reported. Both agents start real servers up unless `alpha` (then down,
// with the quorum/sorry-server consequences), so this state is fully
// determined by the configuration and exercises every config→table rule
// (services, schedulers, flags, persistence, forwarding, tunnels, weights,
// thresholds, inhibit_on_failure, sorry servers, groups, fwmarks, IPv6).
// To keep keepalived's checkers from changing it while we read it, all
// traffic to real servers is routed into a dummy interface, where
// connections hang until connect_timeout (≥ 1 s + connect_timeout×(retry+1)
// before any real server can go down). keepalived's table is read once two
// reads 300 ms apart agree. hacheck runs with a health source that never
// reports. Both `ipvsadm -S -n` and `ipvsadm -L -n --thresholds` (which
// -S leaves out) must be identical.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventEmitter } from 'node:events';

import { pino } from 'pino';

import { loadConfigFile } from '../../src/config/index.js';
import type { RealServerHealth } from '../../src/ipvs/desired.js';
import { IpvsadmBackend } from '../../src/ipvs/ipvsadm.js';
import { IpvsManager } from '../../src/ipvs/manager.js';
import type { HealthSource } from '../../src/ipvs/manager.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const corpus = join(root, '..', 'shared', 'corpus', 'keepalived-samples');

const run = (cmd: string, ...args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const snapshot = (): string => `${run('ipvsadm', '-S', '-n')}--- thresholds\n${run('ipvsadm', '-L', '-n', '--thresholds')}`;

/** A health source that never reports: the state before the first check. */
class Silent extends EventEmitter implements HealthSource {
  health(): ReadonlyMap<string, RealServerHealth> {
    return new Map();
  }
}

/** Sample configs with virtual_server blocks that keepalived accepts for its checker (VERDICTS.tsv; fwmark and SSL_GET only have non-LVS findings). */
function samples(): string[] {
  const verdicts = readFileSync(join(corpus, 'VERDICTS.tsv'), 'utf8').split('\n').slice(1).filter(Boolean);
  const out: string[] = [];
  for (const line of verdicts) {
    const [file, exit] = line.split('\t');
    const text = readFileSync(join(corpus, file!), 'utf8');
    if (!/^\s*virtual_server\s/m.test(text)) continue;
    if (exit === '0' || file === 'keepalived.conf.fwmark' || file === 'keepalived.conf.SSL_GET') out.push(file!);
  }
  return out;
}

/** Our own: everything the table can express, with alpha, sorry servers, inhibit and groups. */
const OWN = `
virtual_server_group web {
  192.168.50.1-3 80
  fwmark 7
}
virtual_server group web {
  lb_algo wrr
  lb_kind DR
  protocol TCP
  persistence_timeout 120
  real_server 10.9.0.2 80 {
    weight 3
    uthreshold 100
    lthreshold 20
    TCP_CHECK { connect_timeout 3 }
  }
  real_server 10.9.0.3 80 {
    weight 2
    TCP_CHECK { connect_timeout 3 }
  }
}
virtual_server 192.168.50.10 53 {
  lb_algo sh
  sh-port
  ops
  lb_kind TUN
  protocol UDP
  real_server 10.9.1.2 53 {
    TCP_CHECK { connect_port 53 connect_timeout 3 }
  }
  real_server 10.9.1.3 53 {
    lvs_method TUN type gue port 6080 csum
    TCP_CHECK { connect_port 53 connect_timeout 3 }
  }
}
virtual_server 192.168.50.11 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  alpha
  quorum 2
  sorry_server 10.9.2.9 8080
  real_server 10.9.2.2 8080 {
    TCP_CHECK { connect_timeout 3 }
  }
  real_server 10.9.2.3 8080 {
    inhibit_on_failure
    TCP_CHECK { connect_timeout 3 }
  }
}
virtual_server 192.168.50.13 443 {
  lb_algo wlc
  lb_kind NAT
  protocol TCP
  persistence_granularity 255.255.0.0
  persistence_engine sip
  real_server 10.9.4.2 443 {
    TCP_CHECK { connect_timeout 3 }
  }
}
virtual_server 192.168.50.12 80 {
  lb_algo mh
  mh-fallback
  lb_kind NAT
  protocol SCTP
  sorry_server 10.9.3.9 80
  sorry_server_inhibit
  real_server 10.9.3.2 80 {
    weight 5
    TCP_CHECK { connect_timeout 3 }
  }
}
virtual_server 2001:db8:50::1 443 {
  lb_algo lc
  lb_kind NAT
  protocol TCP
  inhibit_on_failure
  alpha
  real_server 2001:db8:9::2 8443 {
    TCP_CHECK { connect_timeout 3 }
  }
  real_server 2001:db8:9::3 8443 {
    alpha off
    TCP_CHECK { connect_timeout 3 }
  }
}
`;

const GROUP_GRANULARITY = `
virtual_server_group web {
  192.168.51.1-2 80
  fwmark 8
}
virtual_server group web {
  lb_algo rr
  lb_kind DR
  protocol TCP
  persistence_timeout 120
  persistence_granularity 255.255.255.0
  real_server 10.9.5.2 80 {
    TCP_CHECK { connect_timeout 3 }
  }
}
`;

describe('kernel: same IPVS table as keepalived 2.2.7', function () {
  const dir = mkdtempSync(join(tmpdir(), 'hc-cmp-'));
  let usable = false;

  before(function () {
    try {
      run('ipvsadm', '-C');
      run('keepalived', '--version');
      usable = true;
    } catch (e) {
      console.log(`SKIP: needs IPVS and keepalived (${(e as Error).message.split('\n')[0]}); run scripts/test-kernel.sh`);
      this.skip();
    }
    // Checks to real servers hang in a dummy interface instead of failing at once.
    run('ip', 'link', 'add', 'hccmp0', 'type', 'dummy');
    run('ip', 'link', 'set', 'hccmp0', 'up');
    run('ip', 'route', 'add', 'default', 'dev', 'hccmp0');
    try {
      run('ip', '-6', 'route', 'add', 'default', 'dev', 'hccmp0');
    } catch {
      /* no IPv6 */
    }
    writeFileSync(join(dir, 'own.conf'), OWN);
  });

  after(() => {
    if (!usable) return;
    try {
      run('ip', 'link', 'del', 'hccmp0');
    } catch {
      /* gone */
    }
    run('ipvsadm', '-C');
  });

  async function keepalivedTable(conf: string): Promise<string> {
    run('ipvsadm', '-C');
    // Own process group, so keepalived and its checker child are killed together
    // (a graceful stop waits ~10 s for SMTP alerts in the samples).
    const k = spawn('keepalived', ['-n', '-l', '-C', '-f', conf, '-p', join(dir, 'k.pid'), '-c', join(dir, 'c.pid')], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    k.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    k.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((r) => k.once('exit', r));
    try {
      let prev = '';
      const t0 = performance.now();
      for (;;) {
        await sleep(300);
        const s = snapshot();
        if (s === prev && !s.startsWith('--- thresholds')) return s;
        prev = s;
        if (performance.now() - t0 > 60_000 || k.exitCode !== null) throw new Error(`keepalived did not settle:\n${out}`);
      }
    } finally {
      // The group, and the checker child by its pid file in case it left the group.
      const pids = [-k.pid!];
      try {
        pids.push(Number(readFileSync(join(dir, 'c.pid'), 'utf8').trim()));
      } catch {
        /* no checker pid file */
      }
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      await Promise.race([exited, sleep(20_000)]);
      // the checker child is in the same group; give the kernel a moment to reap it
      await sleep(200);
      run('ipvsadm', '-C');
    }
  }

  async function hacheckTable(conf: string): Promise<string> {
    run('ipvsadm', '-C');
    const lvs = loadConfigFile(conf).config.lvs;
    const mgr = new IpvsManager({
      lvs,
      health: new Silent(),
      backend: new IpvsadmBackend({ timeoutMs: 60_000 }),
      log: pino({ level: 'silent' }),
      reconcileIntervalMs: 0,
    });
    await mgr.start();
    const s = snapshot();
    await mgr.stop();
    assert.equal(run('ipvsadm', '-S', '-n'), '', 'stop removed everything');
    return s;
  }

  // keepalived resets the persistence netmask of every virtual_server_group
  // service to the family default (ipvswrapper.c ipvs_group_range_cmd and the
  // fwmark loop of ipvs_group_cmd), so persistence_granularity has no effect
  // on groups; desired.ts still applies it. Pending until desired.ts follows.
  it('persistence_granularity on a virtual_server_group (keepalived ignores it)', async () => {
    const conf = join(dir, 'group-granularity.conf');
    writeFileSync(conf, GROUP_GRANULARITY);
    assert.equal(await hacheckTable(conf), await keepalivedTable(conf));
  });

  const cases = [...samples().map((f) => ({ name: f, path: join(corpus, f) })), { name: 'own: groups/TUN gue/alpha/sorry/inhibit/SCTP/IPv6', path: join(dir, 'own.conf') }];
  for (const c of cases) {
    it(c.name, async () => {
      const kt = await keepalivedTable(c.path);
      const ht = await hacheckTable(c.path);
      assert.equal(ht, kt);
    });
  }
});
