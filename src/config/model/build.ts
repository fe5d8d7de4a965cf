// Parse tree → typed, validated model. Top-level keywords are dispatched to their block
// family (global.ts, vrrp.ts, lvs.ts, bfd.ts); each family reads its blocks with the
// keyword tables and Ctx readers (context.ts), and checks what spans blocks in its
// finish step (references between blocks, interfaces that must exist, scripts).

import { Ctx, type BlockSpec } from './context.js';
import type { Stmt } from '../parse.js';
import type { Config } from './types.js';
import { newConfig } from './types.js';
import { globalTop, finishGlobal } from './global.js';
import { vrrpTop, finishVrrp } from './vrrp.js';
import { lvsTop, finishLvs } from './lvs.js';
import { bfdTop, finishBfd } from './bfd.js';
import { finishScripts } from './scripts.js';

/** The top level: every block family's root keywords. */
const top: BlockSpec<Config> = {
  name: 'top level',
  keywords: { ...globalTop, ...vrrpTop, ...lvsTop, ...bfdTop },
};

/**
 * Builds the model one top-level statement at a time (`add`, fed by the parser as each
 * is complete), then checks what spans blocks (`finish`).
 */
export class ModelBuilder {
  readonly cfg = newConfig();
  constructor(private readonly c: Ctx) {}
  readonly add = (s: Stmt): void => this.c.dispatch(s, top, this.cfg);
  finish(): Config {
    finishModel(this.cfg, this.c);
    return this.cfg;
  }
}

export function buildModel(stmts: Stmt[], c: Ctx): Config {
  const b = new ModelBuilder(c);
  for (const s of stmts) b.add(s);
  return b.finish();
}

function finishModel(cfg: Config, c: Ctx): void {
  finishGlobal(cfg, c);
  finishBfd(cfg, c);
  finishVrrp(cfg, c);
  finishLvs(cfg, c);
  finishScripts(cfg, c);
}
