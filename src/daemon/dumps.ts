/**
 * keepalived's state dumps, as monitoring tools scrape them (keepalived(8) SIGNALS):
 *   SIGUSR1        → keepalived.data (VRRP) and keepalived_check.data (LVS)
 *   SIGUSR2        → keepalived.stats
 *   SIGRTMIN+2     → keepalived.json
 *   SIGRTMIN+29    → keepalived.stats, then the counters start again from zero
 * Pure formatters: (configuration, status snapshot) → text. The layout (section titles,
 * indentation, labels, value formats) is the one keepalived 2.2.7 writes; lines for what
 * hacheck does not have (sockpools, nftables, SNMP, process priorities, interface queue)
 * are left out rather than invented.
 */
import type { Config } from '../config/model/types.js';
import type { GlobalDefs } from '../config/model/global.js';
import type { IpAddress } from '../config/model/iproute.js';
import type { ScriptSpec } from '../config/model/scripts.js';
import type { VrrpInstanceConfig } from '../config/model/vrrp.js';
import type { VirtualServer } from '../config/model/lvs.js';
import type { InstanceStatus } from '../vrrp/engine.js';
import { masterDownIntervalUs } from '../vrrp/timing.js';
import { VRRP_MCAST_GROUP4, VRRP_MCAST_GROUP6 } from '../vrrp/addr.js';

/** One real server as the LVS runtime reports it (daemon LvsRuntime.status()). */
export interface RealServerStatus {
  vs: string;
  rs: string;
  up: boolean;
  weight: number;
}

export interface DumpSnapshot {
  vrrp: readonly InstanceStatus[];
  lvs?: { realServers?: readonly RealServerStatus[] };
  /** Wall clock (ms since the epoch) and the engine's monotonic clock (ms), read together. */
  wallMs: number;
  monoMs: number;
}

export type VrrpStatsCounters = {
  advertRcvd: number;
  advertSent: number;
  becomeMaster: number;
  releaseMaster: number;
  packetLenErr: number;
  ipTtlErr: number;
  invalidTypeRcvd: number;
  advertIntervalErr: number;
  addrListErr: number;
  invalidAuthtype: number;
  authtypeMismatch: number;
  authFailure: number;
  priZeroRcvd: number;
  priZeroSent: number;
};

// ------------------------------------------------------------------------------- file names

export interface DumpPaths {
  data: string;
  check: string;
  stats: string;
  json: string;
}

/** keepalived's tmp_dir: $TMPDIR when absolute, else /tmp. */
export function tmpDir(env: Record<string, string | undefined>): string {
  const t = env.TMPDIR;
  return t && t.startsWith('/') ? t.replace(/(.)\/+$/, '$1') : '/tmp';
}

function splitExt(name: string): [string, string] {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? [name, ''] : [name.slice(0, dot), name.slice(dot)];
}

/**
 * Where each dump goes. Without keywords: TMPDIR/keepalived.data etc. state_dump_file
 * (keepalived 2.3): an absolute path names the directory (and, without a trailing '/', the
 * file); a relative one only the file, in TMPDIR. The checker's file is the data file with
 * "_check" before the extension. data_use_instance adds ".NETNS_INSTANCE" before it.
 * stats_dump_file / json_dump_file (keepalived 2.3's man page) are read the same way.
 */
export function dumpPaths(g: Pick<GlobalDefs, 'stateDumpFile' | 'statsDumpFile' | 'jsonDumpFile' | 'dataUseInstance' | 'instance' | 'netNamespace'>, tmp: string): DumpPaths {
  const place = (kw: string | undefined, dflt: string): { dir: string; file: string } => {
    if (!kw) return { dir: tmp, file: dflt };
    const dir = kw.startsWith('/') ? (kw.endsWith('/') ? kw.replace(/\/+$/, '') || '' : kw.slice(0, kw.lastIndexOf('/'))) : tmp;
    const file = kw.endsWith('/') ? dflt : kw.slice(kw.lastIndexOf('/') + 1);
    return { dir, file };
  };
  const tag = g.dataUseInstance && (g.instance || g.netNamespace)
    ? `.${g.netNamespace ?? ''}${g.instance && g.netNamespace ? '_' : ''}${g.instance ?? ''}`
    : '';
  const data = place(g.stateDumpFile, 'keepalived.data');
  const [stem, ext] = splitExt(data.file);
  const stats = place(g.statsDumpFile, 'keepalived.stats');
  const json = place(g.jsonDumpFile, 'keepalived.json');
  return {
    data: `${data.dir}/${stem}${tag}${ext}`,
    check: `${data.dir}/${stem}_check${tag}${ext}`,
    stats: `${stats.dir}/${stats.file}`,
    json: `${json.dir}/${json.file}`,
  };
}

// ------------------------------------------------------------------------------- helpers

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** ctime(3) with microseconds, local time: "Sat Nov 21 07:03:12.644732 2026". */
export function ctimeUs(epochUs: number): string {
  const sec = Math.floor(epochUs / 1e6);
  const us = epochUs - sec * 1e6;
  const d = new Date(sec * 1000);
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(us, 6)} ${d.getFullYear()}`;
}

/** "SEC.USEC (ctime)": keepalived's timeval lines. */
function timeval(epochUs: number): string {
  const sec = Math.floor(epochUs / 1e6);
  return `${sec}.${pad(epochUs - sec * 1e6, 6)} (${ctimeUs(epochUs)})`;
}

/** The instance's last transition on the wall clock, µs since the epoch (0 = never). */
function lastTransitionUs(st: InstanceStatus | undefined, snap: DumpSnapshot): number {
  if (st?.lastTransition === undefined) return 0;
  return Math.max(0, Math.round((snap.wallMs - (snap.monoMs - st.lastTransition)) * 1000));
}

/** keepalived's cmd_str(): every word single-quoted. */
export function cmdStr(s: ScriptSpec): string {
  return s.argv.map((w, i) => (i === 0 && (w.startsWith('<') || w.startsWith('>')) ? w : `'${w}'`)).join(' ');
}

const SCOPES: Record<number, string> = { 0: 'global', 200: 'site', 253: 'link', 254: 'host', 255: 'nowhere' };
const FOREVER = 0xffffffff;

/** One address as keepalived lists VIPs ("10.0.0.1/24 dev eth0 scope global set"). */
export function formatIpAddress(a: IpAddress, defaultDev: string | undefined, set: boolean): string {
  const full = a.family === 'inet6' ? 128 : 32;
  let s = a.address;
  if (!a.peer && a.prefixLen !== full) s += `/${a.prefixLen}`;
  if (a.family === 'inet' && a.broadcast && a.broadcast !== '0.0.0.0') s += ` brd ${a.broadcast}`;
  s += ` dev ${a.dev ?? defaultDev ?? 'eth0'}`;
  s += ` scope ${SCOPES[a.scope ?? 0] ?? String(a.scope)}`;
  if (a.label) s += ` label ${a.label}`;
  if (a.peer) s += ` peer ${a.peer}/${a.prefixLen}`;
  if (a.home) s += ' home';
  if (a.nodad) s += ' -nodad';
  if (a.mngtmpaddr) s += ' mngtmpaddr';
  if (a.noprefixroute) s += ' noprefixroute';
  if (a.autojoin) s += ' autojoin';
  if (a.noTrack) s += ' no_track';
  if (a.family === 'inet6') {
    const lft = a.preferredLft ?? (a.prefixLen === 128 ? 0 : FOREVER);
    s += lft === 0 ? ' deprecated' : lft === FOREVER ? ' preferred_lft forever' : ` preferred_lft ${lft}`;
  }
  if (set) s += ' set';
  return s;
}

const onOff = (b: boolean | undefined) => (b === undefined ? 'unset' : b ? 'on' : 'off');
const tf = (b: boolean) => (b ? 'true' : 'false');

/** The counters of one instance, named as keepalived's vrrp_stats. */
export function statsOf(st: InstanceStatus): VrrpStatsCounters {
  const e = st.stats.errors;
  return {
    advertRcvd: st.stats.advertRcvd,
    advertSent: st.stats.advertSent,
    becomeMaster: st.stats.becomeMaster,
    releaseMaster: st.stats.releaseMaster,
    packetLenErr: e.packet_len_err ?? 0,
    ipTtlErr: e.ip_ttl_err ?? 0,
    invalidTypeRcvd: e.invalid_type_rcvd ?? 0,
    advertIntervalErr: e.advert_interval_err ?? 0,
    addrListErr: e.addr_list_err ?? 0,
    invalidAuthtype: e.invalid_authtype ?? 0,
    authtypeMismatch: e.authtype_mismatch ?? 0,
    authFailure: e.auth_failure ?? 0,
    priZeroRcvd: st.stats.priZeroRcvd,
    priZeroSent: st.stats.priZeroSent,
  };
}

/** Counters since the last SIGRTMIN+29 (keepalived zeroes them; hacheck keeps a baseline). */
export function statsSince(st: InstanceStatus, baseline: VrrpStatsCounters | undefined): VrrpStatsCounters {
  const now = statsOf(st);
  if (!baseline) return now;
  const out = { ...now };
  for (const k of Object.keys(out) as (keyof VrrpStatsCounters)[]) out[k] = Math.max(0, now[k] - baseline[k]);
  return out;
}

// ------------------------------------------------------------------------------- keepalived.stats

/** keepalived.stats: the counters of every instance. */
export function formatStats(snap: DumpSnapshot, baseline: ReadonlyMap<string, VrrpStatsCounters> = new Map()): string {
  const out: string[] = [];
  for (const st of snap.vrrp) {
    const c = statsSince(st, baseline.get(st.name));
    out.push(
      `VRRP Instance: ${st.name}`,
      '  Advertisements:',
      `    Received: ${c.advertRcvd}`,
      `    Sent: ${c.advertSent}`,
      `  Became master: ${c.becomeMaster}`,
      `  Released master: ${c.releaseMaster}`,
      '  Packet Errors:',
      `    Length: ${c.packetLenErr}`,
      `    TTL: ${c.ipTtlErr}`,
      `    Invalid Type: ${c.invalidTypeRcvd}`,
      `    Advertisement Interval: ${c.advertIntervalErr}`,
      `    Address List: ${c.addrListErr}`,
      '  Authentication Errors:',
      `    Invalid Type: ${c.invalidAuthtype}`,
      `    Type Mismatch: ${c.authtypeMismatch}`,
      `    Failure: ${c.authFailure}`,
      '  Priority Zero:',
      `    Received: ${c.priZeroRcvd}`,
      `    Sent: ${c.priZeroSent}`,
    );
  }
  return out.map((l) => l + '\n').join('');
}

// ------------------------------------------------------------------------------- keepalived.json

const RAW = '@@hacheck-raw@@';
const STATE_NUM: Record<string, number> = { INIT: 0, BACKUP: 1, MASTER: 2, FAULT: 3, STOP: 98 };
const AUTH_NUM: Record<string, number> = { PASS: 1, AH: 2 };

function modelByName(cfg: Config): Map<string, VrrpInstanceConfig> {
  return new Map(cfg.vrrp.instances.filter((i) => !i.removed).map((i) => [i.name, i]));
}

function authTypeName(m: VrrpInstanceConfig): string | undefined {
  return m.auth ? String(m.auth.type).toUpperCase() : undefined;
}

/**
 * keepalived.json: an array with one {data, stats} object per instance, keys in keepalived's
 * order (vrrp_json.c). Only instances hacheck runs are listed.
 */
export function formatJson(cfg: Config, snap: DumpSnapshot, baseline: ReadonlyMap<string, VrrpStatsCounters> = new Map()): string {
  const models = modelByName(cfg);
  const arr = snap.vrrp.map((st) => {
    const m = models.get(st.name);
    const data: Record<string, unknown> = {
      iname: st.name,
      dont_track_primary: m?.dontTrackPrimary ? 1 : 0,
      skip_check_adv_addr: m?.skipCheckAdvAddr ? 1 : 0,
      strict_mode: m?.strictMode ? 1 : 0,
      vmac_ifname: '',
      ifp_ifname: st.interface,
      master_priority: st.state === 'MASTER' ? 0 : st.masterPriority ?? 0,
      // printf %f: always six decimals, which JSON.stringify would drop
      last_transition: `${RAW}${(lastTransitionUs(st, snap) / 1e6).toFixed(6)}`,
      garp_delay: (m?.garpMasterDelayMs ?? 5000) / 1000,
      garp_refresh: Math.floor((m?.garpMasterRefreshMs ?? 0) / 1000),
      garp_rep: m?.garpMasterRepeat ?? 5,
      garp_refresh_rep: m?.garpMasterRefreshRepeat ?? 1,
      garp_lower_prio_delay: Math.floor((m?.garpLowerPrioDelayMs ?? 5000) / 1000),
      garp_lower_prio_rep: m?.garpLowerPrioRepeat ?? 5,
      lower_prio_no_advert: m?.lowerPrioNoAdvert ? 1 : 0,
      higher_prio_send_advert: m?.higherPrioSendAdvert ? 1 : 0,
      vrid: st.vrid,
      base_priority: st.basePriority,
      effective_priority: st.effectivePriority,
      vipset: st.state === 'MASTER',
      promote_secondaries: m?.promoteSecondaries ?? false,
      adver_int: st.advertIntervalCs / 100,
      master_adver_int: st.advertIntervalCs / 100,
      accept: m?.accept === false ? 0 : 1,
      nopreempt: m?.nopreempt ?? false,
      preempt_delay: Math.floor((m?.preemptDelayMs ?? 0) / 1000),
      state: STATE_NUM[st.state] ?? 0,
      wantstate: STATE_NUM[st.wantState] ?? 0,
      version: m?.version ?? 2,
      smtp_alert: m?.smtpAlert ?? false,
      notify_deleted: false,
    };
    if (m) {
      const scripts: [string, ScriptSpec | undefined][] = [
        ['script_backup', m.notifyBackup], ['script_master', m.notifyMaster], ['script_fault', m.notifyFault],
        ['script_stop', m.notifyStop], ['script_deleted', m.notifyDeleted], ['script', m.notify],
        ['script_master_rx_lower_pri', m.notifyMasterRxLowerPri],
      ];
      for (const [k, s] of scripts) if (s) data[k] = cmdStr(s);
      const set = st.state === 'MASTER';
      if (m.vips.length) data.vips = m.vips.map((a) => formatIpAddress(a, st.interface, set));
      if (m.excludedVips.length) data.evips = m.excludedVips.map((a) => formatIpAddress(a, st.interface, set));
      const ifs = m.trackInterface.filter((t) => t.name !== st.interface);
      if (ifs.length) data.track_ifp = ifs.map((t) => t.name);
      const scr = m.trackScript.map((t) => cfg.vrrp.scripts.find((s) => s.name === t.name)?.script).filter((s): s is ScriptSpec => !!s);
      if (scr.length) data.track_script = scr.map(cmdStr);
      data.auth_type = m.auth ? AUTH_NUM[authTypeName(m)!] ?? 0 : 0;
      if (m.auth) data.auth_data = authTypeName(m) === 'AH' ? m.auth.pass : m.auth.pass.slice(0, 8);
    }
    const c = statsSince(st, baseline.get(st.name));
    const stats = {
      advert_rcvd: c.advertRcvd,
      advert_sent: c.advertSent,
      become_master: c.becomeMaster,
      release_master: c.releaseMaster,
      packet_len_err: c.packetLenErr,
      advert_interval_err: c.advertIntervalErr,
      ip_ttl_err: c.ipTtlErr,
      invalid_type_rcvd: c.invalidTypeRcvd,
      addr_list_err: c.addrListErr,
      invalid_authtype: c.invalidAuthtype,
      authtype_mismatch: c.authtypeMismatch,
      auth_failure: c.authFailure,
      pri_zero_rcvd: c.priZeroRcvd,
      pri_zero_sent: c.priZeroSent,
    };
    return { data, stats };
  });
  // keepalived's JSON writer escapes '/' (valid JSON either way; kept for byte-equal output).
  return JSON.stringify(arr).replace(/\//g, '\\/').replace(new RegExp(`"${RAW}([0-9.]+)"`, 'g'), '$1');
}

// ------------------------------------------------------------------------------- keepalived.data

/** "------< Global definitions >------": the lines for what hacheck implements. */
export function formatGlobal(g: GlobalDefs, vrrpProcess: boolean): string[] {
  const o: string[] = ['------< Global definitions >------'];
  if (g.configSaveDir) o.push(` Config save dir = ${g.configSaveDir}`);
  o.push(` Network namespace = ${g.netNamespace ?? '(default)'}`);
  o.push(` Network namespace ipvs = ${g.netNamespaceIpvs === undefined ? '(main namespace)' : g.netNamespaceIpvs || '(default)'}`);
  if (g.instance) o.push(` Instance name = ${g.instance}`);
  if (g.routerId) o.push(` Router ID = ${g.routerId}`);
  if (g.smtpServer) o.push(` Smtp server = ${g.smtpServer.host}`, ` Smtp server port = ${g.smtpServer.port}`);
  if (g.smtpHeloName) o.push(` Smtp HELO name = ${g.smtpHeloName}`);
  if (g.smtpConnectTimeout) o.push(` Smtp server connection timeout = ${g.smtpConnectTimeout}`);
  if (g.notificationEmailFrom) {
    o.push(` Email notification from = ${g.notificationEmailFrom}`, ' Email notification to:');
    for (const e of g.notificationEmail) o.push(`   ${e}`);
  }
  o.push(` Default smtp_alert = ${onOff(g.smtpAlert)}`);
  o.push(` Default smtp_alert_vrrp = ${onOff(g.smtpAlertVrrp)}`);
  o.push(` Default smtp_alert_checker = ${onOff(g.smtpAlertChecker)}`);
  o.push(` Checkers log all failures = ${tf(g.checkerLogAllFailures)}`);
  o.push(g.reloadCheckConfig !== undefined ? ` Test config before reload, log to ${g.reloadCheckConfig || '/dev/null'}` : ' No test config before reload');
  if (g.reloadFile !== undefined) o.push(` Reload_file = ${g.reloadFile}`);
  if (g.tmpConfigDirectory) o.push(` config save directory = ${g.tmpConfigDirectory}`);
  if (g.dataUseInstance) o.push(' Use instance name in data dumps');
  o.push(` Dynamic interfaces = ${tf(g.dynamicInterfaces)}`);
  if (g.dynamicInterfaces) o.push(` Allow interface changes = ${tf(g.allowIfChanges)}`);
  if (g.noEmailFaults) o.push(' Send emails for fault transitions = off');
  if (g.lvsTimeouts.tcp) o.push(` LVS TCP timeout = ${g.lvsTimeouts.tcp}`);
  if (g.lvsTimeouts.tcpfin) o.push(` LVS TCP FIN timeout = ${g.lvsTimeouts.tcpfin}`);
  // keepalived 2.2.7 labels the UDP timeout "TCP" too.
  if (g.lvsTimeouts.udp) o.push(` LVS TCP timeout = ${g.lvsTimeouts.udp}`);
  if (vrrpProcess) o.push(` Default interface = ${g.defaultInterface ?? 'eth0'}`);
  o.push(` Disable local IGMP = ${g.disableLocalIgmp ? 'yes' : 'no'}`);
  if (g.lvsSyncDaemon) {
    const s = g.lvsSyncDaemon;
    if (s.instance) o.push(` LVS syncd vrrp instance = ${s.instance}`);
    o.push(` LVS syncd interface = ${s.interface}`);
    if (s.id !== undefined) o.push(` LVS syncd syncid = ${s.id}`);
    if (s.maxlen) o.push(` LVS syncd maxlen = ${s.maxlen}`);
    if (s.group) o.push(` LVS mcast group ${s.group}`);
    if (s.port) o.push(` LVS syncd mcast port = ${s.port}`);
    if (s.ttl) o.push(` LVS syncd mcast ttl = ${s.ttl}`);
  }
  o.push(` LVS flush = ${tf(g.lvsFlush)}`);
  o.push(` LVS flush on stop = ${g.lvsFlushOnStop === 'full' ? 'full' : g.lvsFlushOnStop === 'vs' ? 'VS' : 'disabled'}`);
  for (const [label, f] of [['Global', g.notifyFifo], ['VRRP', g.vrrpNotifyFifo], ['LVS', g.lvsNotifyFifo]] as const) {
    if (!f.name) continue;
    o.push(` ${label} notify fifo = ${f.name}, uid:gid ${f.script?.uid ?? 0}:${f.script?.gid ?? 0}`);
    if (f.script) o.push(` ${label} notify fifo script = ${cmdStr(f.script)}, uid:gid ${f.script.uid ?? 0}:${f.script.gid ?? 0}`);
  }
  o.push(` FIFO write vrrp states on reload = ${tf(g.fifoWriteVrrpStatesOnReload)}`);
  o.push(` VRRP notify priority changes = ${tf(g.vrrpNotifyPriorityChanges)}`);
  o.push(` VRRP IPv4 mcast group = ${g.vrrpMcastGroup4 || VRRP_MCAST_GROUP4}`);
  o.push(` VRRP IPv6 mcast group = ${g.vrrpMcastGroup6 || VRRP_MCAST_GROUP6}`);
  o.push(` Gratuitous ARP delay = ${g.vrrpGarpMasterDelay}`);
  o.push(` Gratuitous ARP repeat = ${g.vrrpGarpMasterRepeat}`);
  o.push(` Gratuitous ARP refresh timer = ${g.vrrpGarpMasterRefresh}`);
  o.push(` Gratuitous ARP refresh repeat = ${g.vrrpGarpMasterRefreshRepeat}`);
  o.push(` Gratuitous ARP lower priority delay = ${g.vrrpGarpLowerPrioDelay ?? g.vrrpGarpMasterDelay}`);
  o.push(` Gratuitous ARP lower priority repeat = ${g.vrrpGarpLowerPrioRepeat ?? g.vrrpGarpMasterRepeat}`);
  o.push(` Num adverts before down = ${g.vrrpDownTimerAdverts}`);
  if (g.vrrpGarpExtraIf) o.push(` Gratuitous ARP for each secondary ${g.vrrpGarpExtraIf.all ? 'i/f' : 'VMAC'} = ${g.vrrpGarpExtraIf.interval}s`);
  else o.push(' Gratuitous ARP for each secondary VMAC = 0s');
  o.push(` Send advert after receive lower priority advert = ${tf(!g.vrrpLowerPrioNoAdvert)}`);
  o.push(` Send advert after receive higher priority advert = ${tf(g.vrrpHigherPrioSendAdvert)}`);
  o.push(` Gratuitous ARP interval = ${(g.vrrpGarpInterval / 1e6).toFixed(6)}`);
  o.push(` Gratuitous NA interval = ${(g.vrrpGnaInterval / 1e6).toFixed(6)}`);
  o.push(` VRRP default protocol version = ${g.vrrpVersion}`);
  o.push(` VRRP check unicast_src = ${tf(g.vrrpCheckUnicastSrc)}`);
  o.push(` VRRP skip check advert addresses = ${tf(g.vrrpSkipCheckAdvAddr)}`);
  o.push(` VRRP strict mode = ${tf(g.vrrpStrict)}`);
  o.push(g.maxAutoPriority === -1 ? ' Max auto priority = Disabled' : ` Max auto priority = ${g.maxAutoPriority ?? 0}`);
  o.push(` Min auto priority delay = ${g.minAutoPriorityDelay} usecs`);
  o.push(` Script security ${g.enableScriptSecurity ? 'enabled' : 'disabled'}`);
  o.push(` rs_init_notifies = ${g.rsInitNotifies ? 1 : 0}`);
  o.push(` no_checker_emails = ${g.noCheckerEmails ? 1 : 0}`);
  o.push(` umask = 0${(g.umask ?? 0o177).toString(8)}`);
  if (g.vrrpStartupDelay) o.push(` vrrp_startup_delay = ${g.vrrpStartupDelay / 1e6}`);
  if (g.logUnknownVrids) o.push(' log_unknown_vrids');
  if (g.vmacPrefix) o.push(` VMAC prefix = ${g.vmacPrefix}`);
  if (g.vmacAddrPrefix) o.push(` VMAC address prefix = ${g.vmacAddrPrefix}`);
  return o;
}

const stateStr = (s: string) => (s === 'INIT' || s === 'BACKUP' || s === 'MASTER' || s === 'FAULT' ? s : 'unknown');

/** " VRRP Instance = NAME" and its lines. */
function formatInstance(cfg: Config, m: VrrpInstanceConfig, st: InstanceStatus | undefined, snap: DumpSnapshot): string[] {
  const o: string[] = [];
  const state = st?.state ?? 'INIT';
  const eff = st?.effectivePriority ?? m.priority;
  const advCs = st?.advertIntervalCs ?? m.advertIntervalCs;
  const ifname = st?.interface ?? m.interface;
  o.push(` VRRP Instance = ${m.name}`, `   VRRP Version = ${m.version}`);
  const group = st?.syncGroup ?? m.syncGroup;
  if (group) o.push(`   Sync group = ${group}`);
  if (m.family === 'inet6') o.push('   Using Native IPv6');
  o.push(`   State = ${stateStr(state)}`);
  if (state === 'BACKUP') {
    const mcast = m.mcastDstIp ?? (m.family === 'inet6' ? VRRP_MCAST_GROUP6 : VRRP_MCAST_GROUP4);
    // Before any advert keepalived shows the address adverts are sent to.
    o.push(`   Master router = ${st?.masterAddress ?? mcast}`, `   Master priority = ${st?.masterPriority ?? 0}`);
    if (m.version === 3) o.push(`   Master advert int = ${(advCs / 100).toFixed(2)} sec`);
  }
  const flags: string[] = [];
  if (m.unicast) flags.push('     Using unicast');
  else if (m.unicastConfigured) flags.push('     Unicast config option specified but using multicast');
  if (m.unicastFaultNoPeer) flags.push('     If unicast go to fault state if no peers');
  if (flags.length) o.push('   Flags:', ...flags);
  else o.push('   Flags: none');
  o.push(`   Wantstate = ${stateStr(st?.wantState ?? m.state)}`);
  o.push('   Number of config faults = 0');
  o.push(`   Number of interface and track script faults = ${st?.faults.length ?? 0}`);
  o.push('   Number of track scripts init = 0');
  o.push(`   Last transition = ${timeval(lastTransitionUs(st, snap))}`);
  o.push(`   Master down timer = ${masterDownIntervalUs(m.version, eff, advCs, m.downTimerAdverts)} usecs`);
  o.push(`   Interface = ${ifname ?? 'not configured'}`);
  if (m.dontTrackPrimary) o.push('   VRRP interface tracking disabled');
  if (m.skipCheckAdvAddr) o.push('   Skip checking advert IP addresses');
  if (m.strictMode) o.push('   Enforcing strict VRRP compliance');
  if (m.srcIp) o.push(`   Using src_ip = ${m.srcIp} (from configuration)`);
  if (!m.unicast) {
    const mcast = m.mcastDstIp ?? (m.family === 'inet6' ? VRRP_MCAST_GROUP6 : VRRP_MCAST_GROUP4);
    o.push(`   Multicast address ${mcast}`);
  }
  o.push(`   Gratuitous ARP delay = ${Math.floor(m.garpMasterDelayMs / 1000)}`);
  o.push(`   Gratuitous ARP repeat = ${m.garpMasterRepeat}`);
  o.push(`   Gratuitous ARP refresh = ${Math.floor(m.garpMasterRefreshMs / 1000)}`);
  o.push(`   Gratuitous ARP refresh repeat = ${m.garpMasterRefreshRepeat}`);
  o.push(`   Gratuitous ARP lower priority delay = ${Math.floor(m.garpLowerPrioDelayMs / 1000)}`);
  o.push(`   Gratuitous ARP lower priority repeat = ${m.garpLowerPrioRepeat}`);
  o.push(`   Down timer adverts = ${m.downTimerAdverts}`);
  o.push(`   Send advert after receive lower priority advert = ${tf(!m.lowerPrioNoAdvert)}`);
  o.push(`   Send advert after receive higher priority advert = ${tf(m.higherPrioSendAdvert)}`);
  o.push(`   Virtual Router ID = ${m.vrid}`);
  o.push(`   Priority = ${m.priority}`);
  o.push(`   Effective priority = ${eff}`);
  o.push(`   Total priority = ${eff}`);
  o.push(m.version === 2 ? `   Advert interval = ${Math.floor(advCs / 100)} sec` : `   Advert interval = ${advCs * 10} milli-sec`);
  if (state === 'BACKUP' && m.version === 3) o.push(`   Master advert interval = ${advCs * 10} milli-sec`);
  o.push(`   Accept = ${m.accept ? 'enabled' : 'disabled'}`);
  o.push(`   Preempt = ${m.nopreempt ? 'disabled' : 'enabled'}`);
  if (m.preemptDelayMs) o.push(`   Preempt delay = ${m.preemptDelayMs / 1000} secs`);
  o.push(`   Promote_secondaries = ${m.promoteSecondaries ? 'enabled' : 'disabled'}`);
  if (m.auth) {
    const t = authTypeName(m);
    o.push(`   Authentication type = ${t === 'AH' ? 'IPSEC_AH' : 'SIMPLE_PASSWORD'}`);
    if (t !== 'AH') o.push(`   Password = ${m.auth.pass.slice(0, 8)}`);
  } else if (m.version === 2) o.push('   Authentication type = none');
  if (m.kernelRxBufSize) o.push(`   Kernel rx buffer size = ${m.kernelRxBufSize}`);
  if (m.debug) o.push(`   Debug level = ${m.debug}`);
  const set = state === 'MASTER';
  if (m.vips.length) {
    o.push(`   Virtual IP (${m.vips.length}):`);
    for (const a of m.vips) o.push(`     ${formatIpAddress(a, ifname, set)}`);
  }
  if (m.excludedVips.length) {
    o.push('   Virtual IP Excluded :');
    for (const a of m.excludedVips) o.push(`     ${formatIpAddress(a, ifname, set)}`);
  }
  if (m.unicast) {
    o.push(`   Unicast TTL = ${m.unicastTtl ?? 255}`);
    o.push(`   Check unicast src : ${m.checkUnicastSrc ? 'yes' : 'no'}`);
    o.push('   Unicast Peer :');
    for (const p of m.unicastPeers) o.push(`     ${p.address} min_ttl ${p.minTtl} max_ttl ${p.maxTtl}`);
    // hacheck answers with the old checksum when a peer uses it, as keepalived's default
    o.push('   Unicast checksum compatibility = no');
  }
  // keepalived ignores tracking its own interface (it is always tracked).
  const ifs = m.trackInterface.filter((t) => t.name !== ifname);
  if (ifs.length) {
    o.push('   Tracked interfaces :');
    for (const t of ifs) o.push(`     ${t.name} weight ${t.weight ?? 0}${t.reverse ? ' reverse' : ''}`);
  }
  const weightOf = (t: { weight?: number }, own: number | undefined) => t.weight ?? own ?? 0;
  if (m.trackScript.length) {
    o.push('   Tracked scripts :');
    for (const t of m.trackScript) {
      const s = cfg.vrrp.scripts.find((x) => x.name === t.name);
      o.push(`     ${t.name} weight ${weightOf(t, s?.weight)}${t.reverse ?? s?.weightReverse ? ' reverse' : ''}`);
    }
  }
  if (m.trackFile.length) {
    o.push('   Tracked files :');
    for (const t of m.trackFile) o.push(`     ${t.name}, weight ${t.weight ?? 0}${t.reverse ? ' reverse' : ''}`);
  }
  if (m.trackProcess.length) {
    o.push('   Tracked processes :');
    for (const t of m.trackProcess) o.push(`     ${t.name}, weight ${t.weight ?? 0}${t.reverse ? ' reverse' : ''}`);
  }
  o.push(`   Using smtp notification = ${m.smtpAlert ? 'yes' : 'no'}`);
  o.push('   Notify deleted = Fault');
  const scripts: [string, ScriptSpec | undefined][] = [
    ['Backup', m.notifyBackup], ['Master', m.notifyMaster], ['Fault', m.notifyFault], ['Stop', m.notifyStop],
    ['Deleted', m.notifyDeleted], ['Generic', m.notify], ['Master rx lower pri', m.notifyMasterRxLowerPri],
  ];
  for (const [label, s] of scripts) if (s) o.push(`   ${label} state transition script = ${cmdStr(s)}, uid:gid ${s.uid ?? 0}:${s.gid ?? 0}`);
  o.push(`   Notify priority changes = ${tf(m.notifyPriorityChanges ?? false)}`);
  return o;
}

/** keepalived.data: global definitions, then the VRRP topology, sync groups and scripts. */
export function formatData(cfg: Config, snap: DumpSnapshot): string {
  const o = formatGlobal(cfg.global, true);
  const byName = new Map(snap.vrrp.map((s) => [s.name, s]));
  const running = cfg.vrrp.instances.filter((i) => !i.removed && byName.has(i.name));
  if (running.length) {
    o.push('------< VRRP Topology >------');
    for (const m of running) o.push(...formatInstance(cfg, m, byName.get(m.name), snap));
  }
  const groups = cfg.vrrp.syncGroups.filter((g) => g.group.some((n) => byName.has(n)));
  if (groups.length) {
    o.push('------< VRRP Sync groups >------');
    for (const g of groups) {
      const members = g.group.map((n) => byName.get(n)).filter((s): s is InstanceStatus => !!s);
      // The group's state is its members' when they agree, FAULT when one is.
      const state = members.some((s) => s.state === 'FAULT') ? 'FAULT' : members[0]?.state ?? 'INIT';
      o.push(` VRRP Sync Group = ${g.name}, ${stateStr(state)}`);
      o.push(`   Num member fault ${members.filter((s) => s.state === 'FAULT').length}, num member init ${members.filter((s) => s.state === 'INIT').length}`);
      o.push('   VRRP member instances :');
      for (const n of g.group) o.push(`     ${n}`);
    }
  }
  const scripts = cfg.vrrp.scripts.filter((s) => s.script);
  if (scripts.length) {
    o.push('------< VRRP Scripts >------');
    for (const s of scripts) {
      o.push(` VRRP Script = ${s.name}`);
      o.push(`   Command = ${cmdStr(s.script!)}`);
      o.push(`   Interval = ${Math.floor(s.intervalMs / 1000)} sec`);
      o.push(`   Timeout = ${Math.floor(s.timeoutMs / 1000)} sec`);
      o.push(`   Weight = ${s.weight}${s.weightReverse ? ' reverse' : ''}`);
      o.push(`   Rise = ${s.rise}`);
      o.push(`   Fall = ${s.fall}`);
      o.push(`   Script uid:gid = ${s.script!.uid ?? 0}:${s.script!.gid ?? 0}`);
      const users = running.filter((m) => m.trackScript.some((t) => t.name === s.name));
      o.push('   Tracking instances :');
      for (const m of users) {
        const t = m.trackScript.find((x) => x.name === s.name)!;
        o.push(`     ${m.name}, weight ${t.weight ?? s.weight}${t.reverse ?? s.weightReverse ? ' reverse' : ''}`);
      }
    }
  }
  return o.map((l) => l + '\n').join('');
}

// ------------------------------------------------------------------------------- keepalived_check.data

/** keepalived's format_decimal(): seconds with the trailing zeros of the µs part dropped. */
function decimal(ms: number): string {
  return String(Number((ms / 1000).toFixed(6)));
}

function vsHeader(vs: VirtualServer): string {
  const t = vs.target;
  if (t.kind === 'group') return ` VS GROUP = ${vs.id}`;
  if (t.kind === 'fwmark') return ` VS FWMARK = ${t.fwmark}`;
  return ` VS VIP = ${t.ip}, VPORT = ${t.port}`;
}

/** keepalived_check.data: global definitions, then the LVS topology with live weights. */
export function formatCheckData(cfg: Config, snap: DumpSnapshot): string {
  const o = formatGlobal(cfg.global, false);
  const live = snap.lvs?.realServers ?? [];
  if (cfg.lvs.virtualServers.length) {
    o.push('------< LVS Topology >------');
    o.push(' System is compiled with LVS v1.2.1');
    for (const vs of cfg.lvs.virtualServers) {
      const rsLive = live.filter((r) => r.vs === vs.id);
      const find = (ip: string, port: number, i: number) => rsLive.find((r) => r.rs === `${ip}:${port}`) ?? rsLive[i];
      o.push(' ------< Virtual server >------', vsHeader(vs));
      if (vs.virtualhost) o.push(`   VirtualHost = ${vs.virtualhost}`);
      if (vs.snmpName) o.push(`   SNMP name = '${vs.snmpName}'`);
      o.push(`   Address family = ${vs.family}`);
      o.push(`   connection timeout = ${decimal(vs.connectTimeoutMs)}`);
      o.push(`   delay_loop = ${decimal(vs.delayLoopMs)}`);
      o.push(`   lvs_sched = ${vs.scheduler}`);
      o.push(`   One packet scheduling = ${vs.ops ? 'enabled' : 'disabled'}`);
      if (vs.persistenceTimeout) {
        o.push(`   persistence timeout = ${vs.persistenceTimeout}`);
        if (vs.persistenceGranularity) o.push(`   persistence granularity = ${vs.persistenceGranularity}`);
      }
      o.push(`   protocol = ${vs.protocol ?? 'none'}`);
      o.push(`   alpha is ${vs.alpha ? 'ON' : 'OFF'}`, `   omega is ${vs.omega ? 'ON' : 'OFF'}`);
      if (vs.retry !== undefined) o.push(`   Retry count = ${vs.retry}`);
      if (vs.delayBeforeRetryMs !== undefined) o.push(`   Retry delay = ${decimal(vs.delayBeforeRetryMs)}`);
      if (vs.warmupMs !== undefined) o.push(`   Warmup = ${decimal(vs.warmupMs)}`);
      o.push(`   Inhibit on failure is ${vs.inhibitOnFailure ? 'ON' : 'OFF'}`);
      o.push(`   quorum = ${vs.quorum}, hysteresis = ${vs.hysteresis}`);
      if (vs.quorumUp) o.push(`   Quorum up notify script = ${cmdStr(vs.quorumUp)}, uid:gid ${vs.quorumUp.uid ?? 0}:${vs.quorumUp.gid ?? 0}`);
      if (vs.quorumDown) o.push(`   Quorum down notify script = ${cmdStr(vs.quorumDown)}, uid:gid ${vs.quorumDown.uid ?? 0}:${vs.quorumDown.gid ?? 0}`);
      if (vs.haSuspend) o.push('   Using HA suspend');
      o.push(`   Using smtp notification = ${vs.smtpAlert ? 'yes' : 'no'}`);
      o.push(`   default forwarding method = ${vs.lvsMethod}`);
      const upWeight = vs.realServers.reduce((n, rs, i) => n + (find(rs.ip, rs.port, i)?.up ? find(rs.ip, rs.port, i)!.weight : 0), 0);
      const alive = vs.realServers.length === 0 || upWeight >= vs.quorum;
      o.push(`   alive = ${alive ? 1 : 0}`);
      o.push(`   quorum_state_up = ${alive ? 1 : 0}`);
      vs.realServers.forEach((rs, i) => {
        const l = find(rs.ip, rs.port, i);
        const w = l?.weight ?? rs.weight;
        o.push('   ------< Real server >------');
        o.push(`   RIP = ${rs.ip}, RPORT = ${rs.port}, WEIGHT = ${w} EFF WEIGHT = ${w}`);
        o.push(`   forwarding method = ${rs.lvsMethod}`);
        o.push(`   Alpha is ${rs.alpha ? 'ON' : 'OFF'}`);
        o.push(`   connection timeout = ${decimal(rs.connectTimeoutMs)}`);
        o.push(`   connection limit range = ${rs.lthreshold} -> ${rs.uthreshold}`);
        o.push(`   Delay loop = ${decimal(rs.delayLoopMs)}`);
        if (rs.retry !== undefined) o.push(`   Retry count = ${rs.retry}`);
        if (rs.delayBeforeRetryMs !== undefined) o.push(`   Retry delay = ${decimal(rs.delayBeforeRetryMs)}`);
        if (rs.warmupMs !== undefined) o.push(`   Warmup = ${decimal(rs.warmupMs)}`);
        o.push(`   Inhibit on failure is ${rs.inhibitOnFailure ? 'ON' : 'OFF'}`);
        if (rs.notifyUp) o.push(`     RS up notify script = ${cmdStr(rs.notifyUp)}, uid:gid ${rs.notifyUp.uid ?? 0}:${rs.notifyUp.gid ?? 0}`);
        if (rs.notifyDown) o.push(`     RS down notify script = ${cmdStr(rs.notifyDown)}, uid:gid ${rs.notifyDown.uid ?? 0}:${rs.notifyDown.gid ?? 0}`);
        if (rs.virtualhost) o.push(`    VirtualHost = '${rs.virtualhost}'`);
        o.push(`   Using smtp notification = ${rs.smtpAlert ? 'yes' : 'no'}`);
        o.push(`   initial weight = ${rs.weight}`);
        o.push(`   effective weight = ${w}`);
        o.push(`   alive = ${l?.up ? 1 : 0}`);
      });
    }
  }
  return o.map((l) => l + '\n').join('');
}
