// What the nearley grammar (grammar/*.ne) needs at run time: the token stream it reads
// (the moo lexer of lexer.ts) and the postprocessors that build parse nodes.
//
// Nodes hold token indices, not values: `{k, n, b?}` = keyword token index, number of
// argument tokens that follow it, and the nodes of its block. That keeps a parse
// independent of the words themselves, so one parse serves every chunk with the same
// shape (parse.ts caches them).

import type { Tok } from './lexer.js';

export { lexer, type Tok, type TokType } from './lexer.js';

export interface PNode {
  /** keyword token index */
  k: number;
  /** number of argument tokens after the keyword */
  n: number;
  /** block contents (keyword blocks and list blocks) */
  b?: PNode[];
  /** true for a list block (values, not keywords) */
  list?: boolean;
  /** index of the closing brace */
  e?: number;
}

type D = unknown[];

/** `kw arg… eol` → node; d = [kwTok | [kwTok], args[], eolTok] */
export function stmtNode(d: D): PNode {
  const kw = (Array.isArray(d[0]) ? d[0][0] : d[0]) as Tok;
  return { k: kw.i, n: (d[1] as Tok[]).length };
}

/** `KW arg… eol { items } ` → node; d = [kw, args, eol, lbrace, items, rbrace] */
export function blockNode(d: D): PNode {
  const kw = firstTok(d[0]);
  return { k: kw.i, n: (d[1] as Tok[]).length, b: flat(d[4] as unknown[]), e: (d[5] as Tok).i };
}

export function listBlockNode(d: D): PNode {
  const kw = firstTok(d[0]);
  return { k: kw.i, n: (d[1] as Tok[]).length, b: flat(d[4] as unknown[]), e: (d[5] as Tok).i, list: true };
}

function firstTok(x: unknown): Tok {
  while (Array.isArray(x)) x = x[0];
  return x as Tok;
}

/** Flatten the nested arrays nearley builds for `(A | B):*` into a node list. */
export function flat(x: unknown[]): PNode[] {
  const out: PNode[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) for (const e of v) walk(e);
    else if (v && typeof v === 'object' && 'k' in (v as object)) out.push(v as PNode);
  };
  walk(x);
  return out;
}
