// hacheck's command line. keepalived's options keep keepalived's meaning.

import { loadConfigFile } from '../config/index.js';
import { formatDiagnostic } from '../config/diagnostics.js';
import { toJson } from '../config/dump.js';
import { parseArgs, SIGNUMS, usage } from './args.js';

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
    const loaded = loadConfigFile(o.configFile, { configId: o.configId });
    for (const d of loaded.diags.list) process.stderr.write(formatDiagnostic(d, loaded.sources) + '\n');
    if (o.dumpConfig) process.stdout.write(toJson(loaded.config) + '\n');
    return loaded.diags.exitCode();
  }
  const { runDaemon } = await import('../daemon/daemon.js');
  const { defaultHooks } = await import('../daemon/hooks.js');
  return runDaemon(o, defaultHooks());
}
