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

export function buildModel(stmts: Stmt[], c: Ctx): Config {
  const cfg = newConfig();
  c.walk(stmts, top, cfg);
  finishGlobal(cfg, c);
  finishBfd(cfg, c);
  finishVrrp(cfg, c);
  finishLvs(cfg, c);
  finishScripts(cfg, c);
  return cfg;
}
