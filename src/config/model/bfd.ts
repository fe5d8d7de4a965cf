// BFD CONFIGURATION (keepalived.conf(5)): bfd_instance NAME { … } — a BFD session
// (RFC 5880; single hop RFC 5881, multihop RFC 5883) that vrrp_instances (track_bfd)
// and real servers (BFD_CHECK) can follow.
//
// hacheck reads and checks bfd_instance blocks as keepalived's BFD process does
// (keepalived/bfd/bfd_parser.c, bfd_data.c) but does not run BFD yet: every instance
// gets a note saying so.

import { ErrClass, type Loc } from '../diagnostics.js';
import type { Stmt } from '../parse.js';
import type { BlockSpec, Ctx, Handler } from './context.js';
import type { Config } from './types.js';
import { parseSockAddr, type Family } from './checkers.js';

export interface BfdInstance {
  name: string;
  /** neighbor_ip / neighbour_ip (required) */
  neighborIp?: string;
  family?: Family;
  /** UDP port of the neighbour: 3784 (RFC 5881), 4784 with multihop (RFC 5883) */
  neighborPort: number;
  /** source_ip */
  sourceIp?: string;
  /** min_rx / min_tx / idle_tx in ms (3 decimals); defaults 10, 10, 1000 */
  minRxMs: number;
  minTxMs: number;
  idleTxMs: number;
  /** multiplier 1..255; default 5 */
  multiplier: number;
  /** passive: wait for the neighbour to start */
  passive: boolean;
  /** ttl / hoplimit 1..255; default 255 (IPv4) / 64 (IPv6) */
  ttl: number;
  /** max_hops -1..255; default 0 */
  maxHops: number;
  /** multihop (RFC 5883) */
  multihop: boolean;
  /** weight -253..253 for tracking vrrp_instances (vrrp process); default 0 */
  weight: number;
  weightReverse: boolean;
  /** which processes follow it: `vrrp` / `checker` keywords; neither = both */
  vrrp: boolean;
  checker: boolean;
  /** false when keepalived's BFD process disables the instance (it stays known to the checker and vrrp processes) */
  enabled: boolean;
  loc: Loc;
}

export interface BfdConfig {
  instances: BfdInstance[];
}

export function newBfdConfig(): BfdConfig {
  return { instances: [] };
}

/** BFD_CONTROL_PORT / BFD_MULTIHOP_CONTROL_PORT */
const BFD_PORT = 3784;
const BFD_MULTIHOP_PORT = 4784;
/** BFD_INAME_MAX - 1 */
const NAME_MAX = 31;
const UINT32_MAX_MS = Math.floor(4294967295 / 1000);

interface Draft {
  b: BfdInstance;
  /** "neighbor" or "neighbour", as the user spelled it (keepalived's messages follow) */
  nbr: string;
  /** `vrrp` / `checker` given */
  events: Set<'vrrp' | 'checker'>;
  ttlSet: boolean;
}

function interval(field: 'minRxMs' | 'minTxMs' | 'idleTxMs', kw: string, min: number): Handler<Draft> {
  return (s, t, c) => {
    const v = c.arg(s, 1);
    if (v === undefined) return;
    const n = c.decimal(s, 1, v, min, UINT32_MAX_MS, 3);
    if (n === undefined) {
      return c.error(s, `Configuration error: BFD instance ${t.b.name} ${kw} value ${v} is not valid (must be in range [${min}-${UINT32_MAX_MS}]), ignoring`, 1);
    }
    t.b[field] = n / 1000;
    if (n > 10000 * 1000) c.note(s, `Configuration warning: BFD instance ${t.b.name} ${kw} value ${v} is larger than max sensible (10000)`, 1);
  };
}

const neighbor: Handler<Draft> = (s, t, c) => {
  const v = c.arg(s, 1);
  if (v === undefined) return;
  if (s.kw === 'neighbour_ip') t.nbr = 'neighbour';
  const a = parseSockAddr(v);
  if (!a) {
    c.error(s, `Configuration error: BFD instance ${t.b.name} has malformed ${t.nbr} address ${v}, ignoring instance`, 1);
    t.b.enabled = false;
    return;
  }
  t.b.neighborIp = a.ip;
  t.b.family = a.family;
};

const bfdSpec: BlockSpec<Draft> = {
  name: 'bfd_instance',
  keywords: {
    neighbor_ip: neighbor,
    neighbour_ip: neighbor,
    source_ip(s, t, c) {
      const v = c.arg(s, 1);
      if (v === undefined) return;
      const a = parseSockAddr(v);
      if (!a) return c.error(s, `Configuration error: BFD instance ${t.b.name} has malformed source address ${v}, ignoring`, 1);
      t.b.sourceIp = a.ip;
    },
    min_rx: interval('minRxMs', 'min_rx', 1),
    min_tx: interval('minTxMs', 'min_tx', 1),
    idle_tx: interval('idleTxMs', 'idle_tx', 1000),
    multiplier(s, t, c) {
      const v = c.uint(s, 1, 1, 255);
      if (v === undefined) {
        if (s.args.length) c.error(s, `Configuration error: BFD instance ${t.b.name} multiplier value ${s.args[0]} not valid (must be in range [1-255]), ignoring`, 1);
        return;
      }
      t.b.multiplier = v;
    },
    passive(_s, t) {
      t.b.passive = true;
    },
    ttl: ttl,
    hoplimit: ttl,
    max_hops(s, t, c) {
      const v = c.int(s, 1, -1, 255);
      if (v === undefined) {
        if (s.args.length) c.error(s, `Configuration error: BFD instance ${t.b.name} max_hops value ${s.args[0]} not valid (must be in range [-1-255]), ignoring`, 1);
        return;
      }
      t.b.maxHops = v;
    },
    multihop(s, t, c) {
      if (!s.args.length) t.b.multihop = true;
      else {
        const v = s.args[0];
        if (['true', 'on', 'yes'].includes(v)) t.b.multihop = true;
        else if (['false', 'off', 'no'].includes(v)) t.b.multihop = false;
        else return c.error(s, `Configuration error: BFD instance ${t.b.name} multihop setting not valid - ${v}`, 1);
      }
    },
    weight(s, t, c) {
      const v = c.int(s, 1, -253, 253);
      if (v === undefined) {
        if (s.args.length) c.error(s, `Configuration error: BFD instance ${t.b.name} weight value ${s.args[0]} not valid (must be in range [-253-253]), ignoring`, 1);
      } else t.b.weight = v;
      if (s.args.length >= 2) {
        if (s.args[1] !== 'reverse') c.error(s, `Configuration error: BFD instance ${t.b.name} unknown weight option ${s.args[1]}`, 2);
        else t.b.weightReverse = true;
      }
    },
    vrrp(_s, t) {
      t.events.add('vrrp');
    },
    checker(_s, t) {
      t.events.add('checker');
    },
  },
};

function ttl(s: Stmt, t: Draft, c: Ctx): void {
  const v = c.uint(s, 1, 1, 255);
  if (v === undefined) {
    if (s.args.length) c.error(s, `Configuration error: BFD instance ${t.b.name} ttl/hoplimit value ${s.args[0]} not valid (must be in range [1-255]), ignoring`, 1);
    return;
  }
  t.b.ttl = v;
  t.ttlSet = true;
}

export const bfdTop: Record<string, Handler<Config>> = {
  bfd_instance(s, cfg, c) {
    const name = c.arg(s, 1);
    if (name === undefined) return;
    if (name.length > NAME_MAX) {
      return c.error(s, `Configuration error: BFD instance ${name} name too long (maximum length is ${NAME_MAX} characters) - ignoring`, 1);
    }
    if (cfg.bfd.instances.some((b) => b.name === name)) {
      return c.error(s, `Configuration error: BFD instance ${name} already configured - ignoring`, 1);
    }
    const b: BfdInstance = {
      name,
      neighborPort: BFD_PORT,
      minRxMs: 10,
      minTxMs: 10,
      idleTxMs: 1000,
      multiplier: 5,
      passive: false,
      ttl: 0,
      maxHops: 0,
      multihop: false,
      weight: 0,
      weightReverse: false,
      vrrp: true,
      checker: true,
      enabled: true,
      loc: c.loc(s),
    };
    const d: Draft = { b, nbr: 'neighbor', events: new Set(), ttlSet: false };
    c.walk(s.block, bfdSpec, d);
    if (d.events.size) {
      b.vrrp = d.events.has('vrrp');
      b.checker = d.events.has('checker');
    }
    b.neighborPort = b.multihop ? BFD_MULTIHOP_PORT : BFD_PORT;
    // bfd_end_handler: what the BFD process checks when the block closes
    const err = (m: string): void => {
      c.diags.error('HC_CONFIG_INVALID', m, b.loc, ErrClass.GENERAL_ERROR);
      b.enabled = false;
    };
    if (b.enabled) {
      if (!b.neighborIp) err(`Configuration error: BFD instance ${name} has no ${d.nbr} address set, disabling instance`);
      else if (b.sourceIp && parseSockAddr(b.sourceIp)?.family !== b.family) {
        err(`Configuration error: BFD instance ${name} source address ${b.sourceIp} and ${d.nbr} address ${b.neighborIp} are not of the same family, disabling instance`);
      } else {
        const dup = cfg.bfd.instances.find(
          (o) => o.enabled && o.neighborIp === b.neighborIp && (o.sourceIp ?? '') === (b.sourceIp ?? '') && o.multihop === b.multihop,
        );
        if (dup) {
          err(
            b.sourceIp
              ? `Configuration error: BFD instance ${name} has duplicate source/${d.nbr} address ${b.sourceIp}/${b.neighborIp}, ignoring instance`
              : `Configuration error: BFD instance ${name} has duplicate ${d.nbr} address ${b.neighborIp}, ignoring instance`,
          );
        }
      }
    }
    if (!d.ttlSet || !b.ttl) b.ttl = b.family === 'inet6' ? 64 : 255;
    if (b.enabled && b.maxHops > b.ttl) {
      c.diags.error('HC_CONFIG_INVALID', `BFD instance ${name}: max_hops exceeds ttl/hoplimit - setting to ttl/hoplimit`, b.loc, ErrClass.GENERAL_ERROR);
      b.maxHops = b.ttl;
    }
    c.note(s, "'bfd_instance' is accepted but not implemented by hacheck: BFD sessions are not run yet", 0, 'HC_CONFIG_UNSUPPORTED');
    cfg.bfd.instances.push(b);
  },
};

export function finishBfd(_cfg: Config, _c: Ctx): void {}
