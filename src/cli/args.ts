// keepalived's command line (keepalived(8) 2.2.x), parsed with the same option names and
// meanings, plus hacheck's own long options. Pure: argv in, options or an error text out.

export const DEFAULT_CONFIG = '/etc/keepalived/keepalived.conf';

export interface CliOptions {
  configFile: string;
  configTest: boolean;
  configTestLog?: string;
  dumpConfig: boolean;
  /** -d / --dump-conf: log the configuration at start (keepalived's dump) */
  dumpConf: boolean;
  vrrpOnly: boolean;
  checkOnly: boolean;
  noBfd: boolean;
  dontFork: boolean;
  logConsole: boolean;
  logDetail: boolean;
  logFacility?: string;
  /** -g/--log-file[=FILE]: '' when given without FILE (keepalived.log in $TMPDIR or /tmp) */
  logFile?: string;
  /** --flush-log-file: write each -g line at once */
  flushLogFile?: boolean;
  noSyslog: boolean;
  pidFile?: string;
  vrrpPidFile?: string;
  checkersPidFile?: string;
  bfdPidFile?: string;
  configId?: string;
  dontReleaseVrrp: boolean;
  dontReleaseIpvs: boolean;
  releaseVips: boolean;
  dontRespawn: boolean;
  umask?: number;
  namespace?: string;
  allConfig: boolean;
  signum?: string;
  genhash?: string[];
  help: boolean;
  version: boolean;
  /** --metrics ADDR:PORT: Prometheus endpoint */
  metrics?: string;
  /** --status-socket PATH (default /run/hacheck.sock) */
  statusSocket?: string;
  /** --notify-timeout SECONDS: kill a notify script still running after this (default 60) */
  notifyTimeoutMs?: number;
  /** status subcommand */
  status: boolean;
}

/** keepalived --signum: the signal each function uses (keepalived 2.2.7 on Linux). */
export const SIGNUMS: Readonly<Record<string, number>> = {
  STOP: 15,
  RELOAD: 1,
  DATA: 10,
  STATS: 12,
  STATS_CLEAR: 63, // SIGRTMIN+29 in keepalived 2.2.7
  JSON: 36, // SIGRTMIN+2
};

interface Spec {
  short?: string;
  long: string;
  arg?: 'required' | 'optional';
  set: (o: CliOptions, v: string | undefined) => string | void;
}

const flag = (k: keyof CliOptions) => (o: CliOptions) => {
  (o as unknown as Record<string, boolean>)[k] = true;
};
const str = (k: keyof CliOptions) => (o: CliOptions, v: string | undefined) => {
  (o as unknown as Record<string, string | undefined>)[k] = v;
};

const SPECS: Spec[] = [
  { short: 'f', long: 'use-file', arg: 'required', set: str('configFile') },
  { long: 'config', arg: 'required', set: str('configFile') },
  { short: 'P', long: 'vrrp', set: flag('vrrpOnly') },
  { short: 'C', long: 'check', set: flag('checkOnly') },
  { short: 'B', long: 'no_bfd', set: flag('noBfd') },
  { long: 'all', set: () => undefined },
  { short: 'l', long: 'log-console', set: flag('logConsole') },
  { short: 'D', long: 'log-detail', set: flag('logDetail') },
  {
    // keepalived reports an unknown facility on stderr and goes on with LOG_DAEMON (main.ts)
    short: 'S', long: 'log-facility', arg: 'required', set: str('logFacility'),
  },
  { short: 'g', long: 'log-file', arg: 'optional', set: (o, v) => void (o.logFile = v ?? '') },
  { long: 'flush-log-file', set: flag('flushLogFile') },
  { short: 'G', long: 'no-syslog', set: flag('noSyslog') },
  {
    short: 'u', long: 'umask', arg: 'required', set: (o, v) => {
      const n = Number.parseInt(v!, v!.startsWith('0') ? 8 : 10);
      if (!Number.isInteger(n) || n < 0 || n > 0o777) return `Invalid umask '${v}'`;
      o.umask = n;
    },
  },
  { short: 'X', long: 'release-vips', set: flag('releaseVips') },
  { short: 'V', long: 'dont-release-vrrp', set: flag('dontReleaseVrrp') },
  { short: 'I', long: 'dont-release-ipvs', set: flag('dontReleaseIpvs') },
  { short: 'R', long: 'dont-respawn', set: flag('dontRespawn') },
  { short: 'n', long: 'dont-fork', set: flag('dontFork') },
  { short: 'd', long: 'dump-conf', set: flag('dumpConf') },
  { short: 'p', long: 'pid', arg: 'required', set: str('pidFile') },
  { long: 'pid-file', arg: 'required', set: str('pidFile') },
  { short: 'r', long: 'vrrp_pid', arg: 'required', set: str('vrrpPidFile') },
  { short: 'c', long: 'checkers_pid', arg: 'required', set: str('checkersPidFile') },
  { short: 'b', long: 'bfd_pid', arg: 'required', set: str('bfdPidFile') },
  { short: 'a', long: 'address-monitoring', set: () => undefined },
  { short: 'x', long: 'snmp', set: () => undefined },
  { short: 'A', long: 'snmp-agent-socket', arg: 'required', set: () => undefined },
  { short: 's', long: 'namespace', arg: 'required', set: str('namespace') },
  { short: 'm', long: 'core-dump', set: () => undefined },
  { short: 'M', long: 'core-dump-pattern', arg: 'optional', set: () => undefined },
  { short: 'e', long: 'all-config', set: flag('allConfig') },
  { short: 'i', long: 'config-id', arg: 'required', set: str('configId') },
  { long: 'signum', arg: 'required', set: str('signum') },
  { short: 't', long: 'config-test', arg: 'optional', set: (o, v) => {
    o.configTest = true;
    o.configTestLog = v;
  } },
  { long: 'dump-config', set: flag('dumpConfig') },
  { long: 'metrics', arg: 'required', set: str('metrics') },
  { long: 'status-socket', arg: 'required', set: str('statusSocket') },
  {
    long: 'notify-timeout', arg: 'required', set: (o, v) => {
      const n = Number(v);
      if (!(n > 0)) return `Invalid notify timeout '${v}'`;
      o.notifyTimeoutMs = n * 1000;
    },
  },
  { short: 'v', long: 'version', set: flag('version') },
  { short: 'h', long: 'help', set: flag('help') },
];

export function defaultOptions(): CliOptions {
  return {
    configFile: DEFAULT_CONFIG, configTest: false, dumpConfig: false, dumpConf: false, vrrpOnly: false,
    checkOnly: false, noBfd: false, dontFork: false, logConsole: false, logDetail: false, noSyslog: false,
    dontReleaseVrrp: false, dontReleaseIpvs: false, releaseVips: false, dontRespawn: false, allConfig: false,
    help: false, version: false, status: false,
  };
}

/**
 * Parse like keepalived's getopt_long: short options may be bundled (-nlD) and take their
 * argument attached (-fFILE) or as the next word; long options take `--opt=value` or
 * `--opt value` (optional arguments only with `=`). `-T`/`genhash` switches to genhash mode
 * with the rest of the words; `status` as the first word asks the running daemon.
 */
export function parseArgs(argv: readonly string[]): CliOptions | string {
  const o = defaultOptions();
  if (argv[0] === 'genhash' || argv[0] === '-T' || argv[0] === '--genhash') {
    o.genhash = argv.slice(1);
    return o;
  }
  let i = 0;
  if (argv[0] === 'status') {
    o.status = true;
    i = 1;
  }
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = a.slice(2, eq < 0 ? undefined : eq);
      const spec = SPECS.find((s) => s.long === name);
      if (!spec) return `Unknown option ${a}`;
      let v: string | undefined = eq < 0 ? undefined : a.slice(eq + 1);
      if (spec.arg === 'required' && v === undefined) {
        v = argv[++i];
        if (v === undefined) return `Missing parameter for option --${name}`;
      }
      if (!spec.arg && v !== undefined) return `Option --${name} does not take a parameter`;
      const err = spec.set(o, v);
      if (err) return err;
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const ch = a[j];
        if (ch === 'T') {
          o.genhash = argv.slice(i + 1);
          return o;
        }
        const spec = SPECS.find((s) => s.short === ch);
        if (!spec) return `Unknown option -${ch}`;
        let v: string | undefined;
        if (spec.arg) {
          const rest = a.slice(j + 1);
          if (rest) v = rest;
          else if (spec.arg === 'required') {
            v = argv[++i];
            if (v === undefined) return `Missing parameter for option -${ch}`;
          }
          const err = spec.set(o, v);
          if (err) return err;
          break;
        }
        const err = spec.set(o, undefined);
        if (err) return err;
      }
      continue;
    }
    return `Unknown option ${a}`;
  }
  return o;
}

export function usage(): string {
  return `Usage: hacheck [OPTION...]
  -f, --use-file=FILE, --config=FILE   configuration file (default ${DEFAULT_CONFIG})
  -P, --vrrp                   only run the VRRP subsystem
  -C, --check                  only run the health checkers and IPVS
  -l, --log-console            log readable lines to the console
  -D, --log-detail             detailed log messages
  -S, --log-facility=FACILITY  syslog facility ([0-7]|local[0-7]|user|daemon)
  -g, --log-file[=FILE]        also log to FILE (default keepalived.log; relative to $TMPDIR or /tmp)
      --flush-log-file         write each log file line at once
  -G, --no-syslog              don't log via syslog
  -X, --release-vips           drop VIPs on transition from signal
  -V, --dont-release-vrrp      don't remove VRRP VIPs and routes on stop
  -I, --dont-release-ipvs      don't remove the IPVS topology on stop
  -n, --dont-fork              stay in the foreground (hacheck always does)
  -d, --dump-conf              log the configuration at start
  -p, --pid=FILE               pid file (default /run/keepalived.pid)
  -r, --vrrp_pid=FILE          VRRP pid file (written with the same pid)
  -c, --checkers_pid=FILE      checkers pid file (written with the same pid)
  -i, --config-id ID           skip '@' lines that don't match ID
  -t, --config-test[=LOG_FILE] check the configuration and exit with keepalived's exit code
      --dump-config            print the resolved configuration model as JSON
      --signum=SIGFUNC         print the signal for STOP, RELOAD, DATA, STATS, STATS_CLEAR, JSON
      --metrics=ADDR:PORT      serve Prometheus metrics
      --status-socket=PATH     status socket (default /run/hacheck.sock)
      --notify-timeout=SECONDS kill notify scripts still running after SECONDS (default 60)
  -T, genhash ...              genhash mode: MD5 of a URL's body
  status                       show the running daemon's instances and real servers
  -v, --version                display the version number
  -h, --help                   display this help message
`;
}
