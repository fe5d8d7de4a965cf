// Diagnostics with a location, the way a compiler reports them.
//
// Every message keeps keepalived's own wording where keepalived has one; `cls` is
// keepalived's config_err_t class (lib/parser.h), which decides the `-t` exit code
// exactly as keepalived's config_test_exit() does.

export interface Loc {
  file: string;
  /** 1-based line in `file` */
  line: number;
  /** 1-based column; 0 when the message is about the whole line or file */
  col: number;
}

/** keepalived's config_err_t, in its order (higher value = wins in the final status). */
export enum ErrClass {
  OK = 0,
  FILE_NOT_FOUND,
  BAD_IF,
  FATAL,
  MULTIPLE_FILES,
  UNKNOWN_KEYWORD,
  UNEXPECTED_BOB,
  MISSING_BOB,
  UNEXPECTED_EOB,
  MISSING_EOB,
  UNMATCHED_QUOTE,
  MISSING_PARAMETER,
  INVALID_NUMBER,
  GENERAL_ERROR,
  WARNING,
  DEPRECATED,
  SECURITY_ERROR,
}

export type Severity = 'error' | 'warning' | 'note';

export interface Diagnostic {
  severity: Severity;
  /** stable code, e.g. HC_CONFIG_UNKNOWN_KEYWORD */
  code: string;
  message: string;
  loc?: Loc;
  /** keepalived's class; undefined for hacheck's own advice (notes), which never changes the exit code */
  cls?: ErrClass;
  /** a "did you mean" or how to fix it */
  hint?: string;
}

/** keepalived exit codes for `-t` (lib/scheduler.h, core/main.c config_test_exit). */
export const EXIT = {
  OK: 0,
  /** KEEPALIVED_EXIT_CONFIG: a keyword missing its parameter stops keepalived's parse at once */
  MISSING_PARAMETER: 2,
  /** KEEPALIVED_CHK_EXIT_CONFIG: file not found / bad interface / fatal, and nothing else */
  CONFIG: 4,
  /** KEEPALIVED_CHK_EXIT_CONFIG_TEST: any other error or warning */
  CONFIG_TEST: 5,
  /** KEEPALIVED_CHK_EXIT_CONFIG_TEST_SECURITY, and KEEPALIVED_EXIT_NO_CONFIG for include_check failures */
  SECURITY: 6,
} as const;

export class Diagnostics {
  readonly list: Diagnostic[] = [];
  private readonly seen = new Set<string>();
  /** set when an include_check / includeX failure makes keepalived exit KEEPALIVED_EXIT_NO_CONFIG */
  includeFailure = false;

  add(d: Diagnostic): void {
    // Unlike keepalived (which parses the file once per process), each message appears once.
    const key = `${d.code}\0${d.message}\0${d.loc?.file}\0${d.loc?.line}\0${d.loc?.col}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.list.push(d);
  }

  error(code: string, message: string, loc?: Loc, cls: ErrClass = ErrClass.GENERAL_ERROR, hint?: string): void {
    this.add({ severity: 'error', code, message, loc, cls, hint });
  }

  warning(code: string, message: string, loc?: Loc, cls: ErrClass = ErrClass.WARNING, hint?: string): void {
    this.add({ severity: 'warning', code, message, loc, cls, hint });
  }

  /** hacheck's own advice: printed, never changes the exit code */
  note(code: string, message: string, loc?: Loc, hint?: string): void {
    this.add({ severity: 'note', code, message, loc, hint });
  }

  get hasErrors(): boolean {
    return this.list.some((d) => d.severity === 'error');
  }

  /** The exit code keepalived 2.2.7's `-t` gives for the same findings. */
  exitCode(): number {
    let worst = ErrClass.OK;
    let missingParam = false;
    for (const d of this.list) {
      if (d.cls === undefined) continue;
      if (d.cls === ErrClass.MISSING_PARAMETER) missingParam = true;
      if (d.cls > worst) worst = d.cls;
    }
    if (missingParam) return EXIT.MISSING_PARAMETER;
    if (this.includeFailure && worst !== ErrClass.SECURITY_ERROR) return EXIT.SECURITY;
    switch (worst) {
      case ErrClass.OK:
        return EXIT.OK;
      case ErrClass.FILE_NOT_FOUND:
      case ErrClass.BAD_IF:
      case ErrClass.FATAL:
        return EXIT.CONFIG;
      case ErrClass.SECURITY_ERROR:
        return EXIT.SECURITY;
      default:
        return EXIT.CONFIG_TEST;
    }
  }
}

/**
 * Source text of every file read, for printing the offending line under a message. The
 * text is kept whole and cut into lines only when a message asks for one, so a large
 * configuration costs one string, not one per line.
 */
export class SourceMap {
  private readonly files = new Map<string, { text: string; starts?: number[] }>();
  set(file: string, text: string): void {
    this.files.set(file, { text });
  }
  line(file: string, line: number): string | undefined {
    const f = this.files.get(file);
    if (!f || line < 1) return undefined;
    if (!f.starts) {
      const starts = [0];
      for (let i = f.text.indexOf('\n'); i !== -1; i = f.text.indexOf('\n', i + 1)) starts.push(i + 1);
      f.starts = starts;
    }
    const a = f.starts[line - 1];
    if (a === undefined || a >= f.text.length) return undefined;
    let b = f.starts[line] !== undefined ? f.starts[line] - 1 : f.text.length;
    if (b > a && f.text.charCodeAt(b - 1) === 13) b--;
    return f.text.slice(a, b);
  }
}

/** `file:line:col: severity: message`, then the source line and a caret, like gcc/tsc. */
export function formatDiagnostic(d: Diagnostic, sources?: SourceMap): string {
  const where = d.loc ? `${d.loc.file}:${d.loc.line}${d.loc.col ? `:${d.loc.col}` : ''}: ` : '';
  let out = `${where}${d.severity}: ${d.message}`;
  if (d.loc && sources) {
    const text = sources.line(d.loc.file, d.loc.line);
    if (text !== undefined && text.length <= 500) {
      const shown = text.replace(/\t/g, ' ');
      out += `\n    ${shown}`;
      if (d.loc.col > 0) out += `\n    ${' '.repeat(Math.min(d.loc.col - 1, shown.length))}^`;
    }
  }
  if (d.hint) out += `\n    ${d.severity === 'note' ? '' : 'note: '}${d.hint}`;
  return out;
}

/** Levenshtein distance, for "did you mean". */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  const m = a.length;
  const n = b.length;
  if (Math.abs(m - n) > 3) return Math.abs(m - n);
  let prev = new Array<number>(n + 1);
  let cur = new Array<number>(n + 1);
  for (let j = 0; j <= n; j++) prev[j] = j;
  for (let i = 1; i <= m; i++) {
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[n];
}

export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const limit = Math.max(1, Math.min(3, Math.floor(word.length / 3)));
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= limit ? best : undefined;
}
