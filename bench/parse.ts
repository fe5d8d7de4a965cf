// bench/parse: `hacheck -t` against `keepalived -t` on a large generated configuration:
// 200 vrrp_instances and 10,000 virtual_servers of 4 real_servers each with TCP_CHECK
// (about 390,000 lines). Wall time and peak RSS (GNU time's %M) for each, several runs,
// and the ratio hacheck/keepalived.
//
//   npm run bench:parse [-- --runs 5]

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export function generateConfig(instances = 200, virtualServers = 10_000, realServers = 4): string {
  const out: string[] = ['global_defs {', '    router_id bench', '}', ''];
  for (let i = 0; i < instances; i++) {
    out.push(
      `vrrp_instance VI_${i} {`,
      '    state BACKUP',
      '    interface eth0',
      `    virtual_router_id ${(i % 255) + 1}`,
      '    priority 100',
      '    advert_int 1',
      '    virtual_ipaddress {',
      `        10.${100 + (i >> 8)}.${i & 255}.1/32`,
      '    }',
      '}',
    );
  }
  for (let v = 0; v < virtualServers; v++) {
    const a = `10.${(v >> 16) & 255}.${(v >> 8) & 255}.${v & 255}`;
    out.push(`virtual_server ${a} 80 {`, '    delay_loop 6', '    lb_algo rr', '    lb_kind NAT', '    protocol TCP');
    for (let r = 0; r < realServers; r++) {
      out.push(`    real_server 192.${(v >> 8) & 255}.${v & 255}.${r + 1} 80 {`, '        weight 1', '        TCP_CHECK {', '            connect_port 80', '            connect_timeout 3', '            delay_before_retry 2', '        }', '    }');
    }
    out.push('}');
  }
  return out.join('\n') + '\n';
}

interface Sample {
  wallS: number;
  /** user + system CPU time: steadier than wall time on a busy machine */
  cpuS: number;
  rssMB: number;
  code: number;
}

function timeRun(cmd: string[]): Sample {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', ...cmd], { encoding: 'utf8', maxBuffer: 256 << 20 });
  const last = r.stderr.trim().split('\n').pop() ?? '';
  const [wall, user, sys, rss] = last.split(' ').map(Number);
  return { wallS: wall, cpuS: user + sys, rssMB: rss / 1024, code: r.status ?? -1 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function main(): void {
  const runsArg = process.argv.indexOf('--runs');
  const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;
  const dir = mkdtempSync(join(tmpdir(), 'hc-bench-parse-'));
  try {
    const conf = join(dir, 'keepalived.conf');
    const text = generateConfig();
    writeFileSync(conf, text);
    console.log(`config: ${text.split('\n').length - 1} lines, ${(text.length / 1e6).toFixed(1)} MB`);
    const impls: [string, string[]][] = [['hacheck', [process.execPath, join(ROOT, 'bin/hacheck.js'), '-t', '-f', conf]]];
    let haveKeepalived = true;
    try {
      execFileSync('keepalived', ['-v'], { stdio: 'ignore' });
    } catch {
      haveKeepalived = false;
    }
    if (haveKeepalived) impls.push(['keepalived', ['keepalived', '-t', '-f', conf, '-l']]);
    else console.log('keepalived not found: hacheck alone');
    if (!existsSync('/usr/bin/time')) throw new Error('GNU time (/usr/bin/time, Debian package "time") is needed for peak RSS');
    const res: Record<string, Sample[]> = {};
    for (let i = 0; i < runs; i++) for (const [name, cmd] of impls) (res[name] ??= []).push(timeRun(cmd));
    for (const [name, xs] of Object.entries(res)) {
      const w = xs.map((x) => x.wallS);
      console.log(`${name.padEnd(10)} wall median ${median(w).toFixed(2)} s (min ${Math.min(...w).toFixed(2)}, max ${Math.max(...w).toFixed(2)}), CPU median ${median(xs.map((x) => x.cpuS)).toFixed(2)} s, peak RSS median ${median(xs.map((x) => x.rssMB)).toFixed(0)} MB, exit ${xs[0].code}, n=${xs.length}`);
    }
    // what node and module loading cost before the first line is read
    const tiny = join(dir, 'tiny.conf');
    writeFileSync(tiny, 'global_defs {\n    router_id bench\n}\n');
    const floor = Array.from({ length: runs }, () => timeRun([process.execPath, join(ROOT, 'bin/hacheck.js'), '-t', '-f', tiny]));
    console.log(`${'startup'.padEnd(10)} wall median ${median(floor.map((x) => x.wallS)).toFixed(2)} s, peak RSS median ${median(floor.map((x) => x.rssMB)).toFixed(0)} MB (hacheck -t on a 3-line config)`);
    if (res.keepalived) {
      const h = res.hacheck;
      const k = res.keepalived;
      console.log(`ratio hacheck/keepalived: wall ${(median(h.map((x) => x.wallS)) / median(k.map((x) => x.wallS))).toFixed(2)}, CPU ${(median(h.map((x) => x.cpuS)) / median(k.map((x) => x.cpuS))).toFixed(2)}, peak RSS ${(median(h.map((x) => x.rssMB)) / median(k.map((x) => x.rssMB))).toFixed(2)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
