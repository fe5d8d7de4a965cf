// VRRPD CONFIGURATION (keepalived.conf(5)): vrrp_script, vrrp_track_process, track_file,
// garp_group, vrrp_sync_group, vrrp_instance.
//
// keepalived reads these blocks in file order and resolves references as it goes: a
// track_script names a vrrp_script defined earlier, a sync group's `group` names
// instances checked when the whole file is read. Messages and classes are keepalived's
// (vrrp_parser.c, vrrp_data.c, vrrp_track.c, vrrp_ipaddress.c, vrrp_iproute.c,
// vrrp_iprule.c, vrrp.c vrrp_complete_instance).
//
// Units: times in the model are milliseconds unless the field name says otherwise
// (advertIntervalCs: centi-seconds, as VRRPv3 carries it on the wire, RFC 5798 5.2.7).

import { isIPv4, isIPv6 } from 'node:net';
import { ErrClass, type Loc } from '../diagnostics.js';
import type { BlockSpec, Ctx, Handler } from './context.js';
import type { Stmt } from '../parse.js';
import type { Config } from './types.js';
import { applyDefaultUser, cmdStr, parseScript, scriptUserKeyword, type ScriptSpec } from './scripts.js';
import { anyInterfaceMissing, noteMissingInterface, parseAddressLine, parseRouteLine, parseRuleLine, type IpAddress, type Route, type Rule } from './iproute.js';

export type Family = 'inet' | 'inet6';

/** vrrp_script NAME { … } */
export interface VrrpScript {
  name: string;
  /** script "<cmd>": undefined when missing (the vrrp_script is then removed) */
  script?: ScriptSpec;
  /** interval SECONDS (3 decimals); default 1 s */
  intervalMs: number;
  /** timeout SECONDS (3 decimals); default 0 = keepalived uses the interval */
  timeoutMs: number;
  /** weight -253..253 [reverse]; default 0 */
  weight: number;
  weightReverse: boolean;
  /** rise N, fall N: successes/failures before the state changes; default 1 */
  rise: number;
  fall: number;
  /** init_fail: start in the failed state */
  initFail: boolean;
  loc: Loc;
}

/** vrrp_track_process NAME { … } */
export interface VrrpTrackProcess {
  name: string;
  /** process PATH [PARAM…] */
  process?: string;
  params: string[];
  /** param_match exact|partial|initial */
  paramMatch?: string;
  weight: number;
  weightReverse: boolean;
  /** quorum N (default 1), quorum_max N */
  quorum: number;
  quorumMax?: number;
  /** delay / terminate_delay / fork_delay SECONDS, in ms */
  delayMs?: number;
  terminateDelayMs?: number;
  forkDelayMs?: number;
  fullCommand: boolean;
  loc: Loc;
}

/** track_file NAME { file PATH; weight N [reverse]; init_file [VALUE] [overwrite] } */
export interface TrackFile {
  name: string;
  file?: string;
  weight: number;
  weightReverse: boolean;
  initFile?: { value: number; overwrite: boolean };
  loc: Loc;
}

/** garp_group { garp_interval S; gna_interval S; interface IF | interfaces { … } } */
export interface GarpGroup {
  /** garp_interval SECONDS (µs resolution), in ms */
  garpIntervalMs?: number;
  gnaIntervalMs?: number;
  interfaces: string[];
  loc: Loc;
}

/** A tracked object with its optional `weight N [reverse]`. */
export interface Tracked {
  name: string;
  /** undefined: the object's own weight (vrrp_script / track_file / process), or 0 for interfaces */
  weight?: number;
  reverse?: boolean;
  loc: Loc;
}

export interface Tracking {
  /** track_interface */
  trackInterface: Tracked[];
  /** track_script (vrrp_script names) */
  trackScript: Tracked[];
  /** track_file */
  trackFile: Tracked[];
  /** track_process */
  trackProcess: Tracked[];
  /** track_bfd */
  trackBfd: Tracked[];
}

export interface NotifyScripts {
  notifyMaster?: ScriptSpec;
  notifyBackup?: ScriptSpec;
  notifyFault?: ScriptSpec;
  notifyStop?: ScriptSpec;
  notifyDeleted?: ScriptSpec;
  /** notify: called with 4 extra parameters (type, name, state, priority) */
  notify?: ScriptSpec;
  notifyMasterRxLowerPri?: ScriptSpec;
}

/** vrrp_sync_group NAME { … } */
export interface VrrpSyncGroup extends Tracking, NotifyScripts {
  name: string;
  /** group { VI_1 VI_2 … } */
  group: string[];
  smtpAlert?: boolean;
  /** global_tracking (deprecated) / sync_group_tracking_weight */
  syncGroupTrackingWeight: boolean;
  notifyPriorityChanges?: boolean;
  loc: Loc;
}

export interface UnicastPeer {
  address: string;
  family: Family;
  /** min_ttl / max_ttl 0..255: adverts outside the range are discarded */
  minTtl: number;
  maxTtl: number;
  loc: Loc;
}

export type AuthType = 'PASS' | 'AH';

/** vrrp_instance NAME { … } — what the VRRP engine runs. */
export interface VrrpInstanceConfig extends Tracking, NotifyScripts {
  name: string;
  /** state MASTER|BACKUP: the initial state wanted; derived from priority when not given */
  state: 'MASTER' | 'BACKUP';
  /** true when `state` was written */
  stateSet: boolean;
  /** interface IFNAME */
  interface?: string;
  /** virtual_router_id 1..255 */
  vrid?: number;
  /** priority 1..255; default 255 with state MASTER, else 100 */
  priority: number;
  /** advert_int SECONDS, in centi-seconds (v2: whole seconds; v3: units of 10 ms) */
  advertIntervalCs: number;
  /** version 2|3; default global_defs vrrp_version (2), or 3 for IPv6 */
  version: 2 | 3;
  family: Family;
  /** nopreempt / preempt */
  nopreempt: boolean;
  /** preempt_delay SECONDS, in ms */
  preemptDelayMs: number;
  /** authentication { auth_type PASS|AH; auth_pass (first 8 chars) } */
  auth?: { type: AuthType; pass: string };
  /** auth_hmac { … } (newer keepalived): accepted, not implemented */
  /** virtual_ipaddress (iproute.ts: keepalived reads them as static addresses are read) */
  vips: IpAddress[];
  /** virtual_ipaddress_excluded */
  excludedVips: IpAddress[];
  /** virtual_routes (iproute.ts) */
  virtualRoutes: Route[];
  /** virtual_rules (iproute.ts); a rule without a preference continues static_rules' count */
  virtualRules: Rule[];
  /** no_virtual_ipaddress: no VIPs is intended */
  noVirtualIpaddress: boolean;
  /** unicast_src_ip / mcast_src_ip */
  srcIp?: string;
  unicastPeers: UnicastPeer[];
  /** unicast_ttl 0..255 (IPv4 default 255) */
  unicastTtl?: number;
  /** mcast_dst_ip (default 224.0.0.18 / ff02::12) */
  mcastDstIp?: string;
  /** any unicast keyword given (unicast_src_ip, unicast_peer, unicast_fault_no_peer, check_unicast_src) */
  unicastConfigured: boolean;
  /** unicast: there are unicast peers */
  unicast: boolean;
  unicastFaultNoPeer: boolean;
  checkUnicastSrc: boolean;
  trackSrcIp: boolean;
  dontTrackPrimary: boolean;
  smtpAlert: boolean;
  notifyPriorityChanges?: boolean;
  /** garp_master_delay SECONDS (ms); default global_defs vrrp_garp_master_delay (5 s) */
  garpMasterDelayMs: number;
  /** garp_master_repeat N; default global vrrp_garp_master_repeat (5) */
  garpMasterRepeat: number;
  /** garp_master_refresh SECONDS (ms); default global (0 = none) */
  garpMasterRefreshMs: number;
  /** garp_master_refresh_repeat N; default global (1) */
  garpMasterRefreshRepeat: number;
  /** garp_lower_prio_delay SECONDS (ms); default global, 0 in strict mode */
  garpLowerPrioDelayMs: number;
  /** garp_lower_prio_repeat N; default global, 0 in strict mode */
  garpLowerPrioRepeat: number;
  lowerPrioNoAdvert: boolean;
  higherPrioSendAdvert: boolean;
  /** down_timer_adverts 1..100; default global (3) */
  downTimerAdverts: number;
  /** strict_mode; default global vrrp_strict */
  strictMode: boolean;
  /** accept / no_accept; default: true unless strict (owner always true) */
  accept: boolean;
  skipCheckAdvAddr: boolean;
  /** debug 0..4 */
  debug: number;
  kernelRxBufSize?: number;
  /** timer_expired_backup [PRIORITY] */
  timerExpiredBackup?: number;
  ownerIgnoreAdverts?: boolean;
  promoteSecondaries: boolean;
  /** the vrrp_sync_group holding this instance */
  syncGroup?: string;
  /** the instance was rejected at the end of its block (keepalived drops it) */
  removed?: boolean;
  loc: Loc;
}

export interface VrrpConfig {
  instances: VrrpInstanceConfig[];
  syncGroups: VrrpSyncGroup[];
  scripts: VrrpScript[];
  trackProcesses: VrrpTrackProcess[];
  trackFiles: TrackFile[];
  garpGroups: GarpGroup[];
  /**
   * false when keepalived would stop after reading the file (an interface does not exist):
   * the cross-block checks and the script checks of the VRRP process are not made then
   */
  checked: boolean;
}

export function newVrrpConfig(): VrrpConfig {
  return { instances: [], syncGroups: [], scripts: [], trackProcesses: [], trackFiles: [], garpGroups: [], checked: true };
}

/** global_defs fields used for instance defaults (global.ts); read defensively. */
interface GlobalVrrpDefaults {
  vrrpVersion?: 2 | 3;
  vrrpStrict?: boolean;
  vrrpGarpMasterDelayMs?: number;
  vrrpGarpMasterRepeat?: number;
  vrrpGarpMasterRefreshMs?: number;
  vrrpGarpMasterRefreshRepeat?: number;
  vrrpGarpLowerPrioDelayMs?: number;
  vrrpGarpLowerPrioRepeat?: number;
  vrrpLowerPrioNoAdvert?: boolean;
  vrrpHigherPrioSendAdvert?: boolean;
  vrrpDownTimerAdverts?: number;
  vrrpSkipCheckAdvAddr?: boolean;
  smtpAlert?: boolean;
  smtpAlertVrrp?: boolean;
  vrrpNotifyPriorityChanges?: boolean;
  dynamicInterfaces?: boolean;
}

function gdefs(cfg: Config): GlobalVrrpDefaults {
  return (cfg.global ?? {}) as GlobalVrrpDefaults;
}

// ---------------------------------------------------------------- helpers

/** An error keepalived reports with CONFIG_GENERAL_ERROR at the statement. */
function gen(c: Ctx, s: Stmt, msg: string, word = 0, hint?: string): void {
  c.error(s, msg, word, ErrClass.GENERAL_ERROR, 'HC_VRRP', hint);
}

/** A "WARNING - … doesn't exist" message: keepalived's class is CONFIG_GENERAL_ERROR. */
function noIf(c: Ctx, s: Stmt, msg: string, word = 0): void {
  c.error(s, msg, word, ErrClass.GENERAL_ERROR, 'HC_VRRP_NO_INTERFACE', 'the interface does not exist on this machine');
  noteMissingInterface(c);
}

/** keepalived's check_true_false: optional BOOL, -1 when invalid. */
function optBool(s: Stmt, i = 1): boolean | undefined {
  if (s.args.length < i) return true;
  const v = s.args[i - 1].toLowerCase();
  if (v === 'true' || v === 'on' || v === 'yes') return true;
  if (v === 'false' || v === 'off' || v === 'no') return false;
  return undefined;
}

/** keepalived read_unsigned: decimal only, no message (the caller reports). */
function readUint(v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined || !/^[0-9]+$/.test(v)) return undefined;
  const n = Number(v);
  return n >= min && n <= max ? n : undefined;
}

function readInt(v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined || !/^[-+]?[0-9]+$/.test(v)) return undefined;
  const n = Number(v);
  return n >= min && n <= max ? n : undefined;
}

/** keepalived read_decimal_unsigned: up to `places` decimals; returns value × 10^places. */
function readDecimal(v: string | undefined, places: number, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const m = /^([0-9]*)(?:\.([0-9]*))?$/.exec(v);
  if (!m || (m[1] === '' && !m[2])) return undefined;
  const frac = m[2] ?? '';
  if (frac.length > places) return undefined;
  const n = Number(m[1] || '0') * 10 ** places + Number((frac + '0'.repeat(places)).slice(0, places));
  return n >= min && n <= max ? n : undefined;
}

function familyOf(addr: string): Family | undefined {
  if (isIPv4(addr)) return 'inet';
  if (isIPv6(addr) && !addr.includes('%')) return 'inet6';
  return undefined;
}

function inDeclaredOrder<T extends { name: string }>(list: T[], name: string): T | undefined {
  return list.find((x) => x.name === name);
}

// ---------------------------------------------------------------- vrrp_script

const SCRIPT_INTERVAL_MAX_MS = Math.floor(4294967295 / 1000000) * 1000;

const vrrpScriptSpec: BlockSpec<{ vs: VrrpScript; userSet: boolean; remove: boolean }> = {
  name: 'vrrp_script',
  keywords: {
    script: (s, t, c) => {
      const spec = parseScript(c, s, 'vrrp_script', t.vs.name);
      if (spec) {
        spec.uid = t.vs.script?.uid;
        spec.gid = t.vs.script?.gid;
        spec.user = t.vs.script?.user;
        spec.group = t.vs.script?.group;
      }
      t.vs.script = spec;
    },
    interval: (s, t, c) => {
      const v = readDecimal(s.args[0], 3, 0, SCRIPT_INTERVAL_MAX_MS);
      if (v === undefined) {
        if (!s.args.length) return c.missing(s, 1);
        return gen(c, s, `(${t.vs.name}): vrrp script interval '${s.args[0]}' must be between 0.001 and ${Math.floor(4294967295 / 1000000)} - ignoring`, 1);
      }
      if (v === 0) {
        gen(c, s, `(${t.vs.name}): vrrp script interval must be greater than 0, setting to 1`, 1);
        t.vs.intervalMs = 1000;
      } else t.vs.intervalMs = v;
    },
    timeout: (s, t, c) => {
      const v = readDecimal(s.args[0], 3, 0, SCRIPT_INTERVAL_MAX_MS);
      if (v === undefined) {
        if (!s.args.length) return c.missing(s, 1);
        return gen(c, s, `(${t.vs.name}): vrrp script timeout '${s.args[0]}' invalid - ignoring`, 1);
      }
      if (v === 0) {
        gen(c, s, `(${t.vs.name}): vrrp script timeout must be greater than 0, setting to 1`, 1);
        t.vs.timeoutMs = 1000;
      } else t.vs.timeoutMs = v;
    },
    weight: (s, t, c) => {
      if (!s.args.length) return c.missing(s, 1);
      const w = readInt(s.args[0], -253, 253);
      if (w === undefined) gen(c, s, `vrrp_script ${t.vs.name} weight ${s.args[0]} must be in [-253, 253]`, 1);
      else t.vs.weight = w;
      if (s.args.length >= 2) {
        if (s.args[1] === 'reverse') t.vs.weightReverse = true;
        else gen(c, s, `vrrp_script ${t.vs.name} unknown weight option ${s.args[1]}`, 2);
      }
    },
    rise: (s, t, c) => {
      if (!s.args.length) return c.missing(s, 1);
      const v = readUint(s.args[0], 1, 2147483647);
      if (v === undefined) {
        gen(c, s, `(${t.vs.name}): vrrp script rise value '${s.args[0]}' invalid, defaulting to 1`, 1);
        t.vs.rise = 1;
      } else t.vs.rise = v;
    },
    fall: (s, t, c) => {
      if (!s.args.length) return c.missing(s, 1);
      const v = readUint(s.args[0], 1, 2147483647);
      if (v === undefined) {
        gen(c, s, `(${t.vs.name}): vrrp script fall value '${s.args[0]}' invalid, defaulting to 1`, 1);
        t.vs.fall = 1;
      } else t.vs.fall = v;
    },
    user: (s, t, c) => {
      const holder: ScriptSpec = t.vs.script ?? { kind: 'vrrp_script', argv: [], raw: '', loc: c.loc(s), owner: t.vs.name };
      if (scriptUserKeyword(c, s, holder)) {
        t.userSet = true;
        t.remove = false;
        if (t.vs.script) Object.assign(t.vs.script, { uid: holder.uid, gid: holder.gid, user: holder.user, group: holder.group });
        else t.vs.script = undefined;
        pendingUser.set(t.vs, holder);
      } else if (s.args.length) {
        gen(c, s, `Unable to set uid/gid for script ${t.vs.script ? cmdStr(t.vs.script.argv) : ''}`.trimEnd(), 1);
        t.remove = true;
      }
    },
    init_fail: (_s, t) => {
      t.vs.initFail = true;
    },
  },
};

/** a `user` line read before the `script` line */
const pendingUser = new WeakMap<VrrpScript, ScriptSpec>();

function readVrrpScript(s: Stmt, cfg: Config, c: Ctx): void {
  const vs: VrrpScript = { name: s.args[0] ?? '', intervalMs: 1000, timeoutMs: 0, weight: 0, weightReverse: false, rise: 1, fall: 1, initFail: false, loc: c.loc(s) };
  if (!s.args.length) return c.missing(s, 1);
  const t = { vs, userSet: false, remove: false };
  c.walk(s.block, vrrpScriptSpec, t);
  const early = pendingUser.get(vs);
  if (vs.script && early && vs.script.uid === undefined) Object.assign(vs.script, { uid: early.uid, gid: early.gid, user: early.user, group: early.group });
  const endLoc = s.end ?? c.loc(s);
  if (!vs.script || !vs.script.argv[0]) {
    c.diags.error('HC_VRRP_SCRIPT', `No script set for vrrp_script ${vs.name} - removing`, endLoc, ErrClass.GENERAL_ERROR, "add a 'script \"/path/to/check args\"' line");
    return;
  }
  if (!t.remove && !t.userSet && !applyDefaultUser(c, cfg, vs.script)) {
    c.diags.error('HC_VRRP_SCRIPT', `Unable to set default user for vrrp script ${vs.name} - removing`, endLoc, ErrClass.GENERAL_ERROR);
    t.remove = true;
  }
  if (t.remove) return;
  cfg.vrrp.scripts.push(vs);
  cfg.scripts.push(vs.script);
}

// ---------------------------------------------------------------- vrrp_track_process

function delayHandler(field: 'delayMs' | 'terminateDelayMs' | 'forkDelayMs'): Handler<VrrpTrackProcess> {
  return (s, t, c) => {
    if (!s.args.length) return c.missing(s, 1);
    const v = readDecimal(s.args[0], 6, 0, 4294967295);
    if (v === undefined) return gen(c, s, `${s.kw} '${s.args[0]}' is invalid`, 1);
    t[field] = Math.round(v / 1000);
  };
}

const trackProcessSpec: BlockSpec<VrrpTrackProcess> = {
  name: 'vrrp_track_process',
  keywords: {
    process: (s, t, c) => {
      if (!s.args.length) return c.missing(s, 1);
      if (t.process !== undefined) return gen(c, s, `Process already set for track process ${t.name} - ignoring ${s.args[0]}`, 1);
      t.process = s.args[0];
      t.params = s.args.slice(1);
      if (t.params.length) {
        t.paramMatch ??= 'exact';
        t.fullCommand = true;
      }
    },
    param_match: (s, t, c) => {
      if (!s.args.length) return c.missing(s, 1);
      if (['exact', 'partial', 'initial'].includes(s.args[0])) t.paramMatch = s.args[0];
      else gen(c, s, `Invalid param_match type ${s.args[0]} - ignoring`, 1);
    },
    weight: (s, t, c) => {
      if (!s.args.length) return c.missing(s, 1);
      const w = readInt(s.args[0], -253, 253);
      if (w === undefined) gen(c, s, `weight for ${t.name} must be between -253 and 253 - ignoring`, 1);
      else t.weight = w;
      if (s.args[1] === 'reverse') t.weightReverse = true;
      else if (s.args.length > 1) gen(c, s, `unknown weight option ${s.args[1]} for track process ${t.name}`, 2);
    },
    quorum: (s, t, c) => {
      if (!s.args.length) return c.missing(s, 1);
      const v = readUint(s.args[0], 1, 65535);
      if (v === undefined) gen(c, s, `Invalid quorum ${s.args[0]} for track process ${t.name} - ignoring`, 1);
      else t.quorum = v;
    },
    quorum_max: (s, t, c) => {
      if (!s.args.length) return c.missing(s, 1);
      const v = readUint(s.args[0], 0, 65535);
      if (v === undefined) gen(c, s, `Invalid quorum_max ${s.args[0]} for track process ${t.name} - ignoring`, 1);
      else t.quorumMax = v;
    },
    delay: delayHandler('delayMs'),
    terminate_delay: delayHandler('terminateDelayMs'),
    fork_delay: delayHandler('forkDelayMs'),
    full_command: (_s, t) => {
      t.fullCommand = true;
    },
  },
};

function readTrackProcess(s: Stmt, cfg: Config, c: Ctx): void {
  if (!s.args.length) return c.missing(s, 1);
  const tp: VrrpTrackProcess = { name: s.args[0], params: [], weight: 0, weightReverse: false, quorum: 1, fullCommand: false, loc: c.loc(s) };
  c.walk(s.block, trackProcessSpec, tp);
  if (!tp.process) {
    c.diags.error('HC_VRRP_TRACK_PROCESS', `No process specified for track process ${tp.name} - removing`, s.end ?? c.loc(s), ErrClass.GENERAL_ERROR);
    return;
  }
  if (tp.quorumMax !== undefined && tp.quorumMax < tp.quorum) {
    c.diags.error('HC_VRRP_TRACK_PROCESS', `quorum_max ${tp.quorumMax} for track process ${tp.name} is less than quorum ${tp.quorum} - setting to quorum`, s.end ?? c.loc(s), ErrClass.GENERAL_ERROR);
    tp.quorumMax = tp.quorum;
  }
  c.note(s, 'vrrp_track_process is parsed; hacheck tracks processes by polling /proc', 0, 'HC_CONFIG_NOTE');
  cfg.vrrp.trackProcesses.push(tp);
}

// ---------------------------------------------------------------- track_file

const trackFileSpec: BlockSpec<TrackFile> = {
  name: 'track_file',
  keywords: {
    file: (s, t, c) => {
      if (!s.args.length) return c.missing(s, 1);
      if (t.file !== undefined) return gen(c, s, `File already set for track file ${t.name} - ignoring ${s.args[0]}`, 1);
      t.file = s.args[0];
    },
    weight: (s, t, c) => {
      if (!s.args.length) return c.missing(s, 1);
      const w = readInt(s.args[0], -254, 254);
      if (w === undefined) return gen(c, s, `Weight for ${t.name} must be between [-254..254] inclusive. Ignoring...`, 1);
      t.weight = w;
      if (s.args.length > 1) {
        if (s.args[1] === 'reverse') t.weightReverse = true;
        else gen(c, s, `(${t.name}) track_file unknown weight option ${s.args[1]}`, 2);
      }
    },
    init_file: (s, t, c) => {
      let value = 0;
      let overwrite = false;
      for (let i = 0; i < s.args.length; i++) {
        if (s.args[i] === 'overwrite') overwrite = true;
        else {
          const v = readInt(s.args[i], -254, 254);
          if (v === undefined) return gen(c, s, `Track file ${t.name} init value ${s.args[i]} is invalid`, i + 1);
          value = v;
        }
      }
      t.initFile = { value, overwrite };
    },
  },
};

function readTrackFile(s: Stmt, cfg: Config, c: Ctx): void {
  if (!s.args.length) return c.missing(s, 1);
  if (s.kw === 'vrrp_track_file') c.note(s, "'vrrp_track_file' is a deprecated synonym of 'track_file'", 0, 'HC_CONFIG_DEPRECATED');
  const tf: TrackFile = { name: s.args[0], weight: 1, weightReverse: false, loc: c.loc(s) };
  if (cfg.vrrp.trackFiles.some((f) => f.name === tf.name)) {
    gen(c, s, `track_file ${tf.name} already defined`, 1);
    return;
  }
  c.walk(s.block, trackFileSpec, tf);
  if (!tf.file) {
    c.diags.error('HC_VRRP_TRACK_FILE', `No file set for track_file ${tf.name} - removing`, s.end ?? c.loc(s), ErrClass.GENERAL_ERROR);
    return;
  }
  cfg.vrrp.trackFiles.push(tf);
}

// ---------------------------------------------------------------- garp_group

const garpGroupSpec: BlockSpec<GarpGroup> = {
  name: 'garp_group',
  keywords: {
    garp_interval: (s, t, c) => {
      if (!s.args.length) return c.missing(s, 1);
      const v = readDecimal(s.args[0], 6, 0, 4294 * 1000000);
      if (v === undefined) return gen(c, s, `garp_group garp_interval '${s.args[0]}' invalid`, 1);
      t.garpIntervalMs = v / 1000;
    },
    gna_interval: (s, t, c) => {
      if (!s.args.length) return c.missing(s, 1);
      const v = readDecimal(s.args[0], 6, 0, 4294 * 1000000);
      if (v === undefined) return gen(c, s, `garp_group gna_interval '${s.args[0]}' invalid`, 1);
      t.gnaIntervalMs = v / 1000;
    },
    interface: (s, t, c) => {
      if (!s.args.length) return c.missing(s, 1);
      if (!c.env.interfaceExists(s.args[0])) return noIf(c, s, `WARNING - interface ${s.args[0]} specified for garp_group doesn't exist`, 1);
      t.interfaces.push(s.args[0]);
    },
    interfaces: (s, t, c) => {
      if (!s.block?.length) return gen(c, s, 'Warning - empty garp_group interfaces block');
      for (const l of s.block)
        for (const name of [l.kw, ...l.args]) {
          if (!c.env.interfaceExists(name)) noIf(c, l, `WARNING - interface ${name} specified for garp_group doesn't exist`);
          else t.interfaces.push(name);
        }
    },
  },
};

function readGarpGroup(s: Stmt, cfg: Config, c: Ctx): void {
  const g: GarpGroup = { interfaces: [], loc: c.loc(s) };
  c.walk(s.block, garpGroupSpec, g);
  if (g.garpIntervalMs === undefined && g.gnaIntervalMs === undefined) {
    c.diags.error('HC_VRRP_GARP_GROUP', `garp group ${cfg.vrrp.garpGroups.length + 1} does not have any delay set - removing`, s.end ?? c.loc(s), ErrClass.GENERAL_ERROR);
    return;
  }
  cfg.vrrp.garpGroups.push(g);
}

// ---------------------------------------------------------------- tracking blocks

type TrackKind = 'track_interface' | 'track_script' | 'track_file' | 'track_process' | 'track_bfd';

/**
 * A track_* list block of an instance or sync group: each line is `NAME [weight N
 * [reverse|noreverse]]`. References are resolved as keepalived does, against what is
 * already defined above.
 */
function readTrackList(kind: TrackKind, s: Stmt, owner: string, list: Tracked[], cfg: Config, c: Ctx): void {
  for (const l of s.block ?? []) {
    const name = l.kw;
    const words = [l.kw, ...l.args];
    const loc = c.loc(l);
    switch (kind) {
      case 'track_interface':
        if (!c.env.interfaceExists(name)) {
          noIf(c, l, `(${owner}) tracked interface ${name} doesn't exist`);
          continue;
        }
        break;
      case 'track_script':
        if (!inDeclaredOrder(cfg.vrrp.scripts, name)) {
          gen(c, l, `(${owner}) track script ${name} not found, ignoring...`, 0, `define 'vrrp_script ${name} { … }' before this vrrp block`);
          continue;
        }
        break;
      case 'track_file':
        if (!inDeclaredOrder(cfg.vrrp.trackFiles, name)) {
          gen(c, l, `(${owner}) track file ${name} not found, ignoring...`);
          continue;
        }
        break;
      case 'track_process':
        if (!inDeclaredOrder(cfg.vrrp.trackProcesses, name)) {
          gen(c, l, `(${owner}) track process ${name} not found, ignoring...`);
          continue;
        }
        break;
      case 'track_bfd': {
        const bfd = (cfg.bfd as unknown as { instances?: { name: string }[] }).instances;
        if (bfd && !bfd.some((b) => b.name === name)) {
          gen(c, l, `(${owner}) track bfd ${name} not found, ignoring...`);
          continue;
        }
        break;
      }
    }
    const what = kind === 'track_interface' ? 'track_interface' : kind === 'track_script' ? 'track_script' : kind;
    if (list.some((t) => t.name === name)) {
      gen(c, l, `(${owner}) duplicate ${what} ${name} - ignoring`);
      continue;
    }
    const t: Tracked = { name, loc };
    if (words.length >= 2) {
      if (words[1] !== 'weight') {
        gen(c, l, `(${owner}) unknown ${what} ${kind === 'track_script' ? 'option' : ''} ${words[1]} - ignoring`.replace(/\s+/g, ' '), 1);
        continue;
      }
      if (words.length === 2) {
        gen(c, l, `(${owner}) weight without value specified for ${kind.replace('_', ' ')} ${name} - ignoring`, 1);
        continue;
      }
      const w = readInt(words[2], -254, 254);
      if (w === undefined) {
        gen(c, l, `(${owner}) ${kind.replace('_', ' ')} ${name}: weight must be between [-253..253] inclusive, ignoring...`, 2);
      } else if (w === 254 || w === -254) {
        gen(c, l, `(${owner}) weight for ${name} cannot be +/-254. Setting to +/-253`, 2);
        t.weight = w > 0 ? 253 : -253;
      } else t.weight = w;
      if (words.length >= 4) {
        if (words[3] === 'reverse') t.reverse = true;
        else if (words[3] === 'noreverse') t.reverse = false;
        else gen(c, l, `(${owner}) unknown ${what} ${name} weight option ${words[3]} - ignoring`, 3);
      }
    }
    list.push(t);
  }
}

// ---------------------------------------------------------------- notify scripts

const NOTIFY_FIELD: Record<string, keyof NotifyScripts> = {
  notify_master: 'notifyMaster',
  notify_backup: 'notifyBackup',
  notify_fault: 'notifyFault',
  notify_stop: 'notifyStop',
  notify_deleted: 'notifyDeleted',
  notify: 'notify',
  notify_master_rx_lower_pri: 'notifyMasterRxLowerPri',
};

function notifyHandler<T extends NotifyScripts & { name: string }>(group: boolean, cfg: () => Config): Handler<T> {
  return (s, t, c) => {
    const field = NOTIFY_FIELD[s.kw];
    const what = s.kw === 'notify' ? 'notify script' : s.kw === 'notify_deleted' ? 'notify_deleted' : `${s.kw} script`;
    if (t[field]) {
      gen(c, s, group ? `vrrp group ${t.name}: ${what} already specified - ignoring ${s.args[0] ?? ''}` : `(${t.name}) ${what} already specified - ignoring ${s.args[0] ?? ''}`, 1);
      return;
    }
    if (s.kw === 'notify_deleted' && !s.args.length) return;
    const spec = parseScript(c, s, 'notify', t.name);
    if (!spec) return;
    t[field] = spec;
    cfg().scripts.push(spec);
  };
}

// ---------------------------------------------------------------- vrrp_sync_group

function syncGroupSpec(cfg: Config): BlockSpec<VrrpSyncGroup> {
  const notify = notifyHandler<VrrpSyncGroup>(true, () => cfg);
  return {
    name: 'vrrp_sync_group',
    keywords: {
      group: (s, t, c) => {
        if (t.group.length) {
          gen(c, s, `Group list already specified for sync group ${t.name}`);
          return;
        }
        // keepalived's read_value_block: every word of every line is a member
        for (const l of s.block ?? []) t.group.push(l.kw, ...l.args);
        if (!t.group.length) gen(c, s, `Warning - sync group ${t.name} has empty group block`);
      },
      track_interface: (s, t, c) => readTrackList('track_interface', s, t.name, t.trackInterface, cfg, c),
      track_script: (s, t, c) => readTrackList('track_script', s, t.name, t.trackScript, cfg, c),
      track_file: (s, t, c) => readTrackList('track_file', s, t.name, t.trackFile, cfg, c),
      track_process: (s, t, c) => readTrackList('track_process', s, t.name, t.trackProcess, cfg, c),
      track_bfd: (s, t, c) => readTrackList('track_bfd', s, t.name, t.trackBfd, cfg, c),
      notify_backup: notify,
      notify_master: notify,
      notify_fault: notify,
      notify_stop: notify,
      notify,
      smtp_alert: (s, t, c) => {
        const v = optBool(s);
        if (v === undefined) return gen(c, s, `Invalid vrrp_group smtp_alert parameter ${s.args[0]}`, 1);
        t.smtpAlert = v;
      },
      global_tracking: (s, t, c) => {
        gen(c, s, `(${t.name}) global_tracking is deprecated. Use track_interface/script/file on the sync group`);
        t.syncGroupTrackingWeight = true;
      },
      sync_group_tracking_weight: (_s, t) => {
        t.syncGroupTrackingWeight = true;
      },
      notify_priority_changes: (s, t, c) => {
        const v = optBool(s);
        if (v === undefined) return gen(c, s, `(${t.name}) Invalid value '${s.args[0]}' for sync group notify_priority_changes specified`, 1);
        t.notifyPriorityChanges = v;
      },
    },
  };
}

function readSyncGroup(s: Stmt, cfg: Config, c: Ctx): void {
  if (s.args.length !== 1) {
    gen(c, s, 'vrrp_sync_group must have a name - skipping');
    return;
  }
  const name = s.args[0];
  if (cfg.vrrp.syncGroups.some((g) => g.name === name)) {
    gen(c, s, `vrrp sync group ${name} already defined`, 1);
    return;
  }
  const g: VrrpSyncGroup = {
    name,
    group: [],
    trackInterface: [],
    trackScript: [],
    trackFile: [],
    trackProcess: [],
    trackBfd: [],
    syncGroupTrackingWeight: false,
    loc: c.loc(s),
  };
  c.walk(s.block, syncGroupSpec(cfg), g);
  if (!g.group.length) {
    c.diags.error('HC_VRRP_SYNC_GROUP', `Sync group ${name} has no members - removing`, s.end ?? c.loc(s), ErrClass.GENERAL_ERROR);
    return;
  }
  cfg.vrrp.syncGroups.push(g);
}

// ---------------------------------------------------------------- addresses

/** Per-instance parse state that is not part of the model. */
interface InstState {
  inst: VrrpInstanceConfig;
  cfg: Config;
  familySet: boolean;
  priSet: boolean;
  versionSet: boolean;
  advertSet: boolean;
  strictSet: boolean;
  acceptSet: boolean;
  garpLowerPrioDelaySet: boolean;
  garpLowerPrioRepeatSet: boolean;
  lowerPrioNoAdvertSet: boolean;
  higherPrioSendAdvertSet: boolean;
  smtpSet: boolean;
  saddrFromConfig: boolean;
  authTypeSet: boolean;
  ifSet: boolean;
  ttlSet: boolean;
  /** advert_int in µs as read */
  advertUs?: number;
  authSeen: boolean;
}

function ipv4ToInt(a: string): number {
  return a.split('.').reduce((n, o) => (n * 256 + Number(o)) >>> 0, 0);
}

// ---------------------------------------------------------------- vrrp_instance

function boolFlag(field: 'lowerPrioNoAdvert' | 'higherPrioSendAdvert' | 'strictMode' | 'skipCheckAdvAddr', setField?: keyof InstState): Handler<InstState> {
  return (s, t, c) => {
    const v = optBool(s);
    if (v === undefined) return gen(c, s, `(${t.inst.name}) invalid ${s.kw} ${s.args[0]} specified`, 1);
    // keepalived sets skip_check_adv_addr whatever the value
    t.inst[field] = field === 'skipCheckAdvAddr' ? true : v;
    if (setField) (t as unknown as Record<string, boolean>)[setField] = true;
  };
}

function unicastFlag(s: Stmt, t: InstState): void {
  t.inst.unicastConfigured = true;
  void s;
}

function srcIp(s: Stmt, t: InstState, c: Ctx): void {
  if (!s.args.length) return c.missing(s, 1);
  const f = familyOf(s.args[0]);
  if (!f) return gen(c, s, `Configuration error: VRRP instance[${t.inst.name}] malformed src address[${s.args[0]}]. Skipping...`, 1);
  if (!t.familySet) {
    t.inst.family = f;
    t.familySet = true;
  } else if (f !== t.inst.family) {
    return gen(c, s, `Configuration error: VRRP instance[${t.inst.name}] and src address[${s.args[0]}] MUST be of the same family !!! Skipping...`, 1);
  }
  t.inst.srcIp = s.args[0];
  t.saddrFromConfig = true;
}

function garpUint(field: 'garpMasterRepeat' | 'garpMasterRefreshRepeat', kw: string): Handler<InstState> {
  return (s, t, c) => {
    if (!s.args.length) return c.missing(s, 1);
    const v = readUint(s.args[0], 0, 4294967295);
    if (v === undefined) return gen(c, s, `(${t.inst.name}): ${kw} '${s.args[0]}' invalid - ignoring`, 1);
    if (v === 0) {
      gen(c, s, `(${t.inst.name}): ${kw} must be greater than 0, setting to 1`, 1);
      t.inst[field] = 1;
    } else t.inst[field] = v;
  };
}

let instanceSpecOnce: BlockSpec<InstState> | undefined;

function instanceSpec(): BlockSpec<InstState> {
  const notify = notifyHandler<VrrpInstanceConfig>(false, () => cur!.cfg);
  let cur: InstState | undefined;
  const n: Handler<InstState> = (s, t, c) => {
    cur = t;
    notify(s, t.inst, c);
  };
  return {
    name: 'vrrp_instance',
    keywords: {
      state: (s, t, c) => {
        if (!s.args.length) return c.missing(s, 1);
        const v = s.args[0];
        if (v === 'MASTER') t.inst.state = 'MASTER';
        else if (v === 'BACKUP') {
          if (t.inst.stateSet && t.inst.state === 'MASTER') return gen(c, s, `(${t.inst.name}) state previously set as MASTER - ignoring BACKUP`, 1);
          t.inst.state = 'BACKUP';
        } else {
          gen(c, s, `(${t.inst.name}) unknown state '${v}', defaulting to BACKUP`, 1, 'state is MASTER or BACKUP (upper case)');
          t.inst.state = 'BACKUP';
        }
        t.inst.stateSet = true;
      },
      interface: (s, t, c) => {
        if (!s.args.length) return c.missing(s, 1);
        const name = s.args[0];
        if (name.length >= 16) return gen(c, s, `Interface name '${name}' too long - ignoring`, 1);
        t.ifSet = true;
        if (!c.env.interfaceExists(name)) {
          noIf(c, s, `WARNING - interface ${name} for vrrp_instance ${t.inst.name} doesn't exist`, 1);
          // keepalived keeps the name when interfaces may appear later (dynamic_interfaces)
          if (gdefs(t.cfg).dynamicInterfaces) t.inst.interface = name;
          return;
        }
        if (name === 'lo') {
          gen(c, s, `(${t.inst.name}) cannot use a loopback interface (${name}) for vrrp - ignoring`, 1);
          return;
        }
        t.inst.interface = name;
      },
      dont_track_primary: (_s, t) => {
        t.inst.dontTrackPrimary = true;
      },
      track_interface: (s, t, c) => readTrackList('track_interface', s, t.inst.name, t.inst.trackInterface, t.cfg, c),
      track_script: (s, t, c) => readTrackList('track_script', s, t.inst.name, t.inst.trackScript, t.cfg, c),
      track_file: (s, t, c) => readTrackList('track_file', s, t.inst.name, t.inst.trackFile, t.cfg, c),
      track_process: (s, t, c) => readTrackList('track_process', s, t.inst.name, t.inst.trackProcess, t.cfg, c),
      track_bfd: (s, t, c) => readTrackList('track_bfd', s, t.inst.name, t.inst.trackBfd, t.cfg, c),
      mcast_src_ip: srcIp,
      unicast_src_ip: (s, t, c) => {
        unicastFlag(s, t);
        srcIp(s, t, c);
      },
      mcast_dst_ip: (s, t, c) => {
        if (!s.args.length) return c.missing(s, 1);
        const v = s.args[0];
        const f = familyOf(v);
        if (!f) return gen(c, s, `(${t.inst.name}) malformed mcast dest address ${v}. Skipping...`, 1);
        if (!t.familySet) {
          t.inst.family = f;
          t.familySet = true;
        } else if (f !== t.inst.family) return gen(c, s, `(${t.inst.name}) mcast dest address ${v} MUST match VRRP instance family. Skipping...`, 1);
        const mc = f === 'inet' ? (ipv4ToInt(v) >>> 28) === 0xe : /^ff[0-9a-f]2:/i.test(v);
        if (!mc) return gen(c, s, `(${t.inst.name}) mcast_dst_ip ${v} not${f === 'inet6' ? ' link-local' : ''} multicast. Skipping...`, 1);
        t.inst.mcastDstIp = v;
      },
      track_src_ip: (_s, t) => {
        t.inst.trackSrcIp = true;
      },
      virtual_router_id: (s, t, c) => {
        if (!s.args.length) return c.missing(s, 1);
        const v = readUint(s.args[0], 1, 255);
        if (v === undefined) return gen(c, s, `(${t.inst.name}): VRID '${s.args[0]}' not valid - must be between 1 & 255`, 1);
        t.inst.vrid = v;
      },
      unicast_ttl: (s, t, c) => {
        if (!s.args.length) return c.missing(s, 1);
        const v = readUint(s.args[0], 0, 255);
        if (v === undefined) return gen(c, s, `(${t.inst.name}): TTL '${s.args[0]}' not valid - must be between 0 & 255`, 1);
        t.inst.unicastTtl = v;
        t.ttlSet = true;
      },
      version: (s, t, c) => {
        if (!s.args.length) return c.missing(s, 1);
        const v = readUint(s.args[0], 2, 3);
        if (v === undefined) return gen(c, s, `(${t.inst.name}): Version must be either 2 or 3`, 1);
        if ((t.inst.family === 'inet6' || t.inst.vips.some((x) => x.family === 'inet6')) && v === 2) {
          return gen(c, s, `(${t.inst.name}) Cannot set version 2 with IPv6 addresses`, 1);
        }
        t.inst.version = v as 2 | 3;
        t.versionSet = true;
      },
      priority: (s, t, c) => {
        if (!s.args.length) return c.missing(s, 1);
        const v = readUint(s.args[0], 1, 255);
        t.priSet = true;
        if (v === undefined) {
          gen(c, s, `(${t.inst.name}) Priority not valid! must be between 1 & 255. Using default 100`, 1);
          t.inst.priority = 100;
        } else t.inst.priority = v;
      },
      advert_int: (s, t, c) => {
        if (!s.args.length) return c.missing(s, 1);
        const v = readDecimal(s.args[0], 6, 10000, 255 * 1000000);
        if (v === undefined || v <= 0) return gen(c, s, `(${t.inst.name}) Advert interval (${s.args[0]}) not valid! Must be > 0 - ignoring`, 1);
        t.advertUs = v;
      },
      virtual_ipaddress: (s, t, c) => {
        for (const l of s.block ?? []) {
          const v = parseAddressLine(c, l, s.kw);
          if (!v) continue;
          if (!t.familySet) {
            t.inst.family = v.family;
            t.familySet = true;
          } else if (v.family !== t.inst.family) {
            gen(c, l, `(${t.inst.name}): address family must match VRRP instance [${l.kw}] - ignoring`);
            continue;
          }
          t.inst.vips.push(v);
        }
      },
      virtual_ipaddress_excluded: (s, t, c) => {
        for (const l of s.block ?? []) {
          const v = parseAddressLine(c, l, s.kw);
          if (v) t.inst.excludedVips.push(v);
        }
      },
      no_virtual_ipaddress: (_s, t) => {
        t.inst.noVirtualIpaddress = true;
      },
      promote_secondaries: (_s, t) => {
        t.inst.promoteSecondaries = true;
      },
      virtual_routes: (s, t, c) => {
        for (const l of s.block ?? []) {
          const r = parseRouteLine(c, l);
          if (r) t.inst.virtualRoutes.push(r);
        }
      },
      virtual_rules: (s, t, c) => {
        for (const l of s.block ?? []) {
          const r = parseRuleLine(c, l);
          if (r) t.inst.virtualRules.push(r);
        }
      },
      accept: (_s, t) => {
        t.inst.accept = true;
        t.acceptSet = true;
      },
      no_accept: (_s, t) => {
        t.inst.accept = false;
        t.acceptSet = true;
      },
      skip_check_adv_addr: boolFlag('skipCheckAdvAddr'),
      strict_mode: boolFlag('strictMode', 'strictSet'),
      preempt: (_s, t) => {
        t.inst.nopreempt = false;
      },
      nopreempt: (_s, t) => {
        t.inst.nopreempt = true;
      },
      preempt_delay: (s, t, c) => {
        if (!s.args.length) return c.missing(s, 1);
        const v = readDecimal(s.args[0], 6, 0, 2147483 * 1000000);
        if (v === undefined) {
          gen(c, s, `(${t.inst.name}) Preempt_delay not valid! must be between 0-2147483`, 1);
          t.inst.preemptDelayMs = 0;
        } else t.inst.preemptDelayMs = v / 1000;
      },
      debug: (s, t, c) => {
        const v = readUint(s.args[0], 0, 4);
        if (v === undefined) {
          if (!s.args.length) return c.missing(s, 1);
          return gen(c, s, `(${t.inst.name}) Debug value '${s.args[0]}' not valid; must be between 0-4`, 1);
        }
        t.inst.debug = v;
      },
      notify_backup: n,
      notify_master: n,
      notify_fault: n,
      notify_stop: n,
      notify_deleted: n,
      notify: n,
      notify_master_rx_lower_pri: n,
      smtp_alert: (s, t, c) => {
        const v = optBool(s);
        if (v === undefined) return gen(c, s, `Invalid vrrp_instance smtp_alert parameter ${s.args[0]}`, 1);
        t.inst.smtpAlert = v;
        t.smtpSet = true;
      },
      notify_priority_changes: (s, t, c) => {
        const v = optBool(s);
        if (v === undefined) return gen(c, s, `(${t.inst.name}) Invalid value '${s.args[0]}' for notify_priority_changes specified`, 1);
        t.inst.notifyPriorityChanges = v;
      },
      lvs_sync_daemon_interface: (s, t, c) => {
        gen(c, s, `(${t.inst.name}) Specifying lvs_sync_daemon_interface against a vrrp is deprecated.`, 0, "use 'lvs_sync_daemon INTERFACE VRRP_INSTANCE' in global_defs");
        c.diags.error('HC_VRRP', `      ${' '.repeat(Math.max(0, t.inst.name.length - 2))}Please use global lvs_sync_daemon`, { ...c.loc(s), col: 0 }, ErrClass.GENERAL_ERROR);
        if (!s.args.length) return c.missing(s, 1);
        const g = t.cfg.global as unknown as { lvsSyncDaemon?: { interface?: string; instance?: string } };
        if (g.lvsSyncDaemon?.interface) {
          gen(c, s, `(${t.inst.name}) lvs_sync_daemon_interface has already been specified as ${g.lvsSyncDaemon.interface} - ignoring`, 1);
          return;
        }
        g.lvsSyncDaemon = { ...(g.lvsSyncDaemon ?? {}), interface: s.args[0], instance: t.inst.name };
      },
      garp_master_delay: (s, t, c) => {
        if (!s.args.length) return c.missing(s, 1);
        const v = readUint(s.args[0], 0, 4294);
        if (v === undefined) return gen(c, s, `(${t.inst.name}): garp_master_delay '${s.args[0]}' invalid - ignoring`, 1);
        t.inst.garpMasterDelayMs = v * 1000;
      },
      garp_master_refresh: (s, t, c) => {
        if (!s.args.length) return c.missing(s, 1);
        const v = readUint(s.args[0], 0, 4294967295);
        if (v === undefined) {
          gen(c, s, `(${t.inst.name}): Invalid garp_master_refresh '${s.args[0]}' - ignoring`, 1);
          t.inst.garpMasterRefreshMs = 0;
        } else t.inst.garpMasterRefreshMs = v * 1000;
      },
      garp_master_repeat: garpUint('garpMasterRepeat', 'garp_master_repeat'),
      garp_master_refresh_repeat: garpUint('garpMasterRefreshRepeat', 'garp_master_refresh_repeat'),
      garp_lower_prio_delay: (s, t, c) => {
        if (!s.args.length) return c.missing(s, 1);
        const v = readUint(s.args[0], 0, 4294);
        if (v === undefined) return gen(c, s, `(${t.inst.name}): garp_lower_prio_delay '${s.args[0]}' invalid - ignoring`, 1);
        t.inst.garpLowerPrioDelayMs = v * 1000;
        t.garpLowerPrioDelaySet = true;
      },
      garp_lower_prio_repeat: (s, t, c) => {
        if (!s.args.length) return c.missing(s, 1);
        const v = readUint(s.args[0], 0, 2147483647);
        if (v === undefined) return gen(c, s, `(${t.inst.name}): Invalid garp_lower_prio_repeat '${s.args[0]}'`, 1);
        t.inst.garpLowerPrioRepeat = v;
        t.garpLowerPrioRepeatSet = true;
      },
      down_timer_adverts: (s, t, c) => {
        if (!s.args.length) return c.missing(s, 1);
        const v = readUint(s.args[0], 1, 100);
        if (v === undefined) return gen(c, s, `(${t.inst.name}): Invalid down_timer_adverts [1:100] '${s.args[0]}'`, 1);
        t.inst.downTimerAdverts = v;
      },
      timer_expired_backup: (s, t, c) => {
        let p = 254;
        if (s.args.length) {
          const v = readUint(s.args[0], 1, 254);
          if (v === undefined) return gen(c, s, `(${t.inst.name}) timer_expired_backup highest_other_priority not valid! must be between 1 & 254`, 1);
          p = v;
        }
        t.inst.timerExpiredBackup = p;
      },
      thread_timer_expired: (s, t, c) => {
        gen(c, s, `(${t.inst.name}) thread_timer_expired - please replace with keyword 'timer_expired_backup'`);
        const v = s.args.length ? readUint(s.args[0], 1, 254) : 254;
        if (v !== undefined) t.inst.timerExpiredBackup = v;
      },
      lower_prio_no_advert: boolFlag('lowerPrioNoAdvert', 'lowerPrioNoAdvertSet'),
      higher_prio_send_advert: boolFlag('higherPrioSendAdvert', 'higherPrioSendAdvertSet'),
      owner_ignore_adverts: (s, t, c) => {
        const v = optBool(s);
        if (v === undefined) return gen(c, s, `(${t.inst.name}) invalid ${s.kw} ${s.args[0]} specified`, 1);
        t.inst.ownerIgnoreAdverts = v;
      },
      kernel_rx_buf_size: (s, t, c) => {
        const v = s.args.length === 1 ? readUint(s.args[0], 0, 4294967295) : undefined;
        if (v === undefined) return gen(c, s, `(${t.inst.name}) invalid kernel_rx_buf_size specified`, 1);
        t.inst.kernelRxBufSize = v;
      },
      unicast_peer: (s, t, c) => {
        unicastFlag(s, t);
        for (const l of s.block ?? []) {
          const w = [l.kw, ...l.args];
          const f = familyOf(w[0]);
          if (!f) {
            gen(c, l, `Configuration error: VRRP instance[${t.inst.name}] malformed unicast peer address[${w[0]}]. Skipping...`);
            continue;
          }
          if (!t.familySet) {
            t.inst.family = f;
            t.familySet = true;
          } else if (f !== t.inst.family) {
            gen(c, l, `Configuration error: VRRP instance[${t.inst.name}] and unicast peer address[${w[0]}] MUST be of the same family !!! Skipping...`);
            continue;
          }
          const p: UnicastPeer = { address: w[0], family: f, minTtl: 0, maxTtl: 255, loc: c.loc(l) };
          for (let i = 1; i < w.length; i += 2) {
            if (i + 1 >= w.length) {
              gen(c, l, `(${t.inst.name}) ${w[i]} is missing a value`, i);
              break;
            }
            const ttl = readUint(w[i + 1], 0, 255);
            if (ttl === undefined) continue;
            if (w[i] === 'min_ttl') p.minTtl = ttl;
            else if (w[i] === 'max_ttl') p.maxTtl = ttl;
            else {
              gen(c, l, `(${t.inst.name}) unknown unicast_peer option ${w[i]}`, i);
              break;
            }
            t.inst.checkUnicastSrc = true;
          }
          if (p.minTtl > p.maxTtl) gen(c, l, `(${t.inst.name}) min_ttl ${p.minTtl} > max_ttl ${p.maxTtl} - all packets will be discarded`);
          t.inst.unicastPeers.push(p);
        }
      },
      unicast_fault_no_peer: (s, t) => {
        unicastFlag(s, t);
        t.inst.unicastFaultNoPeer = true;
      },
      check_unicast_src: (s, t) => {
        unicastFlag(s, t);
        t.inst.checkUnicastSrc = true;
      },
      native_ipv6: (s, t, c) => {
        if (t.familySet && t.inst.family === 'inet') return gen(c, s, `(${t.inst.name}) Cannot specify native_ipv6 with IPv4 addresses`);
        t.inst.family = 'inet6';
        t.familySet = true;
        t.inst.version = 3;
        t.versionSet = true;
      },
      authentication: (s, t, c) => {
        t.authSeen = true;
        const a = { type: undefined as AuthType | undefined, pass: '' };
        c.walk(s.block, authSpec(t), a);
        if (a.type) t.inst.auth = { type: a.type, pass: a.pass };
        else if (a.pass) t.inst.auth = undefined;
      },
    },
    unsupported: {
      use_vmac: 'VMAC interfaces (macvlan) are not created by hacheck',
      use_vmac_addr: 'VMAC interfaces are not created by hacheck',
      vmac_xmit_base: 'VMAC interfaces are not created by hacheck',
      use_ipvlan: 'ipvlan interfaces are not created by hacheck',
      garp_extra_if: 'VMAC interfaces are not created by hacheck',
      vmac_garp_intvl: 'deprecated synonym of garp_extra_if; VMAC interfaces are not created by hacheck',
      vrf: 'VRF binding is not implemented',
      old_unicast_checksum: 'compatibility with pre-1.3.6 unicast checksums is not implemented',
      v3_checksum_as_v2: 'VRRPv3 checksums computed as v2 are not implemented',
      linkbeat_use_polling: "deprecated in keepalived; use the 'linkbeat_interfaces' block",
      auth_hmac: 'HMAC authentication (keepalived HEAD) is not implemented',
    },
  };
}

function authSpec(t: InstState): BlockSpec<{ type?: AuthType; pass: string }> {
  return {
    name: 'authentication',
    keywords: {
      auth_type: (s, a, c) => {
        if (!s.args.length) return c.missing(s, 1);
        if (s.args[0] === 'AH' || s.args[0] === 'PASS') a.type = s.args[0];
        else gen(c, s, `(${t.inst.name}) unknown authentication type '${s.args[0]}'`, 1, 'auth_type is PASS or AH');
      },
      auth_pass: (s, a, c) => {
        if (!s.args.length) return c.missing(s, 1);
        let p = s.args[0];
        if (p.length > 8) {
          gen(c, s, 'Truncating auth_pass to 8 characters', 1, 'VRRPv2 carries at most 8 characters of password (RFC 2338 5.3.10)');
          p = p.slice(0, 8);
        }
        a.pass = p;
      },
    },
  };
}

function readInstance(s: Stmt, cfg: Config, c: Ctx): void {
  if (s.args.length !== 1) {
    gen(c, s, 'vrrp_instance must have a name');
    return;
  }
  const name = s.args[0];
  if (cfg.vrrp.instances.some((v) => v.name === name)) {
    gen(c, s, `vrrp instance ${name} already defined`, 1);
    return;
  }
  const g = gdefs(cfg);
  const inst: VrrpInstanceConfig = {
    name,
    state: 'BACKUP',
    stateSet: false,
    priority: 0,
    advertIntervalCs: 100,
    version: 2,
    family: 'inet',
    nopreempt: false,
    preemptDelayMs: 0,
    vips: [],
    excludedVips: [],
    virtualRoutes: [],
    virtualRules: [],
    noVirtualIpaddress: false,
    unicastPeers: [],
    unicastConfigured: false,
    unicast: false,
    unicastFaultNoPeer: false,
    checkUnicastSrc: false,
    trackSrcIp: false,
    dontTrackPrimary: false,
    smtpAlert: false,
    garpMasterDelayMs: g.vrrpGarpMasterDelayMs ?? 5000,
    garpMasterRepeat: g.vrrpGarpMasterRepeat ?? 5,
    garpMasterRefreshMs: g.vrrpGarpMasterRefreshMs ?? 0,
    garpMasterRefreshRepeat: g.vrrpGarpMasterRefreshRepeat ?? 1,
    garpLowerPrioDelayMs: 0,
    garpLowerPrioRepeat: 0,
    lowerPrioNoAdvert: false,
    higherPrioSendAdvert: false,
    downTimerAdverts: g.vrrpDownTimerAdverts ?? 3,
    strictMode: false,
    accept: true,
    skipCheckAdvAddr: !!g.vrrpSkipCheckAdvAddr,
    debug: 0,
    promoteSecondaries: false,
    trackInterface: [],
    trackScript: [],
    trackFile: [],
    trackProcess: [],
    trackBfd: [],
    loc: c.loc(s),
  };
  const t: InstState = {
    inst,
    cfg,
    familySet: false,
    priSet: false,
    versionSet: false,
    advertSet: false,
    strictSet: false,
    acceptSet: false,
    garpLowerPrioDelaySet: false,
    garpLowerPrioRepeatSet: false,
    lowerPrioNoAdvertSet: false,
    higherPrioSendAdvertSet: false,
    smtpSet: false,
    saddrFromConfig: false,
    authTypeSet: false,
    ifSet: false,
    ttlSet: false,
    authSeen: false,
  };
  // the table is made once: instances are read one at a time (its `cur` follows them)
  c.walk(s.block, (instanceSpecOnce ??= instanceSpec()), t);
  // vrrp_end_handler
  const end = s.end ?? c.loc(s);
  if (!inst.unicastPeers.length && t.ttlSet) {
    c.diags.error('HC_VRRP', `(${name}): Cannot use unicast_ttl without unicast peers - resetting`, end, ErrClass.GENERAL_ERROR);
    inst.unicastTtl = undefined;
  }
  cfg.vrrp.instances.push(inst);
  let list = pending.get(c);
  if (!list) pending.set(c, (list = []));
  list.push({ t, end });
}

/** instances read, completed in finishVrrp once the whole file is read (as keepalived does) */
const pending = new WeakMap<Ctx, { t: InstState; end: Loc }[]>();

/** keepalived vrrp_complete_instance: derived defaults and consistency checks. */
function completeInstance(t: InstState, c: Ctx, end: Loc, quiet: boolean): boolean {
  const inst = t.inst;
  const g = gdefs(t.cfg);
  const name = inst.name;
  const err = (msg: string, cls = ErrClass.GENERAL_ERROR, hint?: string): void => {
    if (!quiet) c.diags.error('HC_VRRP', msg, end, cls, hint);
  };

  if (inst.vrid === undefined) {
    err(`(${name}) the virtual router id must be set`, ErrClass.GENERAL_ERROR, "add 'virtual_router_id N' (1..255), the same on every router of this group");
    inst.removed = true;
    return false;
  }
  if (!t.strictSet) inst.strictMode = !!g.vrrpStrict;
  if (inst.family === 'inet6') {
    if (t.versionSet && inst.version === 2 && inst.strictMode) {
      err(`(${name}) cannot use IPv6 with VRRP version 2; setting version 3`);
      inst.version = 3;
    } else if (!t.versionSet) inst.version = 3;
  }
  if (!t.versionSet && inst.family === 'inet') inst.version = g.vrrpVersion ?? 2;

  if (!inst.vips.length) {
    if (inst.version === 3 || inst.strictMode) {
      err(`(${name}) No VIP specified; at least one is required`);
      inst.removed = true;
      return false;
    }
    if (!inst.noVirtualIpaddress) err(`(${name}) No VIP specified; at least one is sensible`, ErrClass.WARNING);
  }

  if (!t.priSet || inst.priority === 0) inst.priority = inst.state === 'MASTER' && inst.stateSet ? 255 : 100;
  if (!inst.stateSet) inst.state = inst.priority === 255 ? 'MASTER' : 'BACKUP';
  else if (inst.strictMode && (inst.state === 'MASTER') !== (inst.priority === 255)) {
    err(`(${name}) State MASTER must match being address owner`);
    inst.state = inst.priority === 255 ? 'MASTER' : 'BACKUP';
  }

  if (inst.auth) {
    if (inst.strictMode) {
      err(`(${name}) Strict mode does not support authentication. Ignoring.`);
      inst.auth = undefined;
    } else if (inst.version === 3) {
      err(`(${name}) VRRP version 3 does not support authentication. Ignoring.`);
      inst.auth = undefined;
    } else if (!inst.auth.pass) {
      err(`(${name}) Authentication specified but no password given. Ignoring`);
      inst.auth = undefined;
    } else if (inst.family === 'inet6' && inst.auth.type === 'AH') {
      err(`(${name}) Cannot use AH authentication with IPv6. ignoring`);
      inst.auth = undefined;
    } else if (inst.auth.type === 'AH' && inst.state === 'MASTER' && inst.priority !== 255) {
      err(`(${name}) Initial state master is incompatible with AH authentication - clearing`, ErrClass.GENERAL_ERROR, 'an AH instance starts as BACKUP to learn the sequence number from the master');
      inst.state = 'BACKUP';
    }
  }

  if (!inst.interface) {
    if (!t.saddrFromConfig) {
      err(`(${name}): Unicast instances must have unicast_src_ip or interface`);
      inst.removed = true;
      return false;
    }
    if (inst.family === 'inet6' && /^fe[89ab]/i.test(inst.srcIp ?? '')) {
      err(`(${name}) Non link-local address required if interface omitted`);
      inst.removed = true;
      return false;
    }
  }
  if (inst.unicastConfigured) {
    if (inst.unicastPeers.length) inst.unicast = true;
    else if (!inst.unicastFaultNoPeer)
      err(`(${name}) A unicast keyword has been specified without any unicast peers. Defaulting to multicast. This usage is deprecated - please update your configuration.`, ErrClass.DEPRECATED);
  }
  if (inst.unicast && inst.strictMode && inst.interface) {
    err(`(${name}) Unicast peers are not supported in strict mode`);
    inst.removed = true;
    return false;
  }

  if (inst.priority === 255 && inst.nopreempt) {
    err(`(${name}) nopreempt is incompatible with priority 255. resetting nopreempt`);
    inst.nopreempt = false;
  }
  if (inst.state === 'MASTER') {
    if (inst.nopreempt) {
      err(`(${name}) Warning - nopreempt will not work with initial state MASTER - clearing`);
      inst.nopreempt = false;
    }
    if (inst.preemptDelayMs) {
      err(`(${name}) Warning - preempt delay will not work with initial state MASTER - clearing`);
      inst.preemptDelayMs = 0;
    }
  }
  if (inst.preemptDelayMs) {
    if (inst.strictMode) {
      err(`(${name}) preempt_delay is incompatible with strict mode - resetting`);
      inst.preemptDelayMs = 0;
    }
    if (inst.nopreempt) {
      err(`(${name}) preempt_delay is incompatible with nopreempt mode - resetting`);
      inst.preemptDelayMs = 0;
    }
  }
  if (inst.downTimerAdverts !== 3 && inst.strictMode) {
    err(`(${name}) down_timer_adverts is incompatible with strict mode - resetting`);
    inst.downTimerAdverts = 3;
  }
  if (!t.acceptSet) inst.accept = inst.priority === 255 ? true : !inst.strictMode;
  if (inst.accept && inst.priority !== 255 && inst.strictMode && inst.version === 2) {
    err(`(${name}) warning - accept mode for VRRP version 2 does not comply with RFC3768 - resetting`);
    inst.accept = false;
  }
  if (inst.unicast && inst.mcastDstIp) {
    err(`(${name}) multicast destination specified with unicast - ignoring`);
    inst.mcastDstIp = undefined;
  }
  if (!inst.unicast && !inst.mcastDstIp) inst.mcastDstIp = inst.family === 'inet' ? '224.0.0.18' : 'ff02::12';
  if (inst.family === 'inet' && inst.unicastTtl === undefined) inst.unicastTtl = 255;

  if (!t.garpLowerPrioRepeatSet) inst.garpLowerPrioRepeat = inst.strictMode ? 0 : g.vrrpGarpLowerPrioRepeat ?? inst.garpMasterRepeat;
  else if (inst.strictMode && inst.garpLowerPrioRepeat) {
    err(`(${name}) Strict mode requires no repeat garps. resetting`);
    inst.garpLowerPrioRepeat = 0;
  }
  if (!t.garpLowerPrioDelaySet) inst.garpLowerPrioDelayMs = inst.strictMode ? 0 : g.vrrpGarpLowerPrioDelayMs ?? inst.garpMasterDelayMs;
  else if (inst.strictMode && inst.garpLowerPrioDelayMs) {
    err(`(${name}) Strict mode requires no repeat garp delay. resetting`);
    inst.garpLowerPrioDelayMs = 0;
  }
  if (!t.lowerPrioNoAdvertSet) inst.lowerPrioNoAdvert = inst.strictMode ? true : !!g.vrrpLowerPrioNoAdvert;
  else if (inst.strictMode && !inst.lowerPrioNoAdvert) {
    err(`(${name}) Strict mode requires no lower priority advert. resetting`);
    inst.lowerPrioNoAdvert = true;
  }
  if (!t.higherPrioSendAdvertSet) inst.higherPrioSendAdvert = inst.strictMode ? false : !!g.vrrpHigherPrioSendAdvert;
  else if (inst.strictMode && inst.higherPrioSendAdvert) {
    err(`(${name}) strict mode requires higher_prio_send_advert to be clear. resetting`);
    inst.higherPrioSendAdvert = false;
  }
  if (!t.smtpSet) inst.smtpAlert = g.smtpAlertVrrp ?? g.smtpAlert ?? false;

  // advert_int: v2 in whole seconds (< 256), v3 in centi-seconds (< 4096)
  let us = t.advertUs ?? 1000000;
  if (inst.version === 2) {
    if (us >= 256 * 1000000) {
      err(`(${name}) VRRPv2 advertisement interval ${(us / 1e6).toFixed(2)}s is out of range. Must be less than 256s. Setting to 255s`);
      us = 255 * 1000000;
    } else if (us % 1000000) {
      err(`(${name}) VRRPv2 advertisement interval ${(us / 1e6).toFixed(6)}s must be an integer. rounding`, ErrClass.GENERAL_ERROR, 'VRRPv2 adverts carry whole seconds (RFC 3768 5.3.7); use version 3 for sub-second intervals');
      us += 500000;
      us -= us % 1000000;
      if (us === 0) us = 1000000;
    }
  } else if (us >= 4096 * 10000) {
    err(`(${name}) VRRPv3 advertisement interval ${(us / 1e6).toFixed(2)}s is out of range. Must be less than 40.96s. Setting to 40.95s`);
    us = 4095 * 10000;
  } else if (us % 10000) {
    err(`(${name}) VRRPv3 advertisement interval ${(us / 1e6).toFixed(6)}s must be in units of 10ms - rounding`);
    us += 5000;
    us -= us % 10000;
    if (us === 0) us = 10000;
  }
  inst.advertIntervalCs = us / 10000;
  return true;
}

// ---------------------------------------------------------------- top level

export const vrrpTop: Record<string, Handler<Config>> = {
  vrrp_script: (s, cfg, c) => readVrrpScript(s, cfg, c),
  vrrp_track_process: (s, cfg, c) => readTrackProcess(s, cfg, c),
  track_file: (s, cfg, c) => readTrackFile(s, cfg, c),
  vrrp_track_file: (s, cfg, c) => readTrackFile(s, cfg, c),
  garp_group: (s, cfg, c) => readGarpGroup(s, cfg, c),
  vrrp_sync_group: (s, cfg, c) => readSyncGroup(s, cfg, c),
  vrrp_instance: (s, cfg, c) => readInstance(s, cfg, c),
};

/** Checks that span blocks: sync group members, duplicate VRIDs, the interface summary. */
export function finishVrrp(cfg: Config, c: Ctx): void {
  const v = cfg.vrrp;
  // keepalived's VRRP process stops right after reading the file when an interface named in
  // it does not exist: none of the checks below are made then (the model still gets its
  // derived defaults). After the first instance failing its checks, keepalived stops too.
  const badIf = anyInterfaceMissing(c);
  v.checked = !badIf;
  if (badIf) c.diags.error('HC_CONFIG_BAD_IF', 'Non-existent interface specified in configuration', undefined, ErrClass.BAD_IF);
  let quiet = badIf;
  for (const { t, end } of pending.get(c) ?? []) {
    if (!completeInstance(t, c, end, quiet)) quiet = true;
  }
  pending.delete(c);
  if (badIf) return;
  // instances rejected by their end checks are not run
  v.instances = v.instances.filter((i) => !i.removed);
  for (const g of [...v.syncGroups]) {
    const members: string[] = [];
    for (const n of g.group) {
      const inst = v.instances.find((i) => i.name === n);
      if (!inst) {
        c.diags.error('HC_VRRP_SYNC_GROUP', `Virtual router ${n} specified in sync group ${g.name} doesn't exist - ignoring`, g.loc, ErrClass.GENERAL_ERROR);
        continue;
      }
      if (inst.syncGroup) {
        c.diags.error('HC_VRRP_SYNC_GROUP', `Virtual router ${n} cannot exist in more than one sync group; ignoring ${g.name}`, g.loc, ErrClass.GENERAL_ERROR);
        continue;
      }
      inst.syncGroup = g.name;
      members.push(n);
    }
    g.group = members;
    if (!members.length) {
      c.diags.error('HC_VRRP_SYNC_GROUP', `Sync group ${g.name}, no matching virtual router found in group declaration - removing`, g.loc, ErrClass.GENERAL_ERROR);
      v.syncGroups = v.syncGroups.filter((x) => x !== g);
      continue;
    }
    const owners = members.map((m) => v.instances.find((i) => i.name === m)!).map((i) => i.priority === 255);
    if (owners.some((o) => o) && owners.some((o) => !o))
      c.diags.error('HC_VRRP_SYNC_GROUP', `Sync group ${g.name} has some member(s) as address owner and some not as address owner. This won't work.`, g.loc, ErrClass.GENERAL_ERROR);
    if (members.length === 1)
      c.diags.error('HC_VRRP_SYNC_GROUP', `Sync group ${g.name} has only 1 virtual router(s) - this probably isn't what you want`, g.loc, ErrClass.GENERAL_ERROR);
  }
  // tracking the instance's own interface is implicit
  for (const inst of v.instances) {
    if (!inst.interface) continue;
    const own = inst.trackInterface.filter((ti) => ti.name === inst.interface);
    for (const ti of own) c.diags.error('HC_VRRP_TRACK', `(${inst.name}) Ignoring track_interface ${ti.name} since own interface`, ti.loc, ErrClass.GENERAL_ERROR);
    inst.trackInterface = inst.trackInterface.filter((ti) => ti.name !== inst.interface);
  }
  for (const g of v.syncGroups)
    for (const m of g.group) {
      const inst = v.instances.find((i) => i.name === m)!;
      for (const ti of g.trackInterface)
        if (ti.name === inst.interface || inst.trackInterface.some((x) => x.name === ti.name))
          c.diags.error('HC_VRRP_TRACK', `(${inst.name}) track_interface ${ti.name} is configured on VRRP instance and sync group. Remove vrrp instance or sync group config`, ti.loc, ErrClass.GENERAL_ERROR);
    }
  // the same VRID on the same interface and family
  for (let i = 0; i < v.instances.length; i++)
    for (let j = 0; j < i; j++) {
      const a = v.instances[i];
      const b = v.instances[j];
      if (a.vrid === b.vrid && a.family === b.family && a.interface === b.interface && a.interface !== undefined && !a.unicast && !b.unicast)
        c.diags.error('HC_VRRP_VRID', `(${a.name}) duplicate VRID conflict with ${b.name} VRID ${a.vrid}`, a.loc, ErrClass.GENERAL_ERROR);
    }
  // scripts never tracked
  for (const sc of v.scripts) {
    const used = [...v.instances, ...v.syncGroups].some((h) => h.trackScript.some((t) => t.name === sc.name));
    if (!used) c.note({ kw: 'vrrp_script', args: [], loc: sc.loc, raw: '' }, `vrrp_script ${sc.name} is not tracked by any vrrp_instance or vrrp_sync_group`, 0, 'HC_VRRP_UNUSED_SCRIPT');
  }
}
