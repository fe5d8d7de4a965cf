// Scripts the configuration would run: parsing a script line the way keepalived does, the
// script user, and the checks keepalived makes at `-t` before it would run a script
// (keepalived.conf(5) "Quoted strings", "Scripts", global_defs enable_script_security /
// script_user).
//
// keepalived reports some of its findings as configuration errors (they set the `-t` exit
// code) and only logs others. Logged-only findings are reported here as warnings without
// an ErrClass, so they are shown but never change the exit code.

import { ErrClass, type Loc } from '../diagnostics.js';
import type { Ctx } from './context.js';
import type { Config } from './types.js';
import type { Stmt } from '../parse.js';
import type { FileInfo } from '../env.js';

export type ScriptKind = 'vrrp_script' | 'notify' | 'misc_check' | 'rs_notify' | 'quorum' | 'startup' | 'shutdown' | 'notify_fifo';

export interface ScriptSpec {
  kind: ScriptKind;
  /** the command split into words (argv[0] is the program); after the checks, argv[0] is the resolved path */
  argv: string[];
  /** the script string as written (after the first quote pass), for messages */
  raw: string;
  /** `username [groupname]` given on the line or by a `user` keyword */
  user?: string;
  group?: string;
  /** the uid/gid the script runs as; undefined until the user (or the default) is resolved */
  uid?: number;
  gid?: number;
  loc: Loc;
  /**
   * who runs it: the vrrp_script / vrrp_instance / vrrp_sync_group name, the real server or
   * virtual server text, or for kind 'notify_fifo' the keyword (notify_fifo_script,
   * vrrp_notify_fifo_script, lvs_notify_fifo_script), which decides the subsystems that check it
   */
  owner: string;
  /** the script is not run (not found, not executable, insecure, or its user could not be set) */
  disabled?: boolean;
  /** the notify keyword (notify_master, notify_up, …), when the kind alone does not say */
  keyword?: string;
}

/** Result of keepalived's alloc_strvec_quoted[_escaped]: words, or the quote left open. */
export type SplitResult = { words: string[] } | { unmatched: '"' | "'" };

const WHITE = ' \t\f\v\r\n';

/**
 * Split `src` into words at unquoted blanks; "…" and '…' group (the quotes are removed).
 * With `escapes`, a backslash introduces \a \b \E \f \n \r \t \v \nnn (octal) \xXX \cC or
 * quotes the next character; without, the backslash and the next character are kept as
 * written (keepalived's first pass over a line keeps escapes for the second pass).
 */
export function splitQuoted(src: string, escapes: boolean): SplitResult | { badEscape: true } {
  const words: string[] = [];
  let i = 0;
  while (i < src.length) {
    while (i < src.length && WHITE.includes(src[i])) i++;
    if (i >= src.length) break;
    let out = '';
    let quote: '"' | "'" | '' = '';
    for (;;) {
      if (i >= src.length) {
        if (quote) return { unmatched: quote };
        break;
      }
      const ch = src[i];
      if (ch === '\\') {
        i++;
        if (i >= src.length) return { badEscape: true };
        if (!escapes) {
          out += '\\' + src[i++];
          continue;
        }
        const e = src[i];
        if (e === 'x' && isHex(src[i + 1])) {
          i++;
          let v = 0;
          for (let k = 0; k < 2 && isHex(src[i]); k++) v = v * 16 + parseInt(src[i++], 16);
          out += String.fromCharCode(v);
        } else if (e === 'c' && i + 1 < src.length) {
          out += String.fromCharCode(src.charCodeAt(i + 1) & 0x1f);
          i += 2;
        } else if (e >= '0' && e <= '7') {
          let v = 0;
          for (let k = 0; k < 3 && src[i] >= '0' && src[i] <= '7'; k++) v = v * 8 + Number(src[i++]);
          // keepalived keeps the value in a char: only the low 8 bits survive
          out += String.fromCharCode(v & 0xff);
        } else {
          const map: Record<string, string> = { a: '\x07', b: '\b', E: '\x1b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };
          out += map[e] ?? e;
          i++;
        }
        continue;
      }
      if (quote) {
        if (ch === quote) quote = '';
        else out += ch;
        i++;
        continue;
      }
      if (ch === '"' || ch === "'") {
        quote = ch;
        i++;
        continue;
      }
      if (WHITE.includes(ch)) break;
      out += ch;
      i++;
    }
    words.push(out);
  }
  return { words };
}

function isHex(ch: string | undefined): boolean {
  return ch !== undefined && /^[0-9a-fA-F]$/.test(ch);
}

/** keepalived's cmd_str: the words each in '…' (a leading < or > redirection word is not quoted). */
export function cmdStr(argv: string[]): string {
  return argv.map((w, i) => (i === 0 && (w[0] === '<' || w[0] === '>') ? w : `'${w}'`)).join(' ');
}

/** A message keepalived only logs: shown as a warning, never changes the exit code. */
function logged(c: Ctx, loc: Loc, message: string, hint?: string, code = 'HC_SCRIPT'): void {
  c.diags.add({ severity: 'warning', code, message, loc, hint });
}

/** Message word for the kind of script, as keepalived names it. */
function typeName(kind: ScriptKind): string {
  switch (kind) {
    case 'startup':
    case 'shutdown':
      return kind;
    case 'notify_fifo':
      return 'notify_fifo';
    default:
      return 'notify';
  }
}

/** Kinds whose line carries only the command: the user comes from a separate `user` keyword. */
const USER_BY_KEYWORD: ReadonlySet<ScriptKind> = new Set(['vrrp_script', 'misc_check']);

/**
 * Read the script on statement `s` (the rest of the line after the keyword), as keepalived
 * does: the line is split once with quotes grouping (escapes kept), the second word is the
 * script string, which is split again into argv with quotes and escapes; for notify-style
 * scripts the third and fourth words are `username [groupname]`.
 * Returns undefined (with keepalived's message) when there is no usable script.
 */
export function parseScript(c: Ctx, s: Stmt, kind: ScriptKind, owner: string): ScriptSpec | undefined {
  const line = splitQuoted(s.raw, false);
  if ('unmatched' in line) {
    c.error(s, `String '${s.raw.trim()}': missing terminating ${line.unmatched}`, 0, ErrClass.UNMATCHED_QUOTE, 'HC_CONFIG_UNMATCHED_QUOTE');
    return undefined;
  }
  if ('badEscape' in line) {
    logged(c, c.loc(s), `Missing escape char at end: '${s.raw.trim()}'`);
    return undefined;
  }
  // words[0] is the keyword
  const words = line.words;
  if (words.length < 2) {
    if (USER_BY_KEYWORD.has(kind)) return undefined; // the block's end handler reports it
    logged(c, c.loc(s), `Unable to parse script '(null)' - ignoring`, `give the command after '${s.kw}'`);
    return undefined;
  }
  const raw = words[1];
  const argvR = splitQuoted(raw, true);
  if ('unmatched' in argvR) {
    c.error(s, `String '${raw}': missing terminating ${argvR.unmatched}`, 1, ErrClass.UNMATCHED_QUOTE, 'HC_CONFIG_UNMATCHED_QUOTE');
    return undefined;
  }
  if ('badEscape' in argvR) {
    logged(c, c.loc(s, 1), `Missing escape char at end: '${raw}'`);
    if (!USER_BY_KEYWORD.has(kind)) logged(c, c.loc(s, 1), `Unable to parse script '${raw}' - ignoring`);
    return undefined;
  }
  if (argvR.words.length === 0) {
    if (USER_BY_KEYWORD.has(kind)) return undefined;
    logged(c, c.loc(s, 1), `Unable to parse script '${raw}' - ignoring`);
    return undefined;
  }
  const spec: ScriptSpec = { kind, argv: argvR.words, raw, loc: c.loc(s, 1), owner, keyword: s.kw };
  if (USER_BY_KEYWORD.has(kind)) {
    if (words.length > 2)
      c.note(s, `words after the script are ignored by keepalived: '${words.slice(2).join(' ')}'`, 2, 'HC_SCRIPT_EXTRA_WORDS', `quote the whole command ("${words.slice(1).join(' ')}"), and set the user with the 'user' keyword`);
    return spec;
  }
  if (words.length > 2) {
    const ok = resolveUser(c, spec, words[2], words[3], c.loc(s, 2));
    if (!ok) {
      logged(c, c.loc(s, 2), `Invalid user/group for ${typeName(kind)} script ${spec.argv[0]} - ignoring`);
      return undefined;
    }
  }
  return spec;
}

/**
 * Set the script's user (and group) by name, as keepalived's set_uid_gid: the group defaults
 * to the user's primary group. Failures are only logged by keepalived; returns false then.
 */
export function resolveUser(c: Ctx, spec: ScriptSpec, user: string, group: string | undefined, loc: Loc): boolean {
  const u = c.env.user(user);
  if (!u) {
    logged(c, loc, `Script user '${user}' does not exist`);
    return false;
  }
  let gid = u.gid;
  if (group !== undefined) {
    const g = c.env.group(group);
    if (g === undefined) {
      logged(c, loc, `Script group '${group}' does not exist`);
      return false;
    }
    gid = g;
  }
  spec.user = user;
  spec.group = group;
  spec.uid = u.uid;
  spec.gid = gid;
  return true;
}

/**
 * The `user USERNAME [GROUPNAME]` keyword of vrrp_script / MISC_CHECK. Returns false when
 * the user or group does not exist (the caller reports keepalived's block-specific message).
 */
export function scriptUserKeyword(c: Ctx, s: Stmt, spec: ScriptSpec): boolean {
  const user = c.arg(s, 1);
  if (user === undefined) return false;
  return resolveUser(c, spec, user, s.args[1], c.loc(s, 1));
}

interface DefaultUser {
  done: boolean;
  fail: boolean;
  uid: number;
  gid: number;
  name?: string;
  group?: string;
}

const defaultUsers = new WeakMap<Ctx, DefaultUser>();

/** The uid/gid hacheck itself runs as (keepalived: our_uid/our_gid). */
function ourIds(): { uid: number; gid: number } {
  return { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
}

/** global_defs fields this file reads; read defensively while global.ts grows. */
interface GlobalScriptFields {
  enableScriptSecurity?: boolean;
  scriptUser?: { user: string; group?: string };
}

function scriptSecurity(cfg: Config): boolean {
  return !!(cfg.global as GlobalScriptFields | undefined)?.enableScriptSecurity;
}

/**
 * The default script user (keepalived get_default_script_user): global_defs script_user if
 * given, else keepalived_script if that user exists, else the user hacheck runs as. With
 * enable_script_security and neither, the default cannot be set: reported once, and every
 * script relying on the default is dropped.
 */
export function defaultScriptUser(c: Ctx, cfg: Config, at: Loc): DefaultUser {
  let d = defaultUsers.get(c);
  if (d?.done) return d;
  const our = ourIds();
  d = { done: true, fail: false, uid: our.uid, gid: our.gid };
  defaultUsers.set(c, d);
  const su = (cfg.global as GlobalScriptFields | undefined)?.scriptUser;
  if (su) {
    // global_defs script_user: its own messages are reported by global_defs
    const u = c.env.user(su.user);
    const g = su.group !== undefined ? c.env.group(su.group) : u?.gid;
    if (!u || g === undefined) d.fail = true;
    else Object.assign(d, { uid: u.uid, gid: g, name: su.user, group: su.group });
    return d;
  }
  const ks = c.env.user('keepalived_script');
  if (ks) Object.assign(d, { uid: ks.uid, gid: ks.gid, name: 'keepalived_script' });
  else if (scriptSecurity(cfg)) {
    d.fail = true;
    c.diags.error(
      'HC_SCRIPT_DEFAULT_USER',
      'Unable to set default user keepalived_script for script',
      at,
      ErrClass.GENERAL_ERROR,
      "create a 'keepalived_script' user (useradd -r -s /sbin/nologin keepalived_script), or set 'script_user' in global_defs",
    );
  }
  return d;
}

/**
 * Give `spec` the default user when none was set. Returns false when the default cannot be
 * set (the caller drops the script with its block's message).
 */
export function applyDefaultUser(c: Ctx, cfg: Config, spec: ScriptSpec): boolean {
  if (spec.uid !== undefined) return true;
  const d = defaultScriptUser(c, cfg, spec.loc);
  if (d.fail) return false;
  spec.uid = d.uid;
  spec.gid = d.gid;
  if (d.name) spec.user = d.name;
  if (d.group) spec.group = d.group;
  return true;
}

// keepalived's SC_* flags from check_script_secure
const SC_ISSCRIPT = 0x01;
const SC_INHIBIT = 0x02;
const SC_NOTFOUND = 0x04;
const SC_EXECUTABLE = 0x08;
const SC_SYSTEM = 0x10;
const SC_INSECURE = 0x20;

const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_ISVTX = 0o1000;

function isExecutable(st: FileInfo, uid: number, gid: number): boolean {
  const m = st.mode;
  return (
    (uid === 0 && (m & 0o111) !== 0) ||
    (uid === st.uid && (m & 0o100) !== 0) ||
    (uid !== st.uid && ((gid === st.gid && (m & 0o010) !== 0) || (gid !== st.gid && (m & 0o001) !== 0)))
  );
}

/** Remove ., .., and repeated slashes; a relative path is taken from / (keepalived runs in /). */
function cleanPath(p: string): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return '/' + out.join('/');
}

/**
 * Each component of `file` (/, /a, /a/b, …, the file) must be owned by root and not
 * writable by a non-root group or by others (a directory with the sticky bit is allowed to
 * be). keepalived check_security.
 */
function checkPathSecurity(c: Ctx, spec: ScriptSpec, file: string, security: boolean): number {
  const parts = file.split('/').filter(Boolean);
  const prefixes = ['/', ...parts.map((_, i) => '/' + parts.slice(0, i + 1).join('/'))];
  for (let i = 0; i < prefixes.length; i++) {
    const p = prefixes[i];
    const last = i === prefixes.length - 1;
    const st = c.env.stat(p);
    if (!st) {
      logged(c, spec.loc, `check_script_secure could not find script '${file}' - disabling`);
      return SC_NOTFOUND;
    }
    if ((!last && !st.isDir) || (last && !st.isFile)) {
      logged(c, spec.loc, `Wrong file type found in script path '${file}'.`, `'${p}' is not a ${last ? 'regular file' : 'directory'}`);
      return SC_INHIBIT;
    }
    const groupWritable = st.gid !== 0 && (st.mode & 0o020) !== 0;
    const worldWritable = (st.mode & 0o002) !== 0;
    const stickyDir = st.isDir && (st.mode & S_ISVTX) !== 0;
    if (st.uid !== 0 || (!stickyDir && (groupWritable || worldWritable))) {
      const why: string[] = [];
      const fix: string[] = [];
      if (st.uid !== 0) {
        why.push(`'${p}' is owned by uid ${st.uid}, not root`);
        fix.push(`chown root ${p}`);
      }
      if (!stickyDir && (groupWritable || worldWritable)) {
        const who = [groupWritable ? `group ${st.gid}` : '', worldWritable ? 'others' : ''].filter(Boolean).join(' and ');
        why.push(`'${p}' is writable by ${who}`);
        fix.push(`chmod ${groupWritable && worldWritable ? 'go-w' : groupWritable ? 'g-w' : 'o-w'} ${p}`);
      }
      logged(
        c,
        spec.loc,
        `Unsafe permissions found for script '${file}'${security ? ' - disabling' : ''}.`,
        `${why.join('; ')}: a non-root user could replace what runs as root. Fix: ${fix.join(' && ')}`,
        'HC_SCRIPT_UNSAFE',
      );
      return SC_INSECURE | (security ? SC_INHIBIT : 0);
    }
  }
  return 0;
}

/** keepalived check_script_secure: find the script, check it can run, and its path is safe. */
function checkScript(c: Ctx, spec: ScriptSpec, security: boolean): number {
  const uid = spec.uid ?? ourIds().uid;
  const gid = spec.gid ?? ourIds().gid;
  const prog = spec.argv[0];
  // "</path" only tests that a file can be opened: nothing is executed
  if (/^<[ \t]*\//.test(prog)) return SC_SYSTEM;

  let file = prog;
  if (!prog.includes('/')) {
    let found: string | undefined;
    let denied = false;
    for (const dir of c.env.path) {
      const cand = `${dir.replace(/\/$/, '')}/${prog}`;
      const st = c.env.stat(cand);
      if (!st) continue;
      if (st.isFile && isExecutable(st, uid, gid)) {
        found = cand;
        break;
      }
      denied = true;
    }
    if (!found) {
      logged(c, spec.loc, denied ? `Permissions failure for script ${prog} in path - disabling` : `Cannot find script ${prog} in path - disabling`, `give the full path of '${prog}'`);
      return SC_NOTFOUND;
    }
    logged(c, spec.loc, `WARNING - script \`${prog}\` resolved by path search to \`${found}\`. Please specify full path.`);
    file = found;
  }
  file = cleanPath(file);
  const st = c.env.stat(file);
  if (!st) {
    logged(c, spec.loc, `Script ${prog} cannot be accessed - No such file or directory`);
    return SC_NOTFOUND;
  }
  spec.argv = [file, ...spec.argv.slice(1)];
  let flags = SC_ISSCRIPT;
  let needProtection = false;
  if (isExecutable(st, uid, gid)) {
    flags |= SC_EXECUTABLE;
    if (uid === 0 || gid === 0 || (st.uid === 0 && st.mode & 0o100 && st.mode & S_ISUID) || (st.gid === 0 && st.mode & 0o010 && st.mode & S_ISGID)) needProtection = true;
  } else {
    logged(c, spec.loc, `WARNING - script '${file}' is not executable for uid:gid ${uid}:${gid} - disabling.`, `chmod +x ${file}`);
  }
  if (!needProtection) return flags;
  return flags | checkPathSecurity(c, spec, file, security);
}

/** Where a script is checked: keepalived checks per subsystem, each with its own summary. */
function subsystems(spec: ScriptSpec): ('vrrp' | 'check' | 'startstop')[] {
  switch (spec.kind) {
    case 'vrrp_script':
    case 'notify':
      return ['vrrp'];
    case 'misc_check':
    case 'rs_notify':
    case 'quorum':
      return ['check'];
    case 'startup':
    case 'shutdown':
      return ['startstop'];
    case 'notify_fifo':
      return spec.owner === 'vrrp_notify_fifo_script' ? ['vrrp'] : spec.owner === 'lvs_notify_fifo_script' ? ['check'] : ['vrrp', 'check'];
  }
}

const SUMMARY = {
  vrrp: 'SECURITY VIOLATION - scripts are being executed but script_security not enabled.',
  check: 'SECURITY VIOLATION - check scripts are being executed but script_security not enabled.',
  startstop: 'SECURITY VIOLATION - start/shutdown scripts are being executed but script_security not enabled.',
};

/** The VRRP model fields this file prunes (vrrp.ts), read structurally. */
interface TrackHolder {
  trackScript?: { name: string }[];
}

/**
 * What keepalived does at `-t` with every script in `cfg.scripts`: set the default user
 * where none was given, find each script and check it can be run safely, drop the ones that
 * cannot, and report when scripts would run without enable_script_security (exit 6).
 */
export function finishScripts(cfg: Config, c: Ctx): void {
  const security = scriptSecurity(cfg);
  const flagsBySub = { vrrp: 0, check: 0, startstop: 0 };
  const vrrp = cfg.vrrp as unknown as { instances?: TrackHolder[]; syncGroups?: TrackHolder[]; checked?: boolean };
  const lvs = cfg.lvs as unknown as { virtualServers?: unknown[]; checkedOnly?: number };
  const active = {
    // keepalived's VRRP process checks its scripts only when it gets past reading the file
    vrrp: (vrrp.instances?.length ?? 0) > 0 && vrrp.checked !== false,
    check: (lvs.virtualServers?.length ?? 0) + (lvs.checkedOnly ?? 0) > 0,
    startstop: true,
  };
  const insecureTrack = new Set<string>();

  for (const spec of cfg.scripts) {
    if (spec.disabled) continue;
    if (!applyDefaultUser(c, cfg, spec)) {
      spec.disabled = true;
      if (spec.kind === 'vrrp_script') {
        c.diags.error('HC_SCRIPT_DEFAULT_USER', `Unable to set default user for vrrp script ${spec.owner} - removing`, spec.loc, ErrClass.GENERAL_ERROR);
        insecureTrack.add(spec.owner);
      } else if (spec.kind === 'misc_check') {
        c.diags.error('HC_SCRIPT_DEFAULT_USER', `Unable to set default user for misc script ${cmdStr(spec.argv)} - removing`, spec.loc, ErrClass.GENERAL_ERROR);
      } else logged(c, spec.loc, `Failed to set default user for ${typeName(spec.kind)} script ${spec.argv[0]} - ignoring`);
      continue;
    }
    const subs = subsystems(spec).filter((s) => active[s]);
    if (subs.length === 0) continue;
    const flags = checkScript(c, spec, security);
    for (const s of subs) flagsBySub[s] |= flags;
    const unusable = (flags & (SC_INHIBIT | SC_NOTFOUND)) !== 0 || (flags & (SC_EXECUTABLE | SC_SYSTEM)) === 0;
    if (!unusable) continue;
    spec.disabled = true;
    if (spec.kind === 'vrrp_script') {
      insecureTrack.add(spec.owner);
      if (flags & SC_INHIBIT) c.diags.error('HC_SCRIPT_DISABLED', `Disabling track script ${spec.owner} due to insecure`, spec.loc, ErrClass.GENERAL_ERROR);
      else if (flags & SC_NOTFOUND) c.diags.error('HC_SCRIPT_DISABLED', `Disabling track script ${spec.owner} since not found/accessible`, spec.loc, ErrClass.GENERAL_ERROR);
    } else if (spec.kind === 'misc_check') {
      if (flags & SC_INHIBIT) logged(c, spec.loc, `Disabling misc script ${cmdStr(spec.argv)} due to insecure`);
      else if (flags & SC_NOTFOUND) logged(c, spec.loc, `Disabling misc script ${cmdStr(spec.argv)} since not found/accessible`);
    }
  }

  // a dropped vrrp_script is no longer tracked by anyone (keepalived removes it silently)
  if (insecureTrack.size) {
    for (const h of [...(vrrp.instances ?? []), ...(vrrp.syncGroups ?? [])]) {
      if (h.trackScript) h.trackScript = h.trackScript.filter((t) => !insecureTrack.has(t.name));
    }
  }

  if (security) return;
  const first = (sub: keyof typeof SUMMARY): Loc | undefined => cfg.scripts.find((s) => subsystems(s).includes(sub))?.loc;
  for (const sub of ['vrrp', 'check', 'startstop'] as const) {
    if (!active[sub] || !(flagsBySub[sub] & SC_ISSCRIPT)) continue;
    c.diags.error(
      'HC_SCRIPT_SECURITY',
      SUMMARY[sub] + (flagsBySub[sub] & SC_INSECURE ? ' There are insecure scripts.' : ''),
      first(sub),
      ErrClass.SECURITY_ERROR,
      "add 'enable_script_security' to global_defs, and run scripts as a non-root user (script_user, or a user after the script)",
    );
  }
}
