// The typed model of a keepalived.conf: what the VRRP, checker and IPVS layers consume.
// Each block family defines its own part (global.ts, vrrp.ts, lvs.ts, bfd.ts).

import type { GlobalDefs, StaticConfig } from './global.js';
import type { VrrpConfig } from './vrrp.js';
import type { LvsConfig } from './lvs.js';
import type { BfdConfig } from './bfd.js';
import type { ScriptSpec } from './scripts.js';
import { newGlobalDefs, newStaticConfig } from './global.js';
import { newVrrpConfig } from './vrrp.js';
import { newLvsConfig } from './lvs.js';
import { newBfdConfig } from './bfd.js';

export interface Config {
  global: GlobalDefs;
  static: StaticConfig;
  vrrp: VrrpConfig;
  lvs: LvsConfig;
  bfd: BfdConfig;
  /** every script the configuration would run, for the script-security check */
  scripts: ScriptSpec[];
}

export function newConfig(): Config {
  return {
    global: newGlobalDefs(),
    static: newStaticConfig(),
    vrrp: newVrrpConfig(),
    lvs: newLvsConfig(),
    bfd: newBfdConfig(),
    scripts: [],
  };
}
