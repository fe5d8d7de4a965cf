// hacheck's command line. keepalived's options keep keepalived's meaning.

import { loadConfigFile } from '../config/index.js';
import { formatDiagnostic } from '../config/diagnostics.js';
import { parseArgs, SIGNUMS, usage } from './args.js';

/**
 * Set when main has run `-t` alone: nothing is left running once its messages are out,
 * so bin/hacheck.js may exit then instead of waiting for Node to tear down a large
 * configuration's heap (10-20 ms).
 */
export let exitAtOnce = false;

export async function main(argv: string[]): Promise<number> {
  const o = parseArgs(argv);
  if (typeof o === 'string') {
    process.stderr.write(`${o}\n`);
    return 1;
  }
  if (o.help) {
    process.stdout.write(usage());
    return 0;
  }
  if (o.signum !== undefined) {
    const n = SIGNUMS[o.signum];
    if (n === undefined) {
      process.stderr.write(`Unknown sigfunc ${o.signum}\n`);
      return 1;
    }
    process.stdout.write(`${n}\n`);
    return 0;
  }
  if (o.version) {
    process.stdout.write('hacheck 0.1.0 (keepalived 2.2.x configuration compatible)\n');
    return 0;
  }
  if (o.configTest || o.dumpConfig) {
    // Less inlining by TurboFan: reading a configuration is a short run of code that is
    // hot only for a while, and compiling it with full inlining took more CPU on the
    // background threads than it saved (bench/parse on 2 busy cores: about a sixth less
    // CPU time in all, a tenth less wall time, the same on the main thread).
    const { setFlagsFromString } = await import('node:v8');
    setFlagsFromString('--max-inlined-bytecode-size-cumulative=300');
    // -t alone needs the messages, not the model
    const loaded = loadConfigFile(o.configFile, { configId: o.configId, checkOnly: !o.dumpConfig });
    for (const d of loaded.diags.list) process.stderr.write(formatDiagnostic(d, loaded.sources) + '\n');
    if (o.dumpConfig) {
      // -t alone does not load it
      const { toJson } = await import('../config/dump.js');
      process.stdout.write(toJson(loaded.config) + '\n');
    } else exitAtOnce = true;
    return loaded.diags.exitCode();
  }
  if (o.status) {
    const { fetchStatus, formatStatus } = await import('./status.js');
    const { DEFAULT_STATUS_SOCKET } = await import('../daemon/daemon.js');
    try {
      const st = await fetchStatus(o.statusSocket ?? DEFAULT_STATUS_SOCKET);
      process.stdout.write(o.dumpConfig ? JSON.stringify(st, null, 2) + '\n' : formatStatus(st));
      return 0;
    } catch (e) {
      process.stderr.write(`hacheck status: ${(e as Error).message}\n`);
      return 1;
    }
  }
  if (o.genhash) {
    const { genhashMain } = await import('../checkers/genhash.js');
    return genhashMain(o.genhash);
  }
  const { parseFacility } = await import('../daemon/syslog.js');
  if (o.logFacility !== undefined && parseFacility(o.logFacility) === undefined) process.stderr.write(`Invalid log facility '${o.logFacility}'\n`);
  const { runDaemon } = await import('../daemon/daemon.js');
  const { defaultHooks } = await import('../daemon/hooks.js');
  return runDaemon(o, defaultHooks());
}
