// hacheck's command line. keepalived's options keep keepalived's meaning.

import { loadConfigFile } from '../config/index.js';
import { formatDiagnostic } from '../config/diagnostics.js';
import { toJson } from '../config/dump.js';

const DEFAULT_CONFIG = '/etc/keepalived/keepalived.conf';

interface Opts {
  configTest: boolean;
  dumpConfig: boolean;
  file: string;
  configId?: string;
  help: boolean;
  version: boolean;
}

const USAGE = `Usage: hacheck [OPTION...]
  -f, --use-file=FILE, --config=FILE   use the specified configuration file (default ${DEFAULT_CONFIG})
  -t, --config-test[=LOG_FILE]         check the configuration for obvious errors
      --dump-config                    print the resolved configuration model as JSON
  -i, --config-id ID                   skip any configuration lines beginning '@' that don't match ID
  -v, --version                        display the version number
  -h, --help                           display this help message
`;

export function parseArgs(argv: string[]): Opts | string {
  const o: Opts = { configTest: false, dumpConfig: false, file: DEFAULT_CONFIG, help: false, version: false };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let inline: string | undefined;
    if (a.startsWith('--') && a.includes('=')) {
      inline = a.slice(a.indexOf('=') + 1);
      a = a.slice(0, a.indexOf('='));
    }
    const value = (): string | undefined => inline ?? argv[++i];
    switch (a) {
      case '-t':
      case '--config-test':
        o.configTest = true;
        break;
      case '--dump-config':
        o.dumpConfig = true;
        break;
      case '-f':
      case '--use-file':
      case '--config': {
        const v = value();
        if (v === undefined) return `option '${a}' requires an argument`;
        o.file = v;
        break;
      }
      case '-i':
      case '--config-id': {
        const v = value();
        if (v === undefined) return `option '${a}' requires an argument`;
        o.configId = v;
        break;
      }
      case '-h':
      case '--help':
        o.help = true;
        break;
      case '-v':
      case '--version':
        o.version = true;
        break;
      case '-l':
      case '--log-console':
      case '-D':
      case '--log-detail':
      case '-n':
      case '--dont-fork':
        break;
      default:
        return `unrecognized option '${argv[i]}'`;
    }
  }
  return o;
}

export async function main(argv: string[]): Promise<number> {
  const o = parseArgs(argv);
  if (typeof o === 'string') {
    process.stderr.write(`hacheck: ${o}\n${USAGE}`);
    return 1;
  }
  if (o.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (o.version) {
    process.stdout.write('hacheck 0.1.0 (keepalived 2.2.x configuration compatible)\n');
    return 0;
  }
  if (o.configTest || o.dumpConfig) {
    const loaded = loadConfigFile(o.file, { configId: o.configId });
    for (const d of loaded.diags.list) process.stderr.write(formatDiagnostic(d, loaded.sources) + '\n');
    if (o.dumpConfig) process.stdout.write(toJson(loaded.config) + '\n');
    return loaded.diags.exitCode();
  }
  process.stderr.write('hacheck: running the daemon is not implemented yet; use -t or --dump-config\n');
  return 1;
}
