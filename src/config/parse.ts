// From pre-processed lines to a parse tree of statements and blocks.
//
// 0. Lines come one at a time from the pre-processor (StmtParser is its sink), and each
//    top-level statement goes to the model as soon as it is complete: nothing of a large
//    configuration is held but the chunk being read.
// 1. Each logical line is split into words (keepalived's alloc_strvec_r: "…" groups a
//    word and is removed; a word ends at blank or '"') and made a statement at once.
// 2. The statements and braces are cut into top-level chunks (one top-level keyword
//    with its block); brace balance is checked here with keepalived's messages.
// 3. Each chunk is parsed by the nearley grammar compiled from grammar/*.ne, which reads
//    its tokens from the moo lexer of lexer.ts, fed one logical line at a time. A
//    chunk's shape (token types and block keywords) decides its parse, so parses are
//    cached by shape: 10,000 virtual_servers written alike cost one Earley parse, and
//    only a chunk of a new shape is lexed by moo (the scanner of step 1 follows the same
//    rules without a token object per word: moo on every line cost about 0.1 s more on
//    bench/parse's 390,000 lines). A cached parse only puts the chunk's statements in
//    their blocks.
// 4. A syntax error is recovered from the way keepalived does: the offending statement
//    (and its block) is reported and dropped, and parsing goes on.

import { createRequire } from 'node:module';
import type NearleyModule from 'nearley';
import grammarRules from './generated/grammar.js';
import type { PNode } from './grammar-support.js';
import { lexer as lineLexer, blockKeywords, type TokType } from './lexer.js';
import { Diagnostics, ErrClass, type Loc } from './diagnostics.js';
import type { Line } from './preprocess.js';

// nearley is CommonJS: required, not imported, so Node does not pre-parse its source
// for named exports on every start (a few ms of `hacheck -t`)
const nearley = createRequire(import.meta.url)('nearley') as typeof NearleyModule;

export interface Word {
  text: string;
  /** 1-based column in the physical line */
  col: number;
  quoted: boolean;
}

/**
 * A statement: keyword, arguments, and where it stands. Word columns are not kept (a
 * large configuration has a million words); Ctx.loc() finds them again from `raw` when
 * a message needs one.
 */
export interface Stmt {
  kw: string;
  /** argument values (quotes removed) */
  args: string[];
  /** where the keyword is */
  loc: Loc;
  /** the logical line as written (after pre-processing), for keywords that re-split it */
  raw: string;
  /** block contents, when the keyword opened a block */
  block?: Stmt[];
  /** the block is a list of values (virtual_ipaddress, track_script, …) */
  list?: boolean;
  /** where the block's '}' is */
  end?: Loc;
}

class StmtNode implements Stmt {
  // only a block statement gets these: not a slot in each of a million statements
  declare block?: Stmt[];
  declare list?: boolean;
  /** where the block's '}' is, kept as numbers: a Loc is made only when asked for */
  declare private endFile?: string;
  declare private endLine?: number;
  declare private endCol?: number;
  constructor(
    readonly kw: string,
    readonly args: string[],
    /** the logical line is src[a, b): cut out only when a message or a script needs it */
    private readonly src: string,
    private readonly a: number,
    private readonly b: number,
    private readonly file: string,
    private readonly line: number,
    private readonly col: number,
  ) {}
  get raw(): string {
    return cut(this.src, this.a, this.b);
  }
  get loc(): Loc {
    return { file: this.file, line: this.line, col: this.col };
  }
  get end(): Loc | undefined {
    return this.endFile === undefined ? undefined : { file: this.endFile, line: this.endLine!, col: this.endCol! };
  }
  setBlock(block: Stmt[], list: boolean, endFile?: string, endLine?: number, endCol?: number): void {
    this.block = block;
    if (list) this.list = true;
    if (endFile === undefined) return;
    this.endFile = endFile;
    this.endLine = endLine;
    this.endCol = endCol;
  }
}

function cut(src: string, a: number, b: number): string {
  return a === 0 && b === src.length ? src : src.slice(a, b);
}

const compiled = nearley.Grammar.fromCompiled(grammarRules as unknown as NearleyModule.CompiledRules);

/** Every literal in the grammar is a block keyword (grammar/keepalived.ne). */
export const BLOCK_KEYWORDS: ReadonlySet<string> = (() => {
  for (const r of compiled.rules) for (const sym of r.symbols) if (sym && typeof sym === 'object' && 'literal' in sym) blockKeywords.add(String((sym as { literal: unknown }).literal));
  return blockKeywords;
})();
/** a block keyword's number in the shape key */
const BKW_CODE = new Map([...BLOCK_KEYWORDS].map((k, i) => [k, 0x100 + i]));

/** blank for keepalived's alloc_strvec_r: space, \t, \f, \v, \r */
function isBlank(c: number): boolean {
  return c === 32 || c === 9 || c === 12 || c === 11 || c === 13;
}

/**
 * Split a logical line into words as keepalived's alloc_strvec_r does: "…" groups a
 * word and is removed, a word ends at a blank or '"', and an unmatched '"' ends the line.
 * `onWord` gets each word with its offset in `text`; returns false on an unmatched quote.
 */
function scanWords(text: string, onWord: (w: string, offset: number, quoted: boolean) => void): boolean {
  const n = text.length;
  let i = 0;
  while (i < n) {
    let c = text.charCodeAt(i);
    if (isBlank(c)) {
      i++;
      continue;
    }
    if (c === 34) {
      const close = text.indexOf('"', i + 1);
      if (close === -1) return false;
      onWord(text.slice(i + 1, close), i, true);
      i = close + 1;
      continue;
    }
    const a = i;
    do c = text.charCodeAt(++i);
    while (i < n && !isBlank(c) && c !== 34);
    onWord(text.slice(a, i), a, false);
  }
  return true;
}

/** Split a logical line into words as keepalived's alloc_strvec_r does. */
export function splitWords(text: string, col0: number, onUnmatched?: () => void): Word[] {
  const out: Word[] = [];
  if (!scanWords(text, (w, o, quoted) => out.push({ text: w, col: col0 + o, quoted }))) onUnmatched?.();
  return out;
}

export interface ParseResult {
  stmts: Stmt[];
}

const shapeCache = new Map<string, PNode[]>();
const MAX_CACHE = 50_000;

// A chunk's shape, one UTF-16 code per item: the shape key is made once per chunk
const K_LBRACE = 0x7b;
const K_RBRACE = 0x7d;
/** a statement of n arguments (after its keyword, or after its block keyword's code) */
const K_ARGS = 0x4000;
const K_KW = 0x3fff;

/**
 * Items of the chunk are numbered like this in the tokens nearley reads: item j's first
 * token is j * ITEM_SPAN and its further tokens follow, so the token index a parse node
 * keeps (a keyword's, a brace's) gives back its item, and no two tokens of a chunk share
 * an index (substitution may make a logical line of many more words than MAXBUF allows a
 * physical line; the indices stay exact doubles).
 */
const ITEM_SPAN = 2 ** 24;
const itemOf = (token: number): number => Math.floor(token / ITEM_SPAN);

/**
 * One top-level chunk: its items in order, each a statement (made as its line is read)
 * or a brace (where it stands, in parallel arrays: no object per brace). Only when the
 * chunk's shape is new does nearley see it, through the moo lexer, one logical line at a
 * time. The arrays are reused from chunk to chunk.
 */
class Chunk {
  /** items */
  length = 0;
  /** the statement of each item; undefined for a brace */
  stmt: (StmtNode | undefined)[] = [];
  /** a brace item's character ('{' or '}'), file, line and column */
  brace: string[] = [];
  file: string[] = [];
  line: number[] = [];
  col: number[] = [];
  /** the shape: one or two codes per statement, one per brace */
  private codes: number[] = [];
  private ncodes = 0;
  reset(): void {
    this.length = 0;
    this.ncodes = 0;
  }
  /** a brace */
  addBrace(lbrace: boolean, col: number, file: string, line: number): void {
    const j = this.length++;
    this.stmt[j] = undefined;
    this.brace[j] = lbrace ? '{' : '}';
    this.file[j] = file;
    this.line[j] = line;
    this.col[j] = col;
    this.codes[this.ncodes++] = lbrace ? K_LBRACE : K_RBRACE;
  }
  /** a statement; `bkw` is its block keyword's code */
  statement(bkw: number | undefined, s: StmtNode): void {
    this.stmt[this.length++] = s;
    this.codes[this.ncodes++] = bkw ?? K_KW;
    this.codes[this.ncodes++] = K_ARGS + s.args.length;
  }
  key(): string {
    const c = this.codes;
    const n = this.ncodes;
    if (n <= 4096) return String.fromCharCode.apply(null, n === c.length ? c : c.slice(0, n));
    let k = '';
    for (let a = 0; a < n; a += 4096) k += String.fromCharCode.apply(null, c.slice(a, Math.min(n, a + 4096)));
    return k;
  }
  /** where item j is */
  loc(j: number): Loc {
    const s = this.stmt[j];
    return s ? s.loc : { file: this.file[j], line: this.line[j], col: this.col[j] };
  }
}

/** What the parser may tell its user while a chunk is still being read. */
export interface ParserHooks {
  /**
   * `include_check …` inside global_defs, as soon as its line is read: keepalived
   * applies it to every include after it, even within the same block.
   */
  includeCheck?: (args: string[]) => void;
}

/**
 * Takes logical lines one at a time (a Preprocessor sink) and hands each top-level
 * statement, with its block, to `onStmt` as soon as the next top-level statement (or
 * the end) shows it complete. Only one top-level chunk is ever held.
 */
export class StmtParser {
  private readonly chunk = new Chunk();
  private depth = 0;
  /** inside a stray top-level '{…}' being skipped: its depth */
  private skip = 0;
  /** the last line read, for the missing '}' message at the end */
  private lastFile = '';
  private lastLine = 0;
  private lastCol = 0;
  /** the current line's words, reused */
  private words: string[] = [];
  private offs: number[] = [];
  /** the include_check hook's block: global_defs at the top level */
  private inGlobalDefs = false;

  constructor(
    private readonly diags: Diagnostics,
    private readonly onStmt: (s: Stmt) => void,
    private readonly hooks: ParserHooks = {},
  ) {}

  /** A LineSink. */
  readonly line = (text: string, file: string, line: number, col: number): void => {
    this.lastFile = file;
    this.lastLine = line;
    this.lastCol = col;
    if (this.skip) {
      if (text === '{') this.skip++;
      else if (text === '}') this.skip--;
      return;
    }
    const chunk = this.chunk;
    if (text === '{') {
      if (this.depth === 0 && !chunk.length) {
        this.diags.error('HC_CONFIG_UNEXPECTED_BOB', "Unexpected '{' - ignoring", { file, line, col }, ErrClass.UNEXPECTED_BOB);
        // skip the whole stray block
        this.skip = 1;
        return;
      }
      this.depth++;
      chunk.addBrace(true, col, file, line);
      return;
    }
    if (text === '}') {
      if (this.depth === 0) {
        this.diags.error('HC_CONFIG_UNEXPECTED_EOB', "Extra '}' found", { file, line, col }, ErrClass.UNEXPECTED_EOB);
        return;
      }
      this.depth--;
      chunk.addBrace(false, col, file, line);
      return;
    }
    // scanWords, inlined: this runs for every line of the configuration
    const words = this.words;
    const offs = this.offs;
    let n = 0;
    const len = text.length;
    for (let i = 0; i < len; ) {
      let c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 12 || c === 11 || c === 13) {
        i++;
        continue;
      }
      if (c === 34) {
        const close = text.indexOf('"', i + 1);
        if (close === -1) {
          this.diags.error('HC_CONFIG_QUOTE', `Unmatched quote: '${text}'`, { file, line, col }, ErrClass.UNMATCHED_QUOTE);
          break;
        }
        words[n] = text.slice(i + 1, close);
        offs[n++] = i;
        i = close + 1;
        continue;
      }
      const a = i;
      do c = text.charCodeAt(++i);
      while (i < len && !(c === 32 || c === 9 || c === 12 || c === 11 || c === 13 || c === 34));
      words[n] = a === 0 && i === len ? text : text.slice(a, i);
      offs[n++] = a;
    }
    if (!n) return;
    // a statement at depth 0 starts a new top-level chunk
    if (this.depth === 0) this.flush();
    this.add(new StmtNode(words[0], words.slice(1, n), text, 0, len, file, line, col + offs[0]));
  };

  /**
   * A WordSink: a plain line src[a, b) with its words src[starts[k], ends[k]) already
   * found by the pre-processor (no brace, no quote), so `line` need not scan it again.
   */
  readonly lineWords = (src: string, a: number, b: number, starts: Int32Array, ends: Int32Array, n: number, file: string, line: number, col: number): void => {
    this.lastFile = file;
    this.lastLine = line;
    this.lastCol = col;
    // not a brace line: nothing to do while a stray block is skipped
    if (this.skip) return;
    if (this.depth === 0) this.flush();
    const args = new Array<string>(n - 1);
    for (let k = 1; k < n; k++) args[k - 1] = src.slice(starts[k], ends[k]);
    this.add(new StmtNode(src.slice(starts[0], ends[0]), args, src, a, b, file, line, col + starts[0] - a));
  };

  private add(s: StmtNode): void {
    const chunk = this.chunk;
    const kw = s.kw;
    if (this.depth === 0) this.inGlobalDefs = kw === 'global_defs';
    chunk.statement(BKW_CODE.get(kw), s);
    if (this.depth === 1 && this.inGlobalDefs && kw === 'include_check' && this.hooks.includeCheck) this.hooks.includeCheck(s.args.slice());
  }

  /** The input is over: close what is open and hand out the last chunk. */
  end(): void {
    if (this.depth > 0) {
      this.diags.error('HC_CONFIG_MISSING_EOB', `There are ${this.depth} missing '}'s or extra '{'s`, { file: this.lastFile, line: this.lastLine, col: 0 }, ErrClass.MISSING_EOB);
      for (let i = 0; i < this.depth; i++) this.chunk.addBrace(false, this.lastCol, this.lastFile, this.lastLine);
      this.depth = 0;
    }
    this.flush();
  }

  private flush(): void {
    if (!this.chunk.length) return;
    parseChunk(this.chunk, this.diags, this.onStmt);
    this.chunk.reset();
  }
}

/** Parse collected lines at once (tests; loading uses StmtParser as a line sink). */
export function parseLines(lines: Line[], diags: Diagnostics): ParseResult {
  const stmts: Stmt[] = [];
  const p = new StmtParser(diags, (s) => stmts.push(s));
  for (const l of lines) p.line(l.text, l.file, l.line, l.col);
  p.end();
  return { stmts };
}

/** item just past the '}' matching the '{' at item b */
function blockEnd(c: Chunk, b: number): number {
  let d = 0;
  for (let e = b; e < c.length; e++) {
    const br = c.stmt[e] ? undefined : c.brace[e];
    if (br === '{') d++;
    else if (br === '}' && --d === 0) return e + 1;
  }
  return c.length;
}

function cheapError(): string {
  return 'syntax error';
}

/**
 * Feed one logical line to the parser through the moo lexer, its first token numbered
 * `at` in the chunk; false if the grammar rejects it.
 */
function feed(parser: NearleyModule.Parser, line: string, at: number): boolean {
  lineLexer.index = at;
  try {
    parser.feed(line);
    return true;
  } catch {
    return false;
  }
}

/**
 * Parse one top-level chunk. Statements are fed one at a time with the parser state
 * saved before each, so an error costs one restore, not a re-parse: the offending
 * statement (with its block) is reported the way keepalived reports it and skipped.
 */
function parseChunk(chunk: Chunk, diags: Diagnostics, out: (s: Stmt) => void): void {
  const key = chunk.key();
  let nodes = shapeCache.get(key);
  if (!nodes) {
    const parser = new nearley.Parser(compiled);
    // the error text nearley builds (every expected token, described) is never shown,
    // and costs far more than the parse on error-ridden input
    Object.assign(parser, { reportError: cheapError, reportLexerError: cheapError });
    let clean = true;
    let i = 0;
    // parser state before the previous statement, to drop a block keyword whose '{' is missing
    let beforePrev: { state: ReturnType<NearleyModule.Parser['save']>; at: number } | undefined;
    while (i < chunk.length) {
      const st = chunk.stmt[i];
      const saved = parser.save();
      if (!st) {
        const lbrace = chunk.brace[i] === '{';
        if (feed(parser, chunk.brace[i], i * ITEM_SPAN)) {
          beforePrev = undefined;
          i++;
          continue;
        }
        parser.restore(saved);
        clean = false;
        if (lbrace) {
          diags.error('HC_CONFIG_UNEXPECTED_BOB', "Unexpected '{' - ignoring", chunk.loc(i), ErrClass.UNEXPECTED_BOB);
          i = blockEnd(chunk, i);
        } else {
          diags.error('HC_CONFIG_UNEXPECTED_EOB', "Extra '}' found", chunk.loc(i), ErrClass.UNEXPECTED_EOB);
          i++;
        }
        continue;
      }
      const e = i + 1;
      if (feed(parser, st.raw, i * ITEM_SPAN)) {
        beforePrev = { state: saved, at: i };
        i = e;
        continue;
      }
      parser.restore(saved);
      clean = false;
      // Would the block this statement sits in have wanted a '{' here? keepalived then
      // says the block's '{' is missing; otherwise the keyword is not one of this block's.
      const probe = parser.save();
      const wantedBrace = feed(parser, '{', -1);
      parser.restore(probe);
      if (wantedBrace && beforePrev) {
        // drop the block keyword that has no block; its lines are read in the outer block
        diags.error('HC_CONFIG_MISSING_BOB', "Missing '{' at beginning of configuration block", chunk.loc(i), ErrClass.MISSING_BOB);
        parser.restore(beforePrev.state);
        beforePrev = undefined;
        continue;
      }
      diags.error('HC_CONFIG_UNKNOWN_KEYWORD', `Unknown keyword '${st.kw}'`, chunk.loc(i), ErrClass.UNKNOWN_KEYWORD);
      i = e < chunk.length && !chunk.stmt[e] && chunk.brace[e] === '{' ? blockEnd(chunk, e) : e;
    }
    const results = parser.results;
    if (!results.length) {
      // the chunk ended while its keyword still waits for its '{'
      diags.error('HC_CONFIG_MISSING_BOB', "Missing '{' at beginning of configuration block", chunk.loc(0), ErrClass.MISSING_BOB);
      return;
    }
    nodes = results[0] as PNode[];
    if (clean && shapeCache.size < MAX_CACHE) shapeCache.set(key, nodes);
  }
  for (const n of nodes) out(build(n, chunk));
}

/** The statement of parse node n, with its block. */
function build(n: PNode, c: Chunk): Stmt {
  const s = c.stmt[itemOf(n.k)]!;
  const b = n.b;
  if (b) {
    const block = new Array<Stmt>(b.length);
    for (let i = 0; i < b.length; i++) block[i] = build(b[i], c);
    if (n.e === undefined) s.setBlock(block, n.list === true);
    else {
      const e = itemOf(n.e);
      s.setBlock(block, n.list === true, c.file[e], c.line[e], c.col[e]);
    }
  }
  return s;
}

export type { TokType };
