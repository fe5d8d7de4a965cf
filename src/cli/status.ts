/** `hacheck status`: the running daemon's instances and real servers, from its status socket. */
import { connect } from 'node:net';
import type { DaemonStatus } from '../daemon/daemon.js';

export function fetchStatus(path: string, timeoutMs = 3000): Promise<DaemonStatus> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const s = connect(path);
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer from ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    s.setEncoding('utf8');
    s.on('data', (d: string) => (buf += d));
    s.on('error', (e) => {
      clearTimeout(t);
      reject(new Error(`cannot reach the daemon at ${path}: ${e.message}`));
    });
    s.on('end', () => {
      clearTimeout(t);
      try {
        resolve(JSON.parse(buf) as DaemonStatus);
      } catch (e) {
        reject(new Error(`bad status from ${path}: ${(e as Error).message}`));
      }
    });
  });
}

function table(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd()).join('\n') + '\n';
}

export function formatStatus(s: DaemonStatus): string {
  let out = `hacheck pid ${s.pid}, config ${s.configFile}, up since ${s.startedAt}, ${s.reloads} reload(s)\n\n`;
  if (s.vrrp.length) {
    out += table([
      ['INSTANCE', 'VRID', 'IFACE', 'STATE', 'PRIO', 'EFFECTIVE', 'MASTER', 'SENT', 'RCVD', 'ERRORS', 'FAULTS'],
      ...s.vrrp.map((i) => [
        i.name, String(i.vrid), i.interface, i.state, String(i.basePriority), String(i.effectivePriority),
        i.state === 'MASTER' ? 'self' : (i.masterAddress ?? '-'), String(i.stats.advertSent), String(i.stats.advertRcvd),
        String(Object.values(i.stats.errors).reduce((a, b) => a + b, 0)), i.faults.join(',') || '-',
      ]),
    ]);
  }
  const rs = (s.lvs as { realServers?: { vs: string; rs: string; up: boolean; weight: number; reason?: string }[] } | undefined)?.realServers;
  if (rs?.length) {
    out += '\n' + table([['VIRTUAL SERVER', 'REAL SERVER', 'UP', 'WEIGHT', 'LAST REASON'], ...rs.map((r) => [r.vs, r.rs, r.up ? 'up' : 'DOWN', String(r.weight), r.reason ?? '-'])]);
  }
  return out;
}
