// The toolkit every block handler uses: read an argument as keepalived reads it, and
// report with keepalived's wording and class at the statement's location.

import { Diagnostics, ErrClass, didYouMean, type Loc } from '../diagnostics.js';
import { splitWords, type Stmt } from '../parse.js';
import type { Environment } from '../env.js';

/** A keyword handler: reads statement `s` into the block object `t`. */
export type Handler<T> = (s: Stmt, t: T, c: Ctx) => void;

/**
 * A keyword block's table. `keywords` are what keepalived accepts in the block;
 * `unsupported` are keywords hacheck parses but does not implement (reported as a note,
 * never silently dropped).
 */
export interface BlockSpec<T> {
  /** name used in messages, e.g. "vrrp_instance" */
  name: string;
  keywords: Record<string, Handler<T>>;
  /** keywords accepted by keepalived whose feature hacheck does not implement */
  unsupported?: Record<string, string>;
}

export class Ctx {
  constructor(
    readonly diags: Diagnostics,
    readonly env: Environment,
    /**
     * Only the messages are wanted (`-t`): a block whose model no later block can change
     * (a virtual_server without group, BFD_CHECK or FILE_CHECK) is checked in full and
     * then not kept.
     */
    readonly checkOnly = false,
  ) {}

  /** Where word `word` of `s` is (0 = the keyword); the statement's place if it has no such word. */
  loc(s: Stmt, word = 0): Loc {
    const loc = s.loc;
    if (word === 0) return loc;
    const w = wordCols(s)[word];
    return w === undefined ? loc : { file: loc.file, line: loc.line, col: w };
  }

  error(s: Stmt, message: string, word = 0, cls: ErrClass = ErrClass.GENERAL_ERROR, code = 'HC_CONFIG_INVALID', hint?: string): void {
    this.diags.error(code, message, this.loc(s, word), cls, hint);
  }

  warning(s: Stmt, message: string, word = 0, cls: ErrClass = ErrClass.WARNING, code = 'HC_CONFIG_WARNING', hint?: string): void {
    this.diags.warning(code, message, this.loc(s, word), cls, hint);
  }

  note(s: Stmt, message: string, word = 0, code = 'HC_CONFIG_NOTE', hint?: string): void {
    this.diags.note(code, message, this.loc(s, word), hint);
  }

  /**
   * Argument `i` (1 = first after the keyword). Missing → keepalived's missing-parameter
   * message (exit code 2).
   */
  arg(s: Stmt, i: number): string | undefined {
    if (i <= s.args.length) return s.args[i - 1];
    this.missing(s, i);
    return undefined;
  }

  missing(s: Stmt, i: number): void {
    const prev: string | undefined = i - 1 === 0 ? s.kw : s.args[i - 2];
    this.diags.error(
      'HC_CONFIG_MISSING_PARAMETER',
      `*** Configuration line starting \`${s.kw}\` is missing a parameter after keyword \`${prev}\` at word position ${i + 1}`,
      { file: s.loc.file, line: s.loc.line, col: prev === undefined ? s.loc.col + s.kw.length + 1 : this.loc(s, i - 1).col + prev.length + 1 },
      ErrClass.MISSING_PARAMETER,
    );
  }

  /** keepalived read_unsigned_strvec: decimal, range-checked. */
  uint(s: Stmt, i: number, min: number, max: number): number | undefined {
    const v = this.arg(s, i);
    if (v === undefined) return undefined;
    return this.uintOf(s, i, v, min, max);
  }

  uintOf(s: Stmt, i: number, v: string, min: number, max: number): number | undefined {
    // the common word, plain digits, needs no pattern
    if (isDigits(v)) {
      const n = Number(v);
      if (n <= 4294967295 && n >= min && n <= max) return n;
    }
    if (/^-/.test(v.trim())) {
      this.error(s, `negative number '${v}'`, i, ErrClass.INVALID_NUMBER, 'HC_CONFIG_NUMBER');
      return undefined;
    }
    if (!/^\s*\+?[0-9]+\s*$/.test(v)) {
      this.error(s, `invalid number '${v}'`, i, ErrClass.INVALID_NUMBER, 'HC_CONFIG_NUMBER');
      return undefined;
    }
    const n = Number(v);
    if (n > 4294967295) {
      this.error(s, `number '${v}' outside unsigned integer range`, i, ErrClass.INVALID_NUMBER, 'HC_CONFIG_NUMBER');
      return undefined;
    }
    if (n < min || n > max) {
      this.error(s, `number '${v}' outside range [${min}, ${max}]`, i, ErrClass.INVALID_NUMBER, 'HC_CONFIG_NUMBER');
      return undefined;
    }
    return n;
  }

  /** keepalived read_int_strvec: signed decimal, range-checked. */
  int(s: Stmt, i: number, min: number, max: number): number | undefined {
    const v = this.arg(s, i);
    if (v === undefined) return undefined;
    if (!/^\s*[-+]?[0-9]+\s*$/.test(v)) {
      this.error(s, `invalid number '${v}'`, i, ErrClass.INVALID_NUMBER, 'HC_CONFIG_NUMBER');
      return undefined;
    }
    const n = Number(v);
    if (n < -2147483648 || n > 2147483647) {
      this.error(s, `number '${v}' outside integer range`, i, ErrClass.INVALID_NUMBER, 'HC_CONFIG_NUMBER');
      return undefined;
    }
    if (n < min || n > max) {
      this.error(s, `number '${v}' outside range [${min}, ${max}]`, i, ErrClass.INVALID_NUMBER, 'HC_CONFIG_NUMBER');
      return undefined;
    }
    return n;
  }

  /**
   * keepalived read_timer / read_decimal_unsigned: seconds with up to 6 decimals
   * (micro-second resolution). Returns micro-seconds. min/max in seconds.
   */
  timerUs(s: Stmt, i: number, minS: number, maxS: number): number | undefined {
    const v = this.arg(s, i);
    if (v === undefined) return undefined;
    return this.decimal(s, i, v, minS, maxS, 6);
  }

  /** A decimal with at most `places` decimal places, scaled by 10^places. */
  decimal(s: Stmt, i: number, v: string, min: number, max: number, places: number): number | undefined {
    if (/^\s*-/.test(v)) {
      this.error(s, `negative number '${v}'`, i, ErrClass.INVALID_NUMBER, 'HC_CONFIG_NUMBER');
      return undefined;
    }
    const m = /^\s*\+?([0-9]*)(?:\.([0-9]*))?\s*$/.exec(v);
    if (!m || (m[1] === '' && (m[2] ?? '') === '')) {
      this.error(s, `invalid number '${v}'`, i, ErrClass.INVALID_NUMBER, 'HC_CONFIG_NUMBER');
      return undefined;
    }
    const frac = m[2] ?? '';
    if (frac.replace(/0+$/, '').length > places) {
      this.error(s, `number '${v}' has too many decimal places`, i, ErrClass.INVALID_NUMBER, 'HC_CONFIG_NUMBER');
      return undefined;
    }
    const scale = 10 ** places;
    const n = Number(m[1] || '0') * scale + Number((frac + '0'.repeat(places)).slice(0, places) || '0');
    if (!Number.isSafeInteger(n)) {
      this.error(s, `number '${v}' outside unsigned decimal range`, i, ErrClass.INVALID_NUMBER, 'HC_CONFIG_NUMBER');
      return undefined;
    }
    if (n < min * scale || n > max * scale) {
      this.error(s, `number '${v}' outside range [${fmtDec(min, places)}, ${fmtDec(max, places)}]`, i, ErrClass.INVALID_NUMBER, 'HC_CONFIG_NUMBER');
      return undefined;
    }
    return n;
  }

  /**
   * keepalived's optional <BOOL>: no argument means true; on|off|true|false|yes|no.
   */
  bool(s: Stmt, i = 1): boolean | undefined {
    if (s.args.length < i) return true;
    const v = s.args[i - 1];
    if (v === 'true' || v === 'on' || v === 'yes') return true;
    if (v === 'false' || v === 'off' || v === 'no') return false;
    this.error(s, `Invalid value '${v}' for ${s.kw} - must be on|off|true|false|yes|no`, i, ErrClass.GENERAL_ERROR, 'HC_CONFIG_BOOL');
    return undefined;
  }

  /** Run a keyword block: each statement through the table; unknown keywords reported. */
  walk<T>(stmts: Stmt[] | undefined, spec: BlockSpec<T>, target: T): void {
    if (!stmts) return;
    for (const s of stmts) this.dispatch(s, spec, target);
  }

  dispatch<T>(s: Stmt, spec: BlockSpec<T>, target: T): void {
    const h = handlers(spec).get(s.kw);
    if (h) {
      h(s, target, this);
      return;
    }
    const why = spec.unsupported && Object.hasOwn(spec.unsupported, s.kw) ? spec.unsupported[s.kw] : undefined;
    if (why !== undefined) {
      this.note(s, `'${s.kw}' is accepted but not implemented by hacheck${why ? `: ${why}` : ''}`, 0, 'HC_CONFIG_UNSUPPORTED');
      return;
    }
    const suggestion = didYouMean(s.kw, [...Object.keys(spec.keywords), ...Object.keys(spec.unsupported ?? {})]);
    this.diags.error('HC_CONFIG_UNKNOWN_KEYWORD', `Unknown keyword '${s.kw}'`, this.loc(s), ErrClass.UNKNOWN_KEYWORD);
    if (suggestion) this.diags.note('HC_CONFIG_DID_YOU_MEAN', `did you mean '${suggestion}'? (in ${spec.name})`, this.loc(s));
  }
}

/**
 * A block's keyword table as a Map, made on first use (the tables are complete once their
 * modules are loaded). Only its own keywords: `toString` or `hasOwnProperty` in a block
 * is an unknown keyword, not Object.prototype's method called as a handler. And a Map
 * finds a keyword read from the file (a new string each line) without making V8 look
 * it up among its property names first.
 */
const handlerMaps = new WeakMap<object, Map<string, Handler<never>>>();
function handlers<T>(spec: BlockSpec<T>): Map<string, Handler<T>> {
  let m = handlerMaps.get(spec);
  if (!m) handlerMaps.set(spec, (m = new Map(Object.entries(spec.keywords))));
  return m as Map<string, Handler<T>>;
}

/** v is one or more ASCII digits */
export function isDigits(v: string): boolean {
  const n = v.length;
  if (!n) return false;
  for (let k = 0; k < n; k++) {
    const ch = v.charCodeAt(k);
    if (ch < 48 || ch > 57) return false;
  }
  return true;
}

/** Columns of a statement's words, found again from its line (only messages need them). */
function wordCols(s: Stmt): number[] {
  const words = splitWords(s.raw, 0);
  const first = words[0]?.col ?? 0;
  return words.map((w) => s.loc.col + w.col - first);
}

function fmtDec(v: number, places: number): string {
  return places ? v.toFixed(places) : String(v);
}

/** The rest of a statement's raw line after the keyword: for script command lines. */
export function restOfLine(s: Stmt): string {
  const kwEnd = s.raw.indexOf(s.kw) + s.kw.length;
  return s.raw.slice(kwEnd).trim();
}
