// Line-level pre-processing of keepalived.conf, done before the grammar sees a token
// (keepalived.conf(5): "ADVANCED CONFIGURATION", "include", "Quoted strings").
//
// In keepalived's order for each physical line: comments removed (`!`/`#` outside "…",
// `\#` and `\!` kept literally), multi-line `$NAME= \` definitions collected,
// conditional `@id` / `@^id` against the config-id, `$NAME=value` definitions,
// `~SEQ(…)` / `~SEQx(…)` / `~LST(…)` repetition, `$NAME` / `${NAME}` substitution at use
// time (recursive), then `include` (and includer/m/w/b/a) resolved with glob and brace
// patterns against the including file's folder. Finally each line is split at `{` and
// `}` outside double quotes, so a brace always stands on a logical line of its own.

import { readFileSync, statSync, accessSync, constants as fsc } from 'node:fs';
import { dirname, resolve, basename, isAbsolute } from 'node:path';
import { createRequire } from 'node:module';
import { Diagnostics, ErrClass, SourceMap, type Loc } from './diagnostics.js';
import { mulberry32 } from '../util/prng.js';

/** A logical line: text after pre-processing, and where it came from. */
export interface Line {
  text: string;
  file: string;
  /** 1-based physical line */
  line: number;
  /** 1-based column of text[0] in the physical line (best effort after substitution) */
  col: number;
}

/** Where logical lines go as they are made: text, file, 1-based line and column. */
export type LineSink = (text: string, file: string, line: number, col: number) => void;

/**
 * Where a plain logical line may go instead, its words found while it was checked: the
 * line is src[a, b) (no brace, quote, comment, `$`, `~`, `@`, `\`, NUL, \f, \v or \r; no
 * blank at either end) and word k is src[starts[k], ends[k]). Saves cutting the line
 * out and scanning it a second time; the arrays are reused for the next line.
 */
export type WordSink = (src: string, a: number, b: number, starts: Int32Array, ends: Int32Array, n: number, file: string, line: number, col: number) => void;

export interface PreprocessOptions {
  /** `-i/--config-id`; keepalived's default is the host name up to the first '.' */
  configId: string;
  env?: NodeJS.ProcessEnv;
  /** seed for ${_RANDOM}; keepalived uses `random_seed` or the time */
  randomSeed?: number;
  /** read a file (injectable for tests); must throw like fs.readFileSync */
  readFile?: (path: string) => Buffer;
  /** Stop producing lines past this many (fuzzing and runaway ~SEQ guard). */
  maxLines?: number;
}

// fast-glob is only loaded when an include has a pattern: it is a fifth of start-up time
let fastGlob: typeof import('fast-glob') | undefined;
function globSync(pattern: string, options: import('fast-glob').Options): string[] {
  fastGlob ??= createRequire(import.meta.url)('fast-glob') as typeof import('fast-glob');
  return fastGlob.sync(pattern, options);
}

/** keepalived's MAXBUF (lib/parser.h): longer lines are "line too long - ignoring". */
const MAXBUF = 1024;
const MAX_SUBST_DEPTH = 64;
const MAX_INCLUDE_DEPTH = 64;

interface Definition {
  name: string;
  /** lines of the value; length > 1 for a multi-line definition */
  value: string[];
  multiline: boolean;
  fn?: (params: string[]) => string | undefined;
  minParams?: number;
  maxParams?: number;
  numbersOnly?: boolean;
}

// include[rmwba] variants: keepalived's include_check bits.
const INCLUDE_R = 1;
const INCLUDE_M = 2;
const INCLUDE_W = 4;
const INCLUDE_B = 8;
const INCLUDE_VARIANTS: Record<string, number> = {
  include: 0,
  includer: INCLUDE_R,
  includem: INCLUDE_R | INCLUDE_M,
  includew: INCLUDE_R | INCLUDE_M | INCLUDE_W,
  includeb: INCLUDE_R | INCLUDE_B,
  includea: INCLUDE_R | INCLUDE_M | INCLUDE_B | INCLUDE_W,
};

const DECOMMENT_SPECIAL = /["\\!#]/;

const INCLUDE_CHECK_TYPES: Record<string, number> = { read: INCLUDE_R, match: INCLUDE_M, wildcard_match: INCLUDE_W, brace_match: INCLUDE_B };

/**
 * `include_check [[+|-]read|match|wildcard_match|brace_match…]` applied to the current
 * bits (keepalived's include_check_set): no word means every check; a bare word sets
 * read and that check, +/- add or remove one. `report` gets keepalived's complaints with
 * the word's position (1 = first after the keyword).
 */
export function applyIncludeCheck(bits: number, args: readonly string[], report?: (message: string, word: number) => void): number {
  if (!args.length) return INCLUDE_R | INCLUDE_M | INCLUDE_W | INCLUDE_B;
  for (let i = 0; i < args.length; i++) {
    const w = args[i];
    const op = w[0] === '-' ? -1 : w[0] === '+' ? 1 : 0;
    const name = op ? w.slice(1) : w;
    if (!op) {
      if (i !== 0) {
        report?.(`Duplicate include_check '${w}' specified - ignoring`, i + 1);
        continue;
      }
      bits = 0;
    }
    const f = Object.hasOwn(INCLUDE_CHECK_TYPES, name) ? INCLUDE_CHECK_TYPES[name] : 0;
    if (!f) report?.(`Unknown include_check type '${name}' - ignoring`, i + 1);
    else if (!op) bits = INCLUDE_R | f;
    else if (op > 0) bits |= f;
    else bits &= ~f;
  }
  return bits;
}

/** Remove comments and surrounding blanks; returns [text, continued, leadingBlankCount, unterminatedQuote]. */
export function decomment(raw: string): { text: string; cont: boolean; lead: number; unterminated: boolean } {
  let start = 0;
  while (start < raw.length && (raw.charCodeAt(start) === 32 || raw.charCodeAt(start) === 9)) start++;
  if (!DECOMMENT_SPECIAL.test(raw)) {
    // nothing to remove but blanks at both ends
    let end = raw.length;
    while (end > start && (raw.charCodeAt(end - 1) === 32 || raw.charCodeAt(end - 1) === 9)) end--;
    return { text: start === 0 && end === raw.length ? raw : raw.slice(start, end), cont: false, lead: start, unterminated: false };
  }
  let out = '';
  let quote = false;
  let cont = false;
  let i = start;
  let segStart = start;
  for (; i < raw.length; i++) {
    const c = raw[i];
    if (c === '"') {
      quote = !quote;
    } else if (c === '\\') {
      if (i + 1 < raw.length) {
        const n = raw[i + 1];
        if (!quote && (n === '#' || n === '!')) {
          // `\#` outside quotes is a literal '#'
          out += raw.slice(segStart, i);
          segStart = i + 1;
        }
        i++;
        continue;
      }
      // a trailing '\' continues a multi-line definition
      out += raw.slice(segStart, i);
      segStart = i = raw.length;
      cont = true;
      break;
    } else if (!quote && (c === '!' || c === '#')) {
      break;
    }
  }
  out += raw.slice(segStart, i);
  let end = out.length;
  while (end > 0 && (out[end - 1] === ' ' || out[end - 1] === '\t')) end--;
  out = out.slice(0, end);
  if (cont) out += '\\';
  return { text: out, cont, lead: start, unterminated: quote };
}

export class Preprocessor {
  /** the logical lines, when no sink takes them as they come */
  readonly lines: Line[] = [];
  /** logical lines produced so far */
  private count = 0;
  readonly sources = new SourceMap();
  /** every file read, in order (for reload and for `--dump-config`) */
  readonly files: string[] = [];
  private readonly defs = new Map<string, Definition>();
  private readonly includeStack: string[] = [];
  private includeCheck = 0;
  private readonly random: () => number;
  private readonly readFile: (path: string) => Buffer;
  private readonly maxLines: number;
  private truncated = false;
  /** ~SEQ / ~LST repetitions so far (bounded like the lines they produce) */
  private repetitions = 0;
  /** directory of the file being read: ${_PWD} and the base of relative includes */
  private cwd: string;

  /**
   * @param sink takes each logical line as soon as it is made (the parser, so that a large
   *   configuration is never held as lines); without one, lines are collected in `lines`.
   */
  /** word boundaries of the current plain line, for the WordSink (a line has at most MAXBUF / 2 words) */
  private readonly starts = new Int32Array(MAXBUF);
  private readonly ends = new Int32Array(MAXBUF);

  constructor(
    private readonly diags: Diagnostics,
    private readonly opts: PreprocessOptions,
    private readonly sink?: LineSink,
    private readonly wordSink?: WordSink,
  ) {
    this.random = mulberry32(opts.randomSeed ?? Date.now());
    this.readFile = opts.readFile ?? ((p) => readFileSync(p));
    this.maxLines = opts.maxLines ?? 20_000_000;
    this.cwd = process.cwd();
    const env = opts.env ?? process.env;
    this.setStd('_PWD', () => this.cwd);
    this.setStd('_INSTANCE', () => opts.configId);
    this.setStd('_RANDOM', (p) => {
      let min = 0;
      let max = 32767;
      if (p.length >= 1) min = Number(p[0]);
      if (p.length >= 2) max = Number(p[1]);
      if (min > max) max = min;
      return String(min + Math.floor(this.random() * (max - min + 1)));
    }, 0, 2, true);
    this.setStd('_ENV', (p) => env[p[0]], 1, 1);
    this.defs.set('_HASH', { name: '_HASH', value: ['#'], multiline: false });
    this.defs.set('_BANG', { name: '_BANG', value: ['!'], multiline: false });
  }

  private setStd(name: string, fn: (params: string[]) => string | undefined, minParams = 0, maxParams = 0, numbersOnly = false): void {
    this.defs.set(name, { name, value: [], multiline: false, fn, minParams, maxParams, numbersOnly });
  }

  /**
   * `include_check` read in global_defs: from now on, for the rest of this file and the
   * files it includes (keepalived restores the value when a file ends).
   */
  setIncludeCheck(args: readonly string[]): void {
    this.includeCheck = applyIncludeCheck(this.includeCheck, args);
  }

  /** Read the main config file (keepalived's -f). */
  run(path: string): Line[] {
    const abs = resolve(path);
    this.readOne(abs, undefined, INCLUDE_R);
    return this.lines;
  }

  /** Pre-process text given directly (tests, fuzzing). */
  runText(text: string, file = 'keepalived.conf'): Line[] {
    this.files.push(file);
    this.processFileText(file, text);
    return this.lines;
  }

  private fileError(type: number, message: string, loc: Loc | undefined, includeType: number): void {
    // keepalived's file_config_error(): only an error when the include_check level asks for it.
    if ((this.includeCheck | includeType) & type) {
      this.diags.error('HC_CONFIG_INCLUDE', message, loc, ErrClass.FILE_NOT_FOUND);
      this.diags.includeFailure = true;
    } else {
      this.diags.add({ severity: 'warning', code: 'HC_CONFIG_INCLUDE', message, loc });
    }
  }

  private readOne(abs: string, from: Loc | undefined, includeType: number): void {
    if (this.includeStack.includes(abs)) {
      const chain = [...this.includeStack.slice(this.includeStack.indexOf(abs)), abs].map((f) => basename(f)).join(' -> ');
      this.diags.error('HC_CONFIG_INCLUDE_CYCLE', `include cycle: ${chain} - skipping`, from, ErrClass.GENERAL_ERROR);
      return;
    }
    if (this.includeStack.length >= MAX_INCLUDE_DEPTH) {
      this.diags.error('HC_CONFIG_INCLUDE_DEPTH', `includes nested deeper than ${MAX_INCLUDE_DEPTH} - skipping '${abs}'`, from, ErrClass.GENERAL_ERROR);
      return;
    }
    let st;
    try {
      st = statSync(abs);
    } catch {
      this.fileError(INCLUDE_M, `Config files missing '${abs}'.`, from, includeType);
      return;
    }
    if (!st.isFile() || (st.mode & 0o111) !== 0) {
      this.fileError(INCLUDE_R, `Configuration file '${abs}' is not a regular non-executable file - skipping`, from, includeType);
      return;
    }
    let text: string;
    try {
      accessSync(abs, fsc.R_OK);
      // the bytes are not kept once decoded: for a large file that is its size less in memory
      text = this.readFile(abs).toString('latin1');
    } catch (e) {
      this.fileError(INCLUDE_R, `Configuration file '${abs}' open problem (${(e as Error).message}) - skipping`, from, includeType);
      return;
    }
    const savedCwd = this.cwd;
    const savedCheck = this.includeCheck;
    this.cwd = dirname(abs);
    this.includeStack.push(abs);
    this.files.push(abs);
    try {
      this.processFileText(abs, text);
    } finally {
      this.includeStack.pop();
      this.cwd = savedCwd;
      this.includeCheck = savedCheck;
    }
  }

  private processFileText(file: string, text: string): void {
    this.sources.set(file, text);
    let multiline: Definition | undefined;
    // physical lines are cut one at a time: a large file never exists as an array of lines
    const len = text.length;
    for (let n = 0, at = 0; at < len; n++) {
      if (this.truncated) return;
      let nl = text.indexOf('\n', at);
      if (nl === -1) nl = len;
      let end = nl;
      if (end > at && text.charCodeAt(end - 1) === 13) end--; // CRLF
      const start = at;
      at = nl + 1;
      if (end - start >= MAXBUF) {
        this.diags.error('HC_CONFIG_LINE_TOO_LONG', 'line too long - ignoring', { file, line: n + 1, col: 1 }, ErrClass.GENERAL_ERROR);
        continue;
      }
      if (end === start) {
        multiline = undefined;
        continue;
      }
      // the common line: blanks around words, nothing to remove, nothing to expand
      let a = start;
      while (a < end && (text.charCodeAt(a) === 32 || text.charCodeAt(a) === 9)) a++;
      if (!multiline && a < end) {
        let b = end;
        while (b > a && (text.charCodeAt(b - 1) === 32 || text.charCodeAt(b - 1) === 9)) b--;
        let plain = true;
        let braces = 0;
        let brace = 0;
        // \f \v \r: blanks to the word splitter, not to the trimming here
        let odd = false;
        // the words, found on the way (a word ends at a blank, a brace or the end)
        const starts = this.starts;
        const ends = this.ends;
        let nw = 0;
        let inWord = false;
        for (let k = a; k < b; k++) {
          const ch = text.charCodeAt(k);
          if (ch === 32 || ch === 9 || ch === 123 || ch === 125) {
            if (inWord) {
              ends[nw++] = k;
              inWord = false;
            }
            if (ch > 32) {
              braces++;
              brace = k;
            }
            continue;
          }
          // " \ ! # $ ~ @ and NUL need the full treatment
          if (ch < 48 ? ch === 34 || ch === 33 || ch === 35 || ch === 36 || ch === 0 : ch === 92 || ch === 126 || ch === 64) {
            plain = false;
            break;
          } else if (ch === 12 || ch === 11 || ch === 13) odd = true;
          if (!inWord) {
            starts[nw] = k;
            inWord = true;
          }
        }
        if (plain && !(text.charCodeAt(a) === 105 /* i */ && text.startsWith('include', a))) {
          if (inWord) ends[nw++] = b;
          if (odd || !this.wordSink || braces > 1 || (braces === 1 && brace !== b - 1)) {
            if (braces) this.splitBraces(text, a, b, file, n + 1, 1 - start);
            else this.push(text.slice(a, b), file, n + 1, a - start + 1);
          } else {
            // `words…`, `words… {`, `{` or `}`: the words, then the brace, each a logical line
            if (nw) {
              if (++this.count > this.maxLines) this.truncate({ file, line: n + 1, col: a - start + 1 });
              else this.wordSink(text, a, ends[nw - 1], starts, ends, nw, file, n + 1, a - start + 1);
            }
            if (braces) this.push(text.charCodeAt(brace) === 123 ? '{' : '}', file, n + 1, brace - start + 1);
          }
          continue;
        }
      }
      const raw = text.slice(start, end);
      if (raw.indexOf('\0') !== -1) {
        this.diags.error('HC_CONFIG_NUL', 'configuration appears to have embedded NULs - ignoring line', { file, line: n + 1, col: 1 }, ErrClass.GENERAL_ERROR);
        continue;
      }
      const dc = decomment(raw);
      const loc: Loc = { file, line: n + 1, col: dc.lead + 1 };
      if (dc.unterminated) this.diags.error('HC_CONFIG_QUOTE', `Unterminated quote '${dc.text}'`, { ...loc, col: 1 }, ErrClass.GENERAL_ERROR);
      let t = dc.text;
      if (multiline) {
        // keepalived.conf(5) "Parameter substitution": each line but the last ends with '\'
        if (t.endsWith('\\')) {
          t = t.slice(0, -1).replace(/[ \t]+$/, '');
          if (t.length) multiline.value.push(t);
        } else {
          if (t.length) multiline.value.push(t);
          multiline = undefined;
        }
        continue;
      }
      if (!t.length) continue;
      multiline = this.processLine(t, loc, 0);
    }
  }

  /** Returns the definition being collected when the line starts a multi-line `$NAME= \`. */
  private processLine(t: string, loc: Loc, depth: number): Definition | undefined {
    if (depth > MAX_SUBST_DEPTH) {
      this.diags.error('HC_CONFIG_SUBST_DEPTH', `parameter substitution nested deeper than ${MAX_SUBST_DEPTH} - ignoring line '${t.slice(0, 80)}'`, loc, ErrClass.GENERAL_ERROR);
      return undefined;
    }
    let col = loc.col;
    if (t[0] === '@') {
      // keepalived.conf(5) "Conditional configuration": @id / @^id
      const neg = t[1] === '^';
      const ofs = neg ? 2 : 1;
      const sp = t.slice(ofs).search(/[ \t]/);
      if (sp < 0) return undefined;
      const id = t.slice(ofs, ofs + sp);
      const match = id === this.opts.configId;
      if (match === neg) return undefined;
      const rest = t.slice(ofs + sp);
      const trimmed = rest.replace(/^[ \t]+/, '');
      col += ofs + sp + (rest.length - trimmed.length);
      t = trimmed;
      if (!t.length) return undefined;
    }
    if (t[0] === '$') {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)[ \t]*=/.exec(t);
      if (m) {
        let value = t.slice(m[0].length).replace(/^[ \t]+/, '');
        if (value.endsWith('\\')) {
          value = value.slice(0, -1).replace(/[ \t]+$/, '');
          const def: Definition = { name: m[1], value: value.length ? [value] : [], multiline: true };
          this.defs.set(m[1], def);
          return def;
        }
        this.defs.set(m[1], { name: m[1], value: [value], multiline: false });
        return undefined;
      }
    }
    if (t.startsWith('~SEQ') || t.startsWith('~LST')) {
      this.repeat(t, { ...loc, col }, depth);
      return undefined;
    }
    if (t[0] === '~') return undefined;
    if (t.indexOf('$') !== -1) {
      const expanded = this.substitute(t, { ...loc, col });
      if (expanded) {
        for (let i = 0; i < expanded.length; i++) {
          const d = decomment(expanded[i]);
          if (!d.text.length) continue;
          // a definition made of `@id …` or holding more `$` is processed again
          const again = d.text[0] === '@' || d.text[0] === '~' || d.text[0] === '$' || d.text.indexOf('$') !== -1;
          if (again) this.processLine(d.text, { ...loc, col }, depth + 1);
          else this.emit(d.text, loc, col);
        }
        return undefined;
      }
    }
    this.emit(t, loc, col);
    return undefined;
  }

  /** ~SEQ(var, start, step, end), ~SEQx(…), ~LST(var, v1, v2…) / ~LST({a,b}, {1,2}, …) */
  private repeat(t: string, loc: Loc, depth: number): void {
    const close = t.indexOf(')');
    const open = t.indexOf('(');
    if (open < 0 || close < 0 || close < open) {
      this.diags.error('HC_CONFIG_SEQ', `Invalid ${t.slice(0, 4)} specification '${t}'`, loc, ErrClass.GENERAL_ERROR);
      return;
    }
    const rest = t.slice(close + 1).replace(/^[ \t]+/, '');
    const restLoc = { ...loc, col: loc.col + (t.length - rest.length) };
    const saved = new Map<string, Definition | undefined>();
    const setVar = (name: string, val: string): void => {
      if (!saved.has(name)) saved.set(name, this.defs.get(name));
      this.defs.set(name, { name, value: [val], multiline: false });
    };
    const runBody = (): boolean => {
      // every repetition counts against the line budget, even one that produces nothing
      if (++this.repetitions > this.maxLines) this.truncate(loc);
      if (this.truncated) return false;
      this.processLine(rest, restLoc, depth + 1);
      return !this.truncated;
    };
    if (t.startsWith('~SEQ')) {
      const hex = t[4] === 'x';
      let inner = t.slice(open + 1, close);
      if (inner.indexOf('$') !== -1) inner = (this.substitute(inner, loc) ?? [inner])[0];
      const parts = inner.split(',').map((s) => s.trim());
      const name = parts[0];
      const nums = parts.slice(1).map((s) => Number.parseInt(s, /^-?0x/i.test(s) ? 16 : 10));
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name ?? '') || nums.length < 1 || nums.length > 3 || nums.some((x) => !Number.isFinite(x))) {
        this.diags.error('HC_CONFIG_SEQ', `Invalid ~SEQ specification '${t}'`, loc, ErrClass.GENERAL_ERROR);
        return;
      }
      let start: number, step: number, end: number;
      if (nums.length === 1) {
        end = nums[0];
        step = end < 1 ? -1 : 1;
        start = end < 0 ? -1 : 1;
      } else if (nums.length === 2) {
        [start, end] = nums;
        step = start <= end ? 1 : -1;
      } else {
        [start, step, end] = nums;
        if (!step || (start < end && step < 0) || (start > end && step > 0)) {
          this.diags.error('HC_CONFIG_SEQ', `Invalid ~SEQ values '${t}'`, loc, ErrClass.GENERAL_ERROR);
          return;
        }
      }
      if (hex && (start < 0 || end < 0)) {
        this.diags.error('HC_CONFIG_SEQ', `~SEQx is only valid for positive numbers '${t}'`, loc, ErrClass.GENERAL_ERROR);
        return;
      }
      for (let v = start; step > 0 ? v <= end : v >= end; v += step) {
        setVar(name, hex ? v.toString(16) : String(v));
        if (!runBody()) break;
      }
    } else {
      // ~LST: the variable list may be {a, b}; each value set is {x, y} or a single value
      const inner = t.slice(open + 1);
      const items = splitLstItems(inner);
      if (!items || items.length < 2) {
        this.diags.error('HC_CONFIG_LST', `Invalid ~LST specification '${t}'`, loc, ErrClass.GENERAL_ERROR);
        return;
      }
      const vars = items[0];
      const body = items.rest;
      // the rest of the line after the ~LST(…) close paren
      const values = items.slice(1);
      for (const set of values) {
        if (set.length > vars.length) {
          this.diags.error('HC_CONFIG_LST', `~LST specification has too many values '${t}'`, loc, ErrClass.GENERAL_ERROR);
          return;
        }
      }
      const bodyLoc = { ...loc, col: loc.col + (t.length - body.length) };
      for (const set of values) {
        vars.forEach((v, i) => setVar(v, set[i] ?? ''));
        if (++this.repetitions > this.maxLines) this.truncate(loc);
        if (this.truncated) break;
        this.processLine(body, bodyLoc, depth + 1);
      }
    }
    // keepalived.conf(5): do not rely on a ~SEQ variable after its block
    for (const [k, v] of saved) {
      if (v) this.defs.set(k, v);
      else this.defs.delete(k);
    }
  }

  /**
   * Replace $NAME (followed by blank, ',', ')' or end) and ${NAME} / ${NAME params}.
   * Returns the resulting lines (several for a multi-line definition), or undefined if
   * nothing was replaced. Undefined names stay as they are (keepalived.conf(5)).
   */
  private substitute(t: string, loc: Loc): string[] | undefined {
    let out = '';
    let i = 0;
    let found = false;
    let extra: string[] = [];
    let guard = 0;
    while (i < t.length) {
      const d = t.indexOf('$', i);
      if (d < 0 || d + 1 >= t.length) break;
      out += t.slice(i, d);
      const r = this.matchDefinition(t, d, loc);
      if (!r) {
        out += '$';
        i = d + 1;
        continue;
      }
      if (++guard > 10_000) break;
      found = true;
      const { def, end, params } = r;
      let value: string[];
      if (def.fn) {
        const v = def.fn(params);
        value = [v ?? ''];
      } else value = def.value;
      if (def.multiline && value.length > 0) {
        out += value[0];
        extra = value.slice(1);
        // keepalived: text after a multi-line $NAME stays on its first line
        out += t.slice(end);
        i = t.length;
        break;
      }
      out += value[0] ?? '';
      i = end;
    }
    if (!found) return undefined;
    out += t.slice(i);
    return extra.length ? [out, ...extra] : [out];
  }

  private matchDefinition(t: string, d: number, loc: Loc): { def: Definition; end: number; params: string[] } | undefined {
    let p = d + 1;
    const braces = t[p] === '{';
    if (braces) p++;
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(t.slice(p, p + 256));
    if (!m) return undefined;
    const name = m[0];
    let end = p + name.length;
    let params: string[] = [];
    if (braces) {
      const close = t.indexOf('}', end);
      if (close < 0) return undefined;
      const inner = t.slice(end, close);
      if (inner.length) {
        if (!/^[ \t]+[A-Za-z0-9_ \t]*[A-Za-z0-9_]$/.test(inner)) return undefined;
        params = inner.trim().split(/[ \t]+/);
      }
      end = close + 1;
    } else {
      const c = t[end];
      if (c !== undefined && c !== ' ' && c !== '\t' && c !== ',' && c !== ')') return undefined;
    }
    const def = this.defs.get(name);
    if (!def) return undefined;
    // a multi-line definition can only stand alone on its line
    if (def.multiline) {
      const before = t.slice(0, d).trim();
      if (before.length && !before.startsWith('@')) return undefined;
    }
    if (params.length) {
      if (!def.maxParams) return undefined;
      if (def.numbersOnly && params.some((x) => !/^[0-9]+$/.test(x))) {
        this.diags.error('HC_CONFIG_DEF_PARAMS', `Definition ${def.name} requires numeric parameters only.`, loc, ErrClass.GENERAL_ERROR);
        return undefined;
      }
      if (params.length > def.maxParams || params.length < (def.minParams ?? 0)) {
        this.diags.error('HC_CONFIG_DEF_PARAMS', `Definition ${def.name} requires between ${def.minParams ?? 0} and ${def.maxParams} parameters, ${params.length} specified.`, loc, ErrClass.GENERAL_ERROR);
        return undefined;
      }
    } else if ((def.minParams ?? 0) > 0) {
      return undefined;
    }
    return { def, end, params };
  }

  /** Split at `{` / `}` outside "…" (keepalived read_line), handle include, and record. */
  private emit(t: string, loc: Loc, col: number): void {
    // include FILE / includer|m|w|b|a FILE (checked after substitution, as keepalived's read_line loop does)
    if (t.startsWith('include')) {
      const m = /^(include[rmwba]?)[ \t]+(.*)$/.exec(t);
      if (m) {
        this.include(m[2].trim(), INCLUDE_VARIANTS[m[1]], { ...loc, col });
        return;
      }
    }
    this.splitBraces(t, 0, t.length, loc.file, loc.line, col);
  }

  /**
   * Push t[from, to) as logical lines cut at each `{` and `}` outside "…", each brace a
   * line of its own (keepalived read_line); t[k] is at column col0 + k.
   */
  private splitBraces(t: string, from: number, to: number, file: string, line: number, col0: number): void {
    let start = from;
    let quote = false;
    for (let i = from; i < to; i++) {
      const c = t.charCodeAt(i);
      if (c === 34) quote = !quote;
      else if (!quote && (c === 123 || c === 125)) {
        this.pushTrimmed(t, start, i, file, line, col0);
        this.push(c === 123 ? '{' : '}', file, line, col0 + i);
        start = i + 1;
      }
    }
    this.pushTrimmed(t, start, to, file, line, col0);
  }

  /** t[a, b) without its blanks at both ends, if anything is left */
  private pushTrimmed(t: string, a: number, b: number, file: string, line: number, col0: number): void {
    while (a < b && (t.charCodeAt(a) === 32 || t.charCodeAt(a) === 9)) a++;
    while (b > a && (t.charCodeAt(b - 1) === 32 || t.charCodeAt(b - 1) === 9)) b--;
    if (b > a) this.push(a === 0 && b === t.length ? t : t.slice(a, b), file, line, col0 + a);
  }

  private truncate(loc: Loc): void {
    if (this.truncated) return;
    this.truncated = true;
    this.diags.error('HC_CONFIG_TOO_MANY_LINES', `configuration expands to more than ${this.maxLines} lines - stopping`, loc, ErrClass.FATAL);
  }

  private push(text: string, file: string, line: number, col: number): void {
    if (++this.count > this.maxLines) {
      this.truncate({ file, line, col });
      return;
    }
    if (this.sink) this.sink(text, file, line, col);
    else this.lines.push({ text, file, line, col });
  }


  /**
   * include / includer|m|w|b|a: keepalived (glob(3) with GLOB_BRACE and its own
   * directory callbacks) distinguishes "Config files missing" (a named file or a
   * folder does not exist: an error for includem/w/a, or includeb/a with braces) from
   * "No config files matched" (a wildcard matched nothing: an error for includew/a).
   */
  private include(pattern: string, type: number, loc: Loc): void {
    if (pattern.startsWith('"') && pattern.endsWith('"') && pattern.length >= 2) pattern = pattern.slice(1, -1);
    const base = this.cwd;
    const hasBrace = pattern.includes('{');
    const hasWild = /[*?[]/.test(pattern);
    const missingType = hasBrace ? INCLUDE_B : INCLUDE_M;
    const exists = (p: string): boolean => {
      try {
        statSync(p);
        return true;
      } catch {
        return false;
      }
    };
    let missing = false;
    for (const alt of expandBraces(pattern)) {
      const abs = isAbsolute(alt) ? alt : resolve(base, alt);
      const wild = abs.search(/[*?[]/);
      const fixed = wild < 0 ? abs : dirname(abs.slice(0, wild) + 'x');
      if (!exists(fixed)) missing = true;
    }
    if (missing) {
      this.fileError(missingType, `Config files missing '${pattern}'.`, loc, type);
      if ((this.includeCheck | type) & missingType) return;
    }
    let matches: string[];
    if (!hasBrace && !hasWild) {
      matches = missing ? [] : [isAbsolute(pattern) ? pattern : resolve(base, pattern)];
    } else {
      try {
        matches = globSync(pattern, { cwd: base, absolute: true, onlyFiles: false, dot: false, followSymbolicLinks: true, suppressErrors: true }).sort();
      } catch (e) {
        this.fileError(INCLUDE_R, `Error reading config file(s): glob("${pattern}") failed (${(e as Error).message}), skipping.`, loc, type);
        return;
      }
    }
    if (!matches.length) {
      if (!missing && hasWild && (this.includeCheck | type) & INCLUDE_W) this.fileError(INCLUDE_W, `No config files matched '${pattern}'.`, loc, type);
      return;
    }
    for (const f of matches) this.readOne(f, loc, type);
  }
}

/** csh-style brace expansion: "a/{b,c{d,e}}" → a/b a/cd a/ce */
export function expandBraces(p: string): string[] {
  const open = p.indexOf('{');
  if (open < 0) return [p];
  let depth = 0;
  const parts: string[] = [];
  let last = open + 1;
  for (let i = open; i < p.length; i++) {
    if (p[i] === '{') depth++;
    else if (p[i] === '}') {
      if (--depth === 0) {
        parts.push(p.slice(last, i));
        const pre = p.slice(0, open);
        const post = p.slice(i + 1);
        return parts.flatMap((x) => expandBraces(pre + x + post));
      }
    } else if (p[i] === ',' && depth === 1) {
      parts.push(p.slice(last, i));
      last = i + 1;
    }
  }
  return [p];
}

/** Parse `~LST(` arguments: returns [vars, ...valueSets] with `.rest` = text after ')' */
function splitLstItems(s: string): (string[][] & { rest: string }) | undefined {
  const sets: string[][] = [];
  let i = 0;
  const skip = (): void => {
    while (s[i] === ' ' || s[i] === '\t') i++;
  };
  for (;;) {
    skip();
    if (s[i] === '{') {
      const close = s.indexOf('}', i);
      if (close < 0) return undefined;
      sets.push(s.slice(i + 1, close).split(',').map((x) => x.trim()));
      i = close + 1;
    } else {
      let j = i;
      while (j < s.length && s[j] !== ',' && s[j] !== ')') j++;
      sets.push([s.slice(i, j).trim()]);
      i = j;
    }
    skip();
    if (s[i] === ',') {
      i++;
      continue;
    }
    if (s[i] === ')') {
      i++;
      break;
    }
    return undefined;
  }
  if (!sets.length || sets[0].some((v) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(v))) return undefined;
  const r = sets as string[][] & { rest: string };
  r.rest = s.slice(i).replace(/^[ \t]+/, '');
  return r;
}
