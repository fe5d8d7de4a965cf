// GLOBAL CONFIGURATION (keepalived.conf(5)): global_defs, the top-level global keywords
// (linkbeat_use_polling, net_namespace, net_namespace_ipvs, namespace_with_ipsets,
// use_pid_dir, instance, child_wait_time), and the root blocks linkbeat_interfaces,
// interface_up_down_delays, track_group, static_ipaddress, static_routes, static_rules.
//
// Keyword tables follow keepalived's global_parser.c / vrrp_parser.c (HEAD for the keyword
// set, 2.2.7 for messages and exit codes). Features hacheck does not implement (SNMP, DBus,
// iptables/nftables/ipsets, process scheduling, netlink buffer sizes, process names, …)
// are accepted and reported as notes.

import { ErrClass } from '../diagnostics.js';
import type { Stmt } from '../parse.js';
import type { BlockSpec, Handler } from './context.js';
import type { Ctx } from './context.js';
import type { Config } from './types.js';
import { parseScript, type ScriptKind, type ScriptSpec } from './scripts.js';
import {
  DEFAULT_INTERFACE,
  lookupInterface,
  noteMissingInterface,
  parseAddressLine,
  parseRouteLine,
  parseRuleLine,
  reportMissingInterfaces,
  setDynamicInterfaces,
  strtoul,
  type IpAddress,
  type Route,
  type Rule,
} from './iproute.js';

import { applyIncludeCheck } from '../preprocess.js';

export { noteMissingInterface } from './iproute.js';

/** notify_fifo / vrrp_notify_fifo / lvs_notify_fifo and their _script */
export interface NotifyFifo {
  /** the FIFO path */
  name?: string;
  /** `notify_fifo NAME [USER [GROUP]]`: owner of the FIFO */
  user?: string;
  group?: string;
  /** notify_fifo_script: the script keepalived starts to read the FIFO */
  script?: ScriptSpec;
}

/** lvs_sync_daemon <INTERFACE> [inst <VRRP_INSTANCE>] [id <SYNC_ID>] [maxlen <LEN>] [port <PORT>] [ttl <TTL>] [group <IP>] */
export interface LvsSyncDaemon {
  interface: string;
  /** `inst NAME` (or the old second positional word) */
  instance?: string;
  /** `id 0-255`; default: the instance's virtual_router_id */
  id?: number;
  /** `maxlen 1-65507` */
  maxlen?: number;
  /** `port 1-65535` */
  port?: number;
  /** `ttl 1-255` */
  ttl?: number;
  /** `group <MULTICAST IP>` */
  group?: string;
}

export interface GlobalDefs {
  // --- identity and email notification
  /** router_id; keepalived uses the host name when not set */
  routerId?: string;
  /** notification_email { ADDRESS… } */
  notificationEmail: string[];
  /** notification_email_from */
  notificationEmailFrom?: string;
  /** smtp_server IP|NAME [PORT]; port default 25 */
  smtpServer?: { host: string; port: number };
  /** smtp_helo_name; keepalived uses the host name when not set */
  smtpHeloName?: string;
  /** smtp_connect_timeout, seconds; keepalived's default is 30 when smtp_server is set */
  smtpConnectTimeout?: number;
  /** smtp_alert / smtp_alert_vrrp / smtp_alert_checker; undefined = not set (keepalived: on if an email is configured) */
  smtpAlert?: boolean;
  smtpAlertVrrp?: boolean;
  smtpAlertChecker?: boolean;
  /** checker_log_all_failures */
  checkerLogAllFailures: boolean;
  /** no_email_faults */
  noEmailFaults: boolean;
  /** no_checker_emails */
  noCheckerEmails: boolean;
  /** rs_init_notifies */
  rsInitNotifies: boolean;

  // --- scripts
  /** enable_script_security */
  enableScriptSecurity: boolean;
  /** script_user USER [GROUP] */
  scriptUser?: { user: string; group?: string };
  /** startup_script / shutdown_script */
  startupScript?: ScriptSpec;
  shutdownScript?: ScriptSpec;
  /** startup_script_timeout / shutdown_script_timeout, seconds 1-1000; default 10 once the script is given */
  startupScriptTimeout?: number;
  shutdownScriptTimeout?: number;
  /** notify_fifo [_script] */
  notifyFifo: NotifyFifo;
  /** vrrp_notify_fifo [_script] */
  vrrpNotifyFifo: NotifyFifo;
  /** lvs_notify_fifo [_script] */
  lvsNotifyFifo: NotifyFifo;
  /** vrrp_notify_priority_changes */
  vrrpNotifyPriorityChanges: boolean;
  /** fifo_write_vrrp_states_on_reload */
  fifoWriteVrrpStatesOnReload: boolean;

  // --- VRRP
  /** dynamic_interfaces [allow_if_changes] */
  dynamicInterfaces: boolean;
  allowIfChanges: boolean;
  /** default_interface (default eth0): the interface of static addresses without dev */
  defaultInterface?: string;
  /** disable_local_igmp */
  disableLocalIgmp: boolean;
  /** v3_checksum_as_v2 */
  v3ChecksumAsV2: boolean;
  /** vrrp_mcast_group4 (default 224.0.0.18) */
  vrrpMcastGroup4: string;
  /** vrrp_mcast_group6 (default ff02::12) */
  vrrpMcastGroup6: string;
  /** vrrp_garp_master_delay, seconds (default 5) */
  vrrpGarpMasterDelay: number;
  /** vrrp_garp_master_repeat (default 5) */
  vrrpGarpMasterRepeat: number;
  /** vrrp_garp_master_refresh, seconds (default 0 = none) */
  vrrpGarpMasterRefresh: number;
  /** vrrp_garp_master_refresh_repeat (default 1) */
  vrrpGarpMasterRefreshRepeat: number;
  /** vrrp_garp_lower_prio_delay, seconds; undefined = vrrp_garp_master_delay */
  vrrpGarpLowerPrioDelay?: number;
  /** vrrp_garp_lower_prio_repeat; undefined = vrrp_garp_master_repeat */
  vrrpGarpLowerPrioRepeat?: number;
  /** vrrp_down_timer_adverts 1-100 (default 3, RFC 5798 6.1) */
  vrrpDownTimerAdverts: number;
  /** vrrp_garp_interval, µs (default 0) */
  vrrpGarpInterval: number;
  /** vrrp_gna_interval, µs (default 0) */
  vrrpGnaInterval: number;
  /** vrrp_min_garp was given (sets the garp defaults above to one message, no repeats) */
  vrrpMinGarp: boolean;
  /** vrrp_garp_extra_if [all] SECONDS (old name vrrp_vmac_garp_intvl) */
  vrrpGarpExtraIf?: { all: boolean; interval: number };
  /** vrrp_lower_prio_no_advert */
  vrrpLowerPrioNoAdvert: boolean;
  /** vrrp_higher_prio_send_advert */
  vrrpHigherPrioSendAdvert: boolean;
  /** vrrp_version 2|3 (default 2) */
  vrrpVersion: 2 | 3;
  /** vrrp_check_unicast_src */
  vrrpCheckUnicastSrc: boolean;
  /** vrrp_skip_check_adv_addr */
  vrrpSkipCheckAdvAddr: boolean;
  /** vrrp_strict */
  vrrpStrict: boolean;
  /** vrrp_startup_delay, µs (0.001 s minimum) */
  vrrpStartupDelay: number;
  /** vrrp_delay_after_boot, µs of uptime (applied at start-up) */
  vrrpDelayAfterBoot?: number;
  /** log_unknown_vrids */
  logUnknownVrids: boolean;
  /** vrrp_owner_ignore_adverts */
  vrrpOwnerIgnoreAdverts: boolean;
  /** vmac_prefix / vmac_addr_prefix */
  vmacPrefix?: string;
  vmacAddrPrefix?: string;
  /** max_auto_priority [-1..99] (-1 disables; no value = the maximum) */
  maxAutoPriority?: number;
  /** min_auto_priority_delay, µs 1-10000000 (default 1000000) */
  minAutoPriorityDelay: number;

  // --- LVS
  /** lvs_timeouts [tcp N] [tcpfin N] [udp N], seconds (0 - 31 days) */
  lvsTimeouts: { tcp?: number; tcpfin?: number; udp?: number };
  /** lvs_sync_daemon */
  lvsSyncDaemon?: LvsSyncDaemon;
  /** lvs_flush */
  lvsFlush: boolean;
  /** lvs_flush_on_stop [VS] (old name lvs_flush_onstop): full = every virtual server, vs = only the configured ones */
  lvsFlushOnStop: 'none' | 'full' | 'vs';

  // --- files and process
  /** umask NUMBER|BITS (default IWGRP|IWOTH = 022) */
  umask?: number;
  /** random_seed */
  randomSeed?: number;
  /** reload_check_config [LOG_FILE] (no file: /dev/null) */
  reloadCheckConfig?: string;
  /** reload_time_file */
  reloadTimeFile?: string;
  /** reload_repeat */
  reloadRepeat: boolean;
  /** reload_file [FILE]; '' = keepalived's default location */
  reloadFile?: string;
  /** include_check [[+|-]read|match|wildcard_match|brace_match…]: keepalived's INCLUDE_* bits */
  includeCheck?: number;
  /** config_save_dir */
  configSaveDir?: string;
  /** tmp_config_directory */
  tmpConfigDirectory?: string;
  /** data_use_instance */
  dataUseInstance: boolean;
  /** json_version 1|2 */
  jsonVersion?: number;
  /** iproute_usr_dir / iproute_etc_dir */
  iprouteUsrDir?: string;
  iprouteEtcDir?: string;
  /** state_dump_file / stats_dump_file / json_dump_file */
  stateDumpFile?: string;
  statsDumpFile?: string;
  jsonDumpFile?: string;
  /** use_symlink_paths */
  useSymlinkPaths?: boolean;
  /** set_supplementary_groups */
  setSupplementaryGroups?: boolean;

  // --- top level
  /** linkbeat_use_polling */
  linkbeatUsePolling: boolean;
  /** net_namespace NAME */
  netNamespace?: string;
  /** net_namespace_ipvs [NAME] ('' = the default namespace) */
  netNamespaceIpvs?: string;
  /** namespace_with_ipsets */
  namespaceWithIpsets: boolean;
  /** use_pid_dir (also set by net_namespace and instance) */
  usePidDir: boolean;
  /** instance NAME */
  instance?: string;
  /** child_wait_time, seconds */
  childWaitTime?: number;
  /** linkbeat_interfaces { IFNAME [MII|ETHTOOL|IOCTL] } */
  linkbeatInterfaces: { name: string; type?: 'MII' | 'ETHTOOL' | 'IOCTL' }[];
  /** interface_up_down_delays { IFNAME DOWN_DELAY [UP_DELAY] }, µs */
  interfaceUpDownDelays: { name: string; down: number; up: number }[];

  /** keywords accepted but not implemented by hacheck, in the order given */
  unsupported: string[];
}

/** track_group NAME { group { VRRP_INSTANCE… } } */
export interface StaticTrackGroup {
  name: string;
  /** the vrrp instances whose state the static addresses/routes/rules follow */
  group: string[];
}

export interface StaticConfig {
  /** static_ipaddress { … } */
  addresses: IpAddress[];
  /** static_routes { … } */
  routes: Route[];
  /** static_rules { … } */
  rules: Rule[];
  /** track_group NAME { group { … } } */
  trackGroups: StaticTrackGroup[];
}

const emptyFifo = (): NotifyFifo => ({});

export function newGlobalDefs(): GlobalDefs {
  return {
    notificationEmail: [],
    checkerLogAllFailures: false,
    noEmailFaults: false,
    noCheckerEmails: false,
    rsInitNotifies: false,
    enableScriptSecurity: false,
    notifyFifo: emptyFifo(),
    vrrpNotifyFifo: emptyFifo(),
    lvsNotifyFifo: emptyFifo(),
    vrrpNotifyPriorityChanges: false,
    fifoWriteVrrpStatesOnReload: false,
    dynamicInterfaces: false,
    allowIfChanges: false,
    disableLocalIgmp: false,
    v3ChecksumAsV2: false,
    vrrpMcastGroup4: '224.0.0.18',
    vrrpMcastGroup6: 'ff02::12',
    vrrpGarpMasterDelay: 5,
    vrrpGarpMasterRepeat: 5,
    vrrpGarpMasterRefresh: 0,
    vrrpGarpMasterRefreshRepeat: 1,
    vrrpDownTimerAdverts: 3,
    vrrpGarpInterval: 0,
    vrrpGnaInterval: 0,
    vrrpMinGarp: false,
    vrrpLowerPrioNoAdvert: false,
    vrrpHigherPrioSendAdvert: false,
    vrrpVersion: 2,
    vrrpCheckUnicastSrc: false,
    vrrpSkipCheckAdvAddr: false,
    vrrpStrict: false,
    vrrpStartupDelay: 0,
    logUnknownVrids: false,
    vrrpOwnerIgnoreAdverts: false,
    minAutoPriorityDelay: 1000000,
    lvsTimeouts: {},
    lvsFlush: false,
    lvsFlushOnStop: 'none',
    reloadRepeat: false,
    dataUseInstance: false,
    linkbeatUsePolling: false,
    namespaceWithIpsets: false,
    usePidDir: false,
    linkbeatInterfaces: [],
    interfaceUpDownDelays: [],
    unsupported: [],
  };
}

export function newStaticConfig(): StaticConfig {
  return { addresses: [], routes: [], rules: [], trackGroups: [] };
}

// ---------------------------------------------------------------------------------------
// Readers with keepalived's handler messages

const UINT_MAX = 4294967295;
/** keepalived's TIMER_HZ: timers are held in µs */
const TIMER_HZ = 1000000;

/** A keepalived message that is only logged: shown, never changes the exit code. */
function logged(c: Ctx, s: Stmt, message: string, word = 0): void {
  c.diags.add({ severity: 'warning', code: 'HC_CONFIG_LOGGED', message, loc: c.loc(s, word) });
}

/**
 * read_unsigned_strvec(…, 1, min, max): a missing value stops keepalived (exit 2); a bad
 * one gets keepalived's number message and then the handler's `msg` (`%s` = the value).
 */
function unsignedArg(c: Ctx, s: Stmt, min: number, max: number, msg?: string, i = 1): number | undefined {
  const v = c.arg(s, i);
  if (v === undefined) return undefined;
  const n = c.uintOf(s, i, v, min, max);
  if (n === undefined && msg) c.error(s, msg.replace('%s', v), i);
  return n;
}

/** read_int_strvec(…, 1, min, max) with the handler's message. */
function intArg(c: Ctx, s: Stmt, min: number, max: number, msg?: string): number | undefined {
  if (c.arg(s, 1) === undefined) return undefined;
  const n = c.int(s, 1, min, max);
  if (n === undefined && msg) c.error(s, msg.replace('%s', s.args[0]), 1);
  return n;
}

/** read_timer / read_decimal_unsigned_strvec with 6 decimals: seconds → µs. */
function timerArg(c: Ctx, s: Stmt, minUs: number, maxUs: number, msg?: string, i = 1): number | undefined {
  const v = c.arg(s, i);
  if (v === undefined) return undefined;
  const n = c.decimal(s, i, v, minUs / TIMER_HZ, maxUs / TIMER_HZ, 6);
  if (n === undefined && msg) c.error(s, msg.replace('%s', v), i);
  return n;
}

/**
 * keepalived's optional boolean (check_true_false): no argument = true; an invalid value is
 * reported with the handler's message (`%s` = the value) and leaves the setting unchanged.
 */
function boolArg(c: Ctx, s: Stmt, msg: string): boolean | undefined {
  if (s.args.length < 1) return true;
  const v = s.args[0];
  if (v === 'true' || v === 'on' || v === 'yes') return true;
  if (v === 'false' || v === 'off' || v === 'no') return false;
  c.error(s, msg.replace('%s', v), 1);
  return undefined;
}

/** A keyword that only switches something on (keepalived ignores any argument). */
function flag(set: (g: GlobalDefs) => void): Handler<Config> {
  return (_s, cfg) => set(cfg.global);
}

/** An optional <BOOL> keyword with keepalived's message for a bad value. */
function boolKw(msg: string, set: (g: GlobalDefs, v: boolean) => void): Handler<Config> {
  return (s, cfg, c) => {
    const v = boolArg(c, s, msg);
    if (v !== undefined) set(cfg.global, v);
  };
}

/** The first argument as a string; `missing` is keepalived's message when there is none. */
function stringKw(missing: string, set: (g: GlobalDefs, v: string) => void): Handler<Config> {
  return (s, cfg, c) => {
    if (s.args.length < 1) {
      c.error(s, missing);
      return;
    }
    set(cfg.global, s.args[0]);
  };
}

/** `KEYWORD PATH`: exactly one non-empty argument (state_dump_file & co). */
function pathKw(set: (g: GlobalDefs, v: string) => void): Handler<Config> {
  return (s, cfg, c) => {
    if (s.args.length !== 1 || s.args[0] === '') {
      c.error(s, `${s.kw} requires a non-empty path`);
      return;
    }
    set(cfg.global, s.args[0]);
  };
}

/** An address for inet_stosockaddr (IPv4 or IPv6, optional %scope on IPv6). */
function isIp(text: string): 4 | 6 | 0 {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(text) && text.split('.').every((o) => Number(o) <= 255)) return 4;
  if (text.includes(':') && /^[0-9a-fA-F:.]+(%[\w.-]+)?$/.test(text)) {
    const addr = text.replace(/%.*$/, '');
    const parts = addr.split('::');
    if (parts.length > 2) return 0;
    const groups = addr.split(':').filter((g) => g !== '');
    if (groups.some((g, i) => !(/^[0-9a-fA-F]{1,4}$/.test(g) || (i === groups.length - 1 && isIp(g) === 4)))) return 0;
    const n = groups.length + (groups.length && isIp(groups[groups.length - 1]) === 4 ? 1 : 0);
    if (parts.length === 1 ? n !== 8 : n > 7) return 0;
    return 6;
  }
  return 0;
}

function isMulticast4(a: string): boolean {
  const first = Number(a.split('.')[0]);
  return first >= 224 && first <= 239;
}

function isMulticast6(a: string): boolean {
  return /^ff/i.test(a);
}

/** Block keywords whose block is a plain list: keepalived's alloc_value_block warns about words after the keyword. */
function checkListBlockArgs(c: Ctx, s: Stmt): void {
  if (s.args.length > 0) c.error(s, `Block ${s.kw} has extra parameters ${s.args[0]} ...`, 1);
}

function fifoHandler(pick: (g: GlobalDefs) => NotifyFifo, type: '' | 'vrrp_' | 'lvs_'): Handler<Config> {
  return (s, cfg, c) => {
    const fifo = pick(cfg.global);
    if (s.args.length < 1) {
      c.error(s, `No ${type}notify_fifo name specified`);
      return;
    }
    if (fifo.name !== undefined) {
      c.error(s, `${type}notify_fifo already specified - ignoring ${s.args[0]}`, 1);
      return;
    }
    if (s.args.length > 1) {
      const user = c.env.user(s.args[1]);
      const group = s.args.length > 2 ? c.env.group(s.args[2]) : user?.gid;
      if (!user) logged(c, s, `Script user '${s.args[1]}' does not exist`, 2);
      else if (group === undefined) logged(c, s, `Script group '${s.args[2]}' does not exist`, 3);
      if (!user || group === undefined) {
        // keepalived names the FIFO before it is stored: "(null)"
        logged(c, s, `Invalid user/group for ${type} fifo (null) - ignoring`, 2);
        return;
      }
      fifo.user = s.args[1];
      fifo.group = s.args[2];
    }
    fifo.name = s.args[0];
  };
}

function fifoScriptHandler(pick: (g: GlobalDefs) => NotifyFifo, type: '' | 'vrrp_' | 'lvs_'): Handler<Config> {
  return (s, cfg, c) => {
    const fifo = pick(cfg.global);
    if (s.args.length < 1) {
      c.error(s, `No ${type}notify_fifo_script specified`);
      return;
    }
    if (fifo.script !== undefined) {
      c.error(s, `${type}notify_fifo_script already specified - ignoring ${s.args[0]}`, 1);
      return;
    }
    const spec = parseScript(c, s, 'notify_fifo', s.kw);
    if (!spec) return;
    fifo.script = spec;
    cfg.scripts.push(spec);
  };
}

function startupShutdownScript(kind: ScriptKind & ('startup' | 'shutdown')): Handler<Config> {
  return (s, cfg, c) => {
    const g = cfg.global;
    const have = kind === 'startup' ? g.startupScript : g.shutdownScript;
    if (have) {
      c.error(s, `${kind} script already specified`);
      return;
    }
    if (s.args.length < 1) {
      c.error(s, `${kind} script missing`);
      return;
    }
    const spec = parseScript(c, s, kind, s.kw);
    if (!spec) {
      c.error(s, `Invalid ${kind} script`);
      return;
    }
    cfg.scripts.push(spec);
    if (kind === 'startup') {
      g.startupScript = spec;
      g.startupScriptTimeout ??= 10;
    } else {
      g.shutdownScript = spec;
      g.shutdownScriptTimeout ??= 10;
    }
  };
}

function scriptTimeout(kind: 'startup' | 'shutdown'): Handler<Config> {
  return (s, cfg, c) => {
    if (s.args.length < 1) {
      c.error(s, `${kind}_script_timeout requires value`);
      return;
    }
    const v = unsignedArg(c, s, 1, 1000, `${kind}_script_timeout '%s' must be in [1, 1000] - ignoring`);
    if (v === undefined) return;
    if (kind === 'startup') cfg.global.startupScriptTimeout = v;
    else cfg.global.shutdownScriptTimeout = v;
  };
}

// ---------------------------------------------------------------------------------------
// global_defs

/** umask NUMBER | IRUSR|IWGRP… (keepalived umask_handler) */
function umaskHandler(s: Stmt, cfg: Config, c: Ctx): void {
  const first = c.arg(s, 1);
  if (first === undefined) return;
  if (/^[0-9]/.test(first)) {
    if (s.args.length !== 1) {
      c.error(s, 'Extra parameter(s) to umask option', 2);
      return;
    }
    const n = strtoul(first, 0);
    if (!n || n.rest !== '' || n.value & ~0o777) {
      c.error(s, `invalid umask value ${first}`, 1);
      return;
    }
    cfg.global.umask = n.value;
    return;
  }
  const bits: Record<string, number> = {
    IRUSR: 0o400,
    IWUSR: 0o200,
    IXUSR: 0o100,
    IRWXU: 0o700,
    IRGRP: 0o040,
    IWGRP: 0o020,
    IXGRP: 0o010,
    IRWXG: 0o070,
    IROTH: 0o004,
    IWOTH: 0o002,
    IXOTH: 0o001,
    IRWXO: 0o007,
  };
  let mask = 0;
  let needOr = false;
  for (let i = 0; i < s.args.length; i++) {
    const w = s.args[i];
    let p = 0;
    while (p < w.length) {
      if (needOr) {
        if (w[p] === '|') {
          needOr = false;
          p++;
          continue;
        }
        c.error(s, `Invalid umask syntax ${w}`, i + 1);
        return;
      }
      const b = bits[w.slice(p, p + 5)];
      if (b === undefined) {
        c.error(s, `Unknown umask bit ${w.slice(p)}`, i + 1);
        return;
      }
      mask |= b;
      p += 5;
      needOr = true;
    }
  }
  if (!needOr) {
    c.error(s, 'umask missing bit value');
    return;
  }
  cfg.global.umask = mask;
}

function smtpServer(s: Stmt, cfg: Config, c: Ctx): void {
  const host = c.arg(s, 1);
  if (host === undefined) return;
  const portText = s.args[1] ?? '25';
  const port = strtoul(portText, 10);
  // keepalived resolves names at -t; a name is accepted here and resolved when used
  const validPort = port !== undefined && port.rest === '' && port.value <= 65535;
  const validHost = isIp(host) !== 0 || /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(host);
  if (!validPort || !validHost) {
    c.error(s, `Invalid smtp server ${host} ${portText}`, 1);
    return;
  }
  cfg.global.smtpServer = { host, port: port.value };
}

function mcastGroup(v: 4 | 6): Handler<Config> {
  const kw = `vrrp_mcast_group${v}`;
  return (s, cfg, c) => {
    const a = c.arg(s, 1);
    if (a === undefined) return;
    const fam = isIp(a);
    if (!fam) {
      c.error(s, `Can't parse ${kw} [${a}]. Skipping`, 1);
      return;
    }
    if (fam !== v) {
      c.error(s, `${kw} [${a}] is not IPv${v}. Skipping`, 1);
      return;
    }
    if (v === 4 ? !isMulticast4(a) : !isMulticast6(a)) {
      c.error(s, `${kw} [${a}] is not multicast. Skipping`, 1);
      return;
    }
    if (v === 6 && !/^ff[0-9a-f]2:/i.test(a)) c.warning(s, `${kw} [${a}] should be link-local multicast.`, 1);
    if (v === 4) cfg.global.vrrpMcastGroup4 = a;
    else cfg.global.vrrpMcastGroup6 = a;
  };
}

function lvsTimeouts(s: Stmt, cfg: Config, c: Ctx): void {
  if (s.args.length < 2) {
    c.error(s, 'lvs_timeouts requires at least one option');
    return;
  }
  const LVS_MAX_TIMEOUT = 86400 * 31;
  for (let i = 1; i <= s.args.length; i++) {
    const w = s.args[i - 1];
    if (w === 'tcp' || w === 'tcpfin' || w === 'udp') {
      if (i === s.args.length) {
        c.error(s, `No value specified for lvs_timeout ${w} - ignoring`, i);
        continue;
      }
      const v = c.uintOf(s, i + 1, s.args[i], 0, LVS_MAX_TIMEOUT);
      if (v === undefined) c.error(s, `Invalid lvs_timeout ${w} (${s.args[i]}) - ignoring`, i + 1);
      else cfg.global.lvsTimeouts[w] = v;
      i++;
      continue;
    }
    c.error(s, `Unknown option ${w} specified for lvs_timeouts`, i);
  }
}

function lvsSyncDaemon(s: Stmt, cfg: Config, c: Ctx): void {
  const g = cfg.global;
  if (g.lvsSyncDaemon) {
    c.error(s, `lvs_sync_daemon has already been specified as ${g.lvsSyncDaemon.interface} ${g.lvsSyncDaemon.instance ?? ''} - ignoring`);
    return;
  }
  if (s.args.length < 1) {
    c.error(s, 'lvs_sync_daemon requires interface');
    return;
  }
  // IP_VS_IFNAME_MAXLEN is 16, including the terminating NUL
  if (s.args[0].length >= 16) {
    c.error(s, `lvs_sync_daemon interface name '${s.args[0]}' too long - ignoring`, 1);
    return;
  }
  const d: LvsSyncDaemon = { interface: s.args[0] };
  g.lvsSyncDaemon = d;
  const n = s.args.length + 1;
  const word = (i: number): string | undefined => (i === 0 ? s.kw : s.args[i - 1]);
  for (let i = 2; i < n; i++) {
    const w = word(i)!;
    const last = i === n - 1;
    if (w === 'inst') {
      if (d.instance !== undefined) c.error(s, `lvs_sync_daemon vrrp instance has already been specified as ${d.instance} - ignoring`, i);
      else {
        const v = c.arg(s, i + 1);
        if (v === undefined) return;
        d.instance = v;
      }
      i++;
      continue;
    }
    const numeric: Record<string, [number, number, string, string]> = {
      id: [0, 255, 'No value specified for lvs_sync_daemon id, defaulting to vrid', 'Invalid syncid (%s) - defaulting to vrid'],
      maxlen: [1, 65535 - 20 - 8, 'No value specified for lvs_sync_daemon maxlen - ignoring', 'Invalid lvs_sync_daemon maxlen (%s) - ignoring'],
      port: [1, 65535, 'No value specified for lvs_sync_daemon port - ignoring', 'Invalid lvs_sync_daemon port (%s) - ignoring'],
      ttl: [1, 255, 'No value specified for lvs_sync_daemon ttl - ignoring', 'Invalid lvs_sync_daemon ttl (%s) - ignoring'],
    };
    if (w in numeric) {
      const [min, max, missing, bad] = numeric[w];
      if (last) {
        c.error(s, missing, i);
        continue;
      }
      const v = c.uintOf(s, i + 1, word(i + 1)!, min, max);
      if (v === undefined) c.error(s, bad.replace('%s', word(i + 1)!), i + 1);
      else d[w as 'id' | 'maxlen' | 'port' | 'ttl'] = v;
      i++;
      continue;
    }
    if (w === 'group') {
      if (last) {
        c.error(s, 'No value specified for lvs_sync_daemon group - ignoring', i);
        continue;
      }
      const a = word(i + 1)!;
      const fam = isIp(a);
      if (!fam) c.error(s, `Invalid lvs_sync_daemon group (${a}) - ignoring`, i + 1);
      else if (fam === 4 ? !isMulticast4(a) : !isMulticast6(a)) c.error(s, `lvs_sync_daemon group address ${a} is not multicast - ignoring`, i + 1);
      else d.group = a;
      i++;
      continue;
    }
    // the old form: lvs_sync_daemon IF VRRP_INSTANCE [SYNC_ID]
    if (i === 2) {
      d.instance = w;
      continue;
    }
    if (i === 3) {
      const v = c.uintOf(s, i, w, 0, 255);
      if (v === undefined) c.error(s, `Invalid syncid (${w}) - defaulting to vrid`, i);
      else {
        c.error(s, 'Please use keyword "id" before lvs_sync_daemon SYNCID', i);
        d.id = v;
      }
      continue;
    }
    c.error(s, `Unknown option ${w} specified for lvs_sync_daemon`, i);
  }
}

function vrrpGarpExtraIf(s: Stmt, cfg: Config, c: Ctx): void {
  if (s.kw === 'vrrp_vmac_garp_intvl')
    c.warning(s, 'Keyword "vrrp_vmac_garp_intvl" is deprecated - please use "vrrp_garp_extra_if"', 0, ErrClass.DEPRECATED, 'HC_CONFIG_DEPRECATED');
  let all = false;
  let delay = 0;
  for (let i = 1; i <= s.args.length; i++) {
    if (s.args[i - 1] === 'all') all = true;
    else {
      const v = c.uintOf(s, i, s.args[i - 1], 1, 86400);
      if (v === undefined) {
        c.error(s, `${s.kw} '${s.args[i - 1]}' invalid - ignoring`, i);
        return;
      }
      delay = v;
    }
  }
  if (!delay) {
    c.error(s, `${s.kw} specified without time - ignoring`);
    return;
  }
  cfg.global.vrrpGarpExtraIf = { all, interval: delay };
}

function includeCheck(s: Stmt, cfg: Config, c: Ctx): void {
  // the pre-processor has already applied it to the includes that follow (parse.ts hook)
  cfg.global.includeCheck = applyIncludeCheck(cfg.global.includeCheck ?? 0, s.args, (m, i) => c.error(s, m, i));
}

function scriptUser(s: Stmt, cfg: Config, c: Ctx): void {
  if (s.args.length < 1) {
    c.error(s, 'No script username specified');
    return;
  }
  const [user, group] = s.args;
  cfg.global.scriptUser = group !== undefined ? { user, group } : { user };
  let ok = true;
  if (!c.env.user(user)) {
    logged(c, s, `Script user '${user}' does not exist`, 1);
    ok = false;
  } else if (group !== undefined && c.env.group(group) === undefined) {
    logged(c, s, `Script group '${group}' does not exist`, 2);
    ok = false;
  }
  if (!ok) c.error(s, 'Error setting global script uid/gid');
}

function notificationEmail(s: Stmt, cfg: Config, c: Ctx): void {
  checkListBlockArgs(c, s);
  const items = s.block ?? [];
  if (items.length === 0) {
    c.warning(s, 'Warning - empty notification_email block', 0, ErrClass.GENERAL_ERROR);
    return;
  }
  // every word of every line is an address
  for (const it of items) cfg.global.notificationEmail.push(it.kw, ...it.args);
}

/** SCHED_RR's maximum priority on Linux: the range of max_auto_priority / *_rt_priority */
const SCHED_RR_MAX = 99;

const unsupportedGlobal: Record<string, string> = {
  process_names: 'process names are not changed',
  process_name: 'process names are not changed',
  vrrp_process_name: 'process names are not changed',
  checker_process_name: 'process names are not changed',
  lvs_process_name: 'process names are not changed',
  bfd_process_name: 'process names are not changed',
  vrrp_iptables: 'iptables/nftables rules for VIPs are not managed',
  vrrp_ipsets: 'ipsets are not managed',
  nftables: 'nftables rules are not managed',
  nftables_priority: 'nftables rules are not managed',
  nftables_ifindex: 'nftables rules are not managed',
  nftables_ipvs: 'nftables rules are not managed',
  nftables_ipvs_priority: 'nftables rules are not managed',
  nftables_ipvs_start_fwmark: 'nftables rules are not managed',
  nftables_counters: 'nftables rules are not managed',
  vrrp_priority: 'process scheduling is not changed',
  vrrp_no_swap: 'process memory locking is not done',
  vrrp_rt_priority: 'process scheduling is not changed',
  vrrp_cpu_affinity: 'CPU affinity is not set',
  vrrp_rlimit_rttime: 'real-time limits are not set',
  vrrp_rlimit_rtime: 'real-time limits are not set (and the keyword is deprecated: vrrp_rlimit_rttime)',
  checker_priority: 'process scheduling is not changed',
  checker_no_swap: 'process memory locking is not done',
  checker_rt_priority: 'process scheduling is not changed',
  checker_cpu_affinity: 'CPU affinity is not set',
  checker_rlimit_rttime: 'real-time limits are not set',
  checker_rlimit_rtime: 'real-time limits are not set (and the keyword is deprecated: checker_rlimit_rttime)',
  bfd_priority: 'process scheduling is not changed',
  bfd_no_swap: 'process memory locking is not done',
  bfd_rt_priority: 'process scheduling is not changed',
  bfd_cpu_affinity: 'CPU affinity is not set',
  bfd_rlimit_rttime: 'real-time limits are not set',
  bfd_rlimit_rtime: 'real-time limits are not set (and the keyword is deprecated: bfd_rlimit_rttime)',
  snmp_socket: 'SNMP is not supported',
  enable_traps: 'SNMP is not supported',
  enable_snmp_vrrp: 'SNMP is not supported',
  enable_snmp_keepalived: 'SNMP is not supported',
  enable_snmp_rfc: 'SNMP is not supported',
  enable_snmp_rfcv2: 'SNMP is not supported',
  enable_snmp_rfcv3: 'SNMP is not supported',
  enable_snmp_checker: 'SNMP is not supported',
  snmp_vs_stats_update_interval: 'SNMP is not supported',
  snmp_rs_stats_update_interval: 'SNMP is not supported',
  enable_dbus: 'DBus is not supported',
  dbus_service_name: 'DBus is not supported',
  dbus_no_interface_name: 'DBus is not supported',
  vrrp_netlink_cmd_rcv_bufs: 'netlink buffer sizes are not set',
  vrrp_netlink_cmd_rcv_bufs_force: 'netlink buffer sizes are not set',
  vrrp_netlink_monitor_rcv_bufs: 'netlink buffer sizes are not set',
  vrrp_netlink_monitor_rcv_bufs_force: 'netlink buffer sizes are not set',
  process_monitor_rcv_bufs: 'netlink buffer sizes are not set',
  process_monitor_rcv_bufs_force: 'netlink buffer sizes are not set',
  lvs_netlink_cmd_rcv_bufs: 'netlink buffer sizes are not set',
  lvs_netlink_cmd_rcv_bufs_force: 'netlink buffer sizes are not set',
  lvs_netlink_monitor_rcv_bufs: 'netlink buffer sizes are not set',
  lvs_netlink_monitor_rcv_bufs_force: 'netlink buffer sizes are not set',
  vrrp_rx_bufs_policy: 'socket receive buffer sizes are not set',
  vrrp_rx_bufs_multiplier: 'socket receive buffer sizes are not set',
};

const globalDefsSpec: BlockSpec<Config> = {
  name: 'global_defs',
  keywords: {
    use_symlink_paths: boolKw("Invalid value '%s' for global use_symlink_path specified", (g, v) => (g.useSymlinkPaths = v)),
    set_supplementary_groups: boolKw('Invalid set_supplementary_groups parameter %s', (g, v) => (g.setSupplementaryGroups = v)),
    router_id: stringKw('routerid name missing - ignoring', (g, v) => (g.routerId = v)),
    notification_email_from: (s, cfg, c) => {
      if (s.args.length < 1) {
        c.error(s, 'emailfrom missing - ignoring');
        return;
      }
      if (s.args.length > 1) c.error(s, `emailfrom - ignoring extra entries '${s.args[1]}' ...`, 2);
      cfg.global.notificationEmailFrom = s.args[0];
    },
    smtp_server: smtpServer,
    smtp_helo_name: (s, cfg) => {
      if (s.args.length >= 1) cfg.global.smtpHeloName = s.args[0];
    },
    smtp_connect_timeout: (s, cfg, c) => {
      // 0 is accepted (as before keepalived 2.0.7) and made 1
      let v = unsignedArg(c, s, 0, Math.floor(UINT_MAX / TIMER_HZ), `smtp_connect_timeout '%s' must be in [0, ${Math.floor(UINT_MAX / TIMER_HZ)}] - ignoring`);
      if (v === undefined) return;
      if (v === 0) {
        c.error(s, 'smtp_conect_timeout must be greater than 0, setting to 1', 1);
        v = 1;
      }
      cfg.global.smtpConnectTimeout = v;
    },
    notification_email: notificationEmail,
    smtp_alert: boolKw("Invalid value '%s' for global smtp_alert specified", (g, v) => (g.smtpAlert = v)),
    startup_script: startupShutdownScript('startup'),
    startup_script_timeout: scriptTimeout('startup'),
    shutdown_script: startupShutdownScript('shutdown'),
    shutdown_script_timeout: scriptTimeout('shutdown'),
    max_auto_priority: (s, cfg, c) => {
      if (s.args.length < 1) {
        cfg.global.maxAutoPriority = SCHED_RR_MAX;
        return;
      }
      const v = intArg(c, s, -1, SCHED_RR_MAX, `max_auto_priority '%s' must be in [0, ${SCHED_RR_MAX}] (or -1 to disable) - ignoring`);
      if (v !== undefined) cfg.global.maxAutoPriority = v;
    },
    min_auto_priority_delay: (s, cfg, c) => {
      if (s.args.length < 1) {
        c.error(s, 'min_auto_priority_delay requires delay time');
        return;
      }
      const v = unsignedArg(c, s, 1, 10000000, "min_auto_priority_delay '%s' must be in [1, 10000000] - ignoring");
      if (v !== undefined) cfg.global.minAutoPriorityDelay = v;
    },
    smtp_alert_vrrp: boolKw("Invalid value '%s' for global smtp_alert_vrrp specified", (g, v) => (g.smtpAlertVrrp = v)),
    smtp_alert_checker: boolKw("Invalid value '%s' for global smtp_alert_checker specified", (g, v) => (g.smtpAlertChecker = v)),
    checker_log_all_failures: boolKw('Invalid value for checker_log_all_failures specified', (g, v) => (g.checkerLogAllFailures = v)),
    dynamic_interfaces: (s, cfg, c) => {
      cfg.global.dynamicInterfaces = true;
      setDynamicInterfaces(c, true);
      if (s.args.length >= 1) {
        if (s.args[0] === 'allow_if_changes') cfg.global.allowIfChanges = true;
        else c.error(s, `Unknown dynamic_interfaces option '${s.args[0]}'`, 1);
      }
    },
    no_email_faults: flag((g) => (g.noEmailFaults = true)),
    default_interface: stringKw('default_interface requires interface name', (g, v) => (g.defaultInterface = v)),
    disable_local_igmp: flag((g) => (g.disableLocalIgmp = true)),
    v3_checksum_as_v2: flag((g) => (g.v3ChecksumAsV2 = true)),
    lvs_timeouts: lvsTimeouts,
    lvs_flush: flag((g) => (g.lvsFlush = true)),
    lvs_flush_on_stop: (s, cfg, c) => {
      if (s.args.length === 0) cfg.global.lvsFlushOnStop = 'full';
      else if (s.args[0] === 'VS') cfg.global.lvsFlushOnStop = 'vs';
      else c.error(s, `Unknown lvs_flush_on_stop type ${s.args[0]}`, 1);
    },
    lvs_sync_daemon: lvsSyncDaemon,
    vrrp_mcast_group4: mcastGroup(4),
    vrrp_mcast_group6: mcastGroup(6),
    vrrp_garp_master_delay: (s, cfg, c) => {
      const v = unsignedArg(c, s, 0, Math.floor(UINT_MAX / TIMER_HZ), "vrrp_garp_master_delay '%s' invalid - ignoring");
      if (v !== undefined) cfg.global.vrrpGarpMasterDelay = v;
    },
    vrrp_garp_master_repeat: (s, cfg, c) => {
      let v = unsignedArg(c, s, 0, UINT_MAX, "vrrp_garp_master_repeat '%s' invalid - ignoring");
      if (v === undefined) return;
      if (v === 0) {
        c.error(s, 'vrrp_garp_master_repeat must be greater than 0, setting to 1', 1);
        v = 1;
      }
      cfg.global.vrrpGarpMasterRepeat = v;
    },
    vrrp_garp_master_refresh: (s, cfg, c) => {
      const v = unsignedArg(c, s, 0, UINT_MAX, "Invalid vrrp_garp_master_refresh '%s' - ignoring");
      // an invalid value turns refresh off
      cfg.global.vrrpGarpMasterRefresh = v ?? 0;
    },
    vrrp_garp_master_refresh_repeat: (s, cfg, c) => {
      let v = unsignedArg(c, s, 0, UINT_MAX, "vrrp_garp_master_refresh_repeat '%s' invalid - ignoring");
      if (v === undefined) return;
      if (v === 0) {
        c.error(s, 'vrrp_garp_master_refresh_repeat must be greater than 0, setting to 1', 1);
        v = 1;
      }
      cfg.global.vrrpGarpMasterRefreshRepeat = v;
    },
    vrrp_garp_lower_prio_delay: (s, cfg, c) => {
      const v = unsignedArg(c, s, 0, Math.floor(UINT_MAX / TIMER_HZ), "vrrp_garp_lower_prio_delay '%s' invalid - ignoring");
      if (v !== undefined) cfg.global.vrrpGarpLowerPrioDelay = v;
    },
    vrrp_garp_lower_prio_repeat: (s, cfg, c) => {
      const v = unsignedArg(c, s, 0, 2147483647, "Invalid vrrp_garp_lower_prio_repeat '%s'");
      if (v !== undefined) cfg.global.vrrpGarpLowerPrioRepeat = v;
    },
    vrrp_down_timer_adverts: (s, cfg, c) => {
      const v = unsignedArg(c, s, 1, 100, "Invalid vrrp_down_timer_adverts [1:100] '%s'");
      if (v !== undefined) cfg.global.vrrpDownTimerAdverts = v;
    },
    vrrp_garp_interval: (s, cfg, c) => {
      const v = timerArg(c, s, 1, UINT_MAX, "vrrp_garp_interval '%s' is invalid");
      if (v === undefined) return;
      cfg.global.vrrpGarpInterval = v;
      if (v >= TIMER_HZ) logged(c, s, `The vrrp_garp_interval is very large - ${s.args[0]} seconds`, 1);
    },
    vrrp_gna_interval: (s, cfg, c) => {
      const v = timerArg(c, s, 1, UINT_MAX, "vrrp_gna_interval '%s' is invalid");
      if (v === undefined) return;
      cfg.global.vrrpGnaInterval = v;
      if (v >= TIMER_HZ) logged(c, s, `The vrrp_gna_interval is very large - ${s.args[0]} seconds`, 1);
    },
    vrrp_min_garp: (s, cfg, c) => {
      const v = boolArg(c, s, 'Invalid value for vrrp_min_garp specified');
      if (!v) return;
      // one gratuitous ARP/NA, no repeats, no refresh, no delay - unless already set otherwise
      const g = cfg.global;
      g.vrrpMinGarp = true;
      if (g.vrrpGarpMasterRepeat === 5) g.vrrpGarpMasterRepeat = 1;
      if (g.vrrpGarpMasterRefresh === 0) g.vrrpGarpMasterRefresh = 0;
      if (g.vrrpGarpMasterRefreshRepeat === 1) g.vrrpGarpMasterRefreshRepeat = 0;
      if (g.vrrpGarpMasterDelay === 5) g.vrrpGarpMasterDelay = 0;
    },
    vrrp_garp_extra_if: vrrpGarpExtraIf,
    vrrp_vmac_garp_intvl: vrrpGarpExtraIf,
    vrrp_lower_prio_no_advert: boolKw('Invalid value for vrrp_lower_prio_no_advert specified', (g, v) => (g.vrrpLowerPrioNoAdvert = v)),
    vrrp_higher_prio_send_advert: boolKw('Invalid value for vrrp_higher_prio_send_advert specified', (g, v) => (g.vrrpHigherPrioSendAdvert = v)),
    vrrp_version: (s, cfg, c) => {
      if (c.arg(s, 1) === undefined) return;
      const v = c.int(s, 1, 2, 3);
      if (v === undefined) {
        c.error(s, 'VRRP Error: Version must be either 2 or 3', 1);
        return;
      }
      cfg.global.vrrpVersion = v as 2 | 3;
    },
    vrrp_check_unicast_src: flag((g) => (g.vrrpCheckUnicastSrc = true)),
    vrrp_skip_check_adv_addr: boolKw("Invalid value '%s' for global vrrp_check_adv_addr specified", (g, v) => (g.vrrpSkipCheckAdvAddr = v)),
    vrrp_strict: boolKw("Invalid value '%s' for global vrrp_strict specified", (g, v) => (g.vrrpStrict = v)),
    notify_fifo: fifoHandler((g) => g.notifyFifo, ''),
    notify_fifo_script: fifoScriptHandler((g) => g.notifyFifo, ''),
    vrrp_notify_fifo: fifoHandler((g) => g.vrrpNotifyFifo, 'vrrp_'),
    vrrp_notify_fifo_script: fifoScriptHandler((g) => g.vrrpNotifyFifo, 'vrrp_'),
    vrrp_notify_priority_changes: boolKw("Invalid value '%s' for global vrrp_notify_priority_changes specified", (g, v) => (g.vrrpNotifyPriorityChanges = v)),
    fifo_write_vrrp_states_on_reload: flag((g) => (g.fifoWriteVrrpStatesOnReload = true)),
    lvs_notify_fifo: fifoHandler((g) => g.lvsNotifyFifo, 'lvs_'),
    lvs_notify_fifo_script: fifoScriptHandler((g) => g.lvsNotifyFifo, 'lvs_'),
    script_user: scriptUser,
    enable_script_security: flag((g) => (g.enableScriptSecurity = true)),
    rs_init_notifies: boolKw("Invalid value '%s' for global rs_init_notifies specified", (g, v) => (g.rsInitNotifies = v)),
    no_checker_emails: boolKw("Invalid value '%s' for global no_checker_emails specified", (g, v) => (g.noCheckerEmails = v)),
    vrrp_startup_delay: (s, cfg, c) => {
      const v = timerArg(c, s, TIMER_HZ / 1000, UINT_MAX, "vrrp_startup_delay '%s' is invalid");
      if (v === undefined) return;
      // with vrrp_delay_after_boot too, the larger delay wins
      if (v <= cfg.global.vrrpStartupDelay) return;
      cfg.global.vrrpStartupDelay = v;
      if (v >= 60 * TIMER_HZ) logged(c, s, `The vrrp_startup_delay is very large - ${s.args[0]} seconds`, 1);
    },
    vrrp_delay_after_boot: (s, cfg, c) => {
      const v = timerArg(c, s, TIMER_HZ / 1000, UINT_MAX, "vrrp_delay_after_boot '%s' is invalid");
      if (v !== undefined) cfg.global.vrrpDelayAfterBoot = v;
    },
    log_unknown_vrids: flag((g) => (g.logUnknownVrids = true)),
    vrrp_owner_ignore_adverts: (s, cfg, c) => {
      const v = boolArg(c, s, `Invalid value '${s.kw}' for global %s specified`);
      if (v !== undefined) cfg.global.vrrpOwnerIgnoreAdverts = v;
    },
    vmac_prefix: (s, cfg, c) => {
      const v = c.arg(s, 1);
      if (v === undefined) return;
      if (cfg.global.vmacPrefix !== undefined) c.error(s, `vmac prefix has already been specified - ignoring ${v}`, 1);
      else cfg.global.vmacPrefix = v;
    },
    vmac_addr_prefix: (s, cfg, c) => {
      const v = c.arg(s, 1);
      if (v === undefined) return;
      if (cfg.global.vmacAddrPrefix !== undefined) c.error(s, `vmac_addr prefix has already been specified - ignoring ${v}`, 1);
      else cfg.global.vmacAddrPrefix = v;
    },
    umask: umaskHandler,
    random_seed: (s, cfg, c) => {
      const v = unsignedArg(c, s, 0, UINT_MAX, 'random_seed %s invalid');
      if (v !== undefined) cfg.global.randomSeed = v;
    },
    reload_check_config: (s, cfg) => {
      cfg.global.reloadCheckConfig = s.args[0] ?? '/dev/null';
    },
    reload_time_file: (s, cfg, c) => {
      if (s.args.length !== 1) {
        c.error(s, 'reload_time_file invalid');
        return;
      }
      cfg.global.reloadTimeFile = s.args[0];
    },
    reload_repeat: flag((g) => (g.reloadRepeat = true)),
    reload_file: (s, cfg) => {
      cfg.global.reloadFile = s.args[0] ?? '';
    },
    include_check: includeCheck,
    config_save_dir: (s, cfg, c) => {
      const dir = c.arg(s, 1);
      if (dir === undefined) return;
      const st = c.env.stat(dir);
      // keepalived's parent creates a missing directory; the children (which report) expect it
      if (st && !st.isDir) {
        c.error(s, `config_save_dir ${dir} is not a directory`, 1);
        return;
      }
      cfg.global.configSaveDir = dir.length > 1 ? dir.replace(/\/$/, '') : dir;
    },
    tmp_config_directory: (s, cfg, c) => {
      if (cfg.global.tmpConfigDirectory !== undefined) {
        c.error(s, `${s.kw} already specified - ignoring`);
        return;
      }
      if (s.args.length < 1) {
        c.error(s, `${s.kw} missing directory name`);
        return;
      }
      cfg.global.tmpConfigDirectory = s.args[0];
    },
    data_use_instance: boolKw("Invalid value '%s' for global date_use_instance specified", (g, v) => (g.dataUseInstance = v)),
    json_version: (s, cfg, c) => {
      if (s.args.length < 1) {
        c.error(s, `${s.kw} requires version`);
        return;
      }
      const v = unsignedArg(c, s, 1, 2, 'Invalid JSON version');
      if (v !== undefined) cfg.global.jsonVersion = v;
    },
    iproute_usr_dir: (s, cfg, c) => {
      if (s.args.length !== 1) c.error(s, `${s.kw} requires path`);
      else cfg.global.iprouteUsrDir = s.args[0];
    },
    iproute_etc_dir: (s, cfg, c) => {
      if (s.args.length !== 1) c.error(s, `${s.kw} requires path`);
      else cfg.global.iprouteEtcDir = s.args[0];
    },
    state_dump_file: pathKw((g, v) => (g.stateDumpFile = v)),
    stats_dump_file: pathKw((g, v) => (g.statsDumpFile = v)),
    json_dump_file: pathKw((g, v) => (g.jsonDumpFile = v)),
    // the names keepalived's current man page documents for the same settings
    state_file_location: pathKw((g, v) => (g.stateDumpFile = v)),
    stats_file_location: pathKw((g, v) => (g.statsDumpFile = v)),
    json_file_location: pathKw((g, v) => (g.jsonDumpFile = v)),
    lvs_flush_onstop: (s, cfg, c) => {
      // the name before keepalived 2.1.5
      if (s.args.length === 0) cfg.global.lvsFlushOnStop = 'full';
      else if (s.args[0] === 'VS') cfg.global.lvsFlushOnStop = 'vs';
      else c.error(s, `Unknown lvs_flush_on_stop type ${s.args[0]}`, 1);
    },
  },
  unsupported: unsupportedGlobal,
};

// Unsupported keywords are recorded in the model too (for --dump-config).
function walkGlobalDefs(s: Stmt, cfg: Config, c: Ctx): void {
  if (s.args.length > 0) c.error(s, `Block ${s.kw} has extra parameters ${s.args[0]} ...`, 1);
  for (const it of s.block ?? []) {
    if (Object.hasOwn(unsupportedGlobal, it.kw) && !Object.hasOwn(globalDefsSpec.keywords, it.kw)) cfg.global.unsupported.push(it.kw);
    c.dispatch(it, globalDefsSpec, cfg);
  }
}

// ---------------------------------------------------------------------------------------
// Root blocks

function linkbeatInterfaces(s: Stmt, cfg: Config, c: Ctx): void {
  checkListBlockArgs(c, s);
  for (const it of s.block ?? []) {
    // keepalived looks the interface up without creating it (unless dynamic_interfaces)
    if (!c.env.interfaceExists(it.kw) && !cfg.global.dynamicInterfaces) {
      c.error(it, `unknown interface ${it.kw} specified for linkbeat interface`, 0, ErrClass.FATAL);
      continue;
    }
    let type: 'MII' | 'ETHTOOL' | 'IOCTL' | undefined;
    if (it.args.length > 0) {
      const t = it.args[0];
      if (t === 'MII' || t === 'ETHTOOL' || t === 'IOCTL') type = t;
      if (!type || it.args.length > 1) c.error(it, `extra characters ${t} in linkbeat interface`, 1);
    }
    cfg.global.linkbeatInterfaces.push(type ? { name: it.kw, type } : { name: it.kw });
  }
}

function interfaceUpDownDelays(s: Stmt, cfg: Config, c: Ctx): void {
  checkListBlockArgs(c, s);
  for (const it of s.block ?? []) {
    if (!c.env.interfaceExists(it.kw) && !cfg.global.dynamicInterfaces) {
      c.error(it, `unknown interface ${it.kw} specified for up/down delay`, 0, ErrClass.FATAL);
      continue;
    }
    if (it.args.length < 1) {
      logged(c, it, `No timeouts specified for ${it.kw} up/down delays`);
      continue;
    }
    if (it.args.length > 2) logged(c, it, `Too many parameters for ${it.kw} up/down delays`, 3);
    const down = c.decimal(it, 1, it.args[0], 0, 255, 6);
    if (down === undefined) {
      logged(c, it, `Invalid down delay ${it.args[0]} for ${it.kw}`, 1);
      continue;
    }
    let up = 0;
    if (it.args.length >= 2) {
      const u = c.decimal(it, 2, it.args[1], 0, 255, 6);
      if (u === undefined) {
        logged(c, it, `Invalid up delay ${it.args[1]} for ${it.kw}`, 2);
        continue;
      }
      up = u;
    }
    cfg.global.interfaceUpDownDelays.push({ name: it.kw, down, up });
  }
}

function trackGroup(s: Stmt, cfg: Config, c: Ctx): void {
  if (s.args.length !== 1) {
    c.error(s, 'track_group must have a name - skipping');
    return;
  }
  const name = s.args[0];
  if (cfg.static.trackGroups.some((g) => g.name === name)) {
    c.error(s, `track_group ${name} already defined`, 1);
    return;
  }
  const tg: StaticTrackGroup = { name, group: [] };
  cfg.static.trackGroups.push(tg);
  let haveGroup = false;
  c.walk(s.block, {
    name: 'track_group',
    keywords: {
      group: (g: Stmt, t: StaticTrackGroup, cc: Ctx) => {
        if (haveGroup) {
          cc.error(g, `Group list already specified for sync group ${t.name}`);
          return;
        }
        haveGroup = true;
        for (const it of g.block ?? []) t.group.push(it.kw, ...it.args);
        if (t.group.length === 0) cc.error(g, `Warning - track group ${t.name} has empty group block`);
      },
    },
  }, tg);
}

const trackGroupExists = (cfg: Config) => (name: string) => cfg.static.trackGroups.some((g) => g.name === name);

function staticAddresses(s: Stmt, cfg: Config, c: Ctx): void {
  checkListBlockArgs(c, s);
  for (const it of s.block ?? []) {
    const a = parseAddressLine(c, it, 'static_ipaddress', { defaultInterface: cfg.global.defaultInterface, trackGroupExists: trackGroupExists(cfg) });
    if (a) cfg.static.addresses.push(a);
  }
}

function staticRoutes(s: Stmt, cfg: Config, c: Ctx): void {
  checkListBlockArgs(c, s);
  for (const it of s.block ?? []) {
    const r = parseRouteLine(c, it, { trackGroupExists: trackGroupExists(cfg) });
    if (r) cfg.static.routes.push(r);
  }
}

function staticRules(s: Stmt, cfg: Config, c: Ctx): void {
  checkListBlockArgs(c, s);
  for (const it of s.block ?? []) {
    const r = parseRuleLine(c, it, { trackGroupExists: trackGroupExists(cfg) });
    if (r) cfg.static.rules.push(r);
  }
}

export const globalTop: Record<string, Handler<Config>> = {
  global_defs: walkGlobalDefs,
  linkbeat_use_polling: (_s, cfg) => {
    cfg.global.linkbeatUsePolling = true;
  },
  net_namespace: (s, cfg, c) => {
    if (s.args.length < 1) {
      c.error(s, 'net_namespace name missing - ignoring');
      return;
    }
    if (cfg.global.netNamespace !== undefined) {
      c.error(s, `Duplicate net_namespace definition ${s.args[0]} - ignoring`, 1);
      return;
    }
    cfg.global.netNamespace = s.args[0];
    cfg.global.usePidDir = true;
  },
  net_namespace_ipvs: (s, cfg, c) => {
    if (cfg.global.netNamespaceIpvs !== undefined) {
      c.error(s, `Duplicate net_namespace_ipvs definition ${s.args[0] ?? ''} - ignoring`, 1);
      return;
    }
    cfg.global.netNamespaceIpvs = s.args[0] ?? '';
  },
  namespace_with_ipsets: (_s, cfg) => {
    cfg.global.namespaceWithIpsets = true;
  },
  use_pid_dir: (_s, cfg) => {
    cfg.global.usePidDir = true;
  },
  instance: (s, cfg, c) => {
    if (s.args.length < 1) {
      c.error(s, 'instance name missing - ignoring');
      return;
    }
    if (cfg.global.instance !== undefined) {
      c.error(s, `Duplicate instance definition ${s.args[0]} - ignoring`, 1);
      return;
    }
    cfg.global.instance = s.args[0];
    cfg.global.usePidDir = true;
  },
  child_wait_time: (s, cfg, c) => {
    const v = unsignedArg(c, s, 0, UINT_MAX, 'Invalid child_wait_time %s');
    if (v !== undefined) cfg.global.childWaitTime = v;
  },
  linkbeat_interfaces: linkbeatInterfaces,
  interface_up_down_delays: interfaceUpDownDelays,
  track_group: trackGroup,
  static_ipaddress: staticAddresses,
  static_routes: staticRoutes,
  static_rules: staticRules,
};

/**
 * After the whole file: keepalived's one-line summary when any interface named in the
 * configuration did not exist (the VRRP process stops there, class CONFIG_BAD_IF). An
 * interface found missing by a later finish step is summarised when it is noted.
 */
export function finishGlobal(_cfg: Config, c: Ctx): void {
  reportMissingInterfaces(c);
}

// re-exported for the VRRP family
export { lookupInterface, DEFAULT_INTERFACE };
