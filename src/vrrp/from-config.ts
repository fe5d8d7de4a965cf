/**
 * The config model's vrrp_instance (src/config/model/vrrp.ts, what keepalived.conf says, with
 * keepalived's defaults already applied) mapped onto the pure VRRP core's instance parameters
 * (src/vrrp/types.ts). Pure: run-time facts (the interface's primary address) come in `env`.
 */
import type { Config } from '../config/model/types.js';
import type { VrrpInstanceConfig as ModelInstance, Tracked } from '../config/model/vrrp.js';
import type { TrackedObject, TrackKind, VrrpInstanceConfig } from './types.js';

export interface InstanceEnv {
  /** The interface's primary address for the instance's family (IPv4 primary / IPv6 link-local). */
  primaryAddress?: string;
}

function tracked(kind: TrackKind, list: readonly Tracked[], ownWeight: (name: string) => { weight: number; reverse: boolean } | undefined): TrackedObject[] {
  return list.map((t) => {
    const own = ownWeight(t.name);
    // keepalived: a track_script/track_file/track_process line without `weight` uses the
    // object's own weight; interfaces and BFDs default to 0 (unweighted: FAULT on failure).
    const weight = t.weight ?? own?.weight ?? 0;
    const reverse = t.weight !== undefined ? !!t.reverse : (own?.reverse ?? false) !== !!t.reverse;
    return { kind, name: t.name, weight, reverse };
  });
}

/** The core parameters of one configured (not removed) vrrp_instance. */
export function coreInstanceConfig(cfg: Config, inst: ModelInstance, env: InstanceEnv = {}): VrrpInstanceConfig {
  const g = cfg.global;
  const scripts = new Map(cfg.vrrp.scripts.map((s) => [s.name, s]));
  const files = new Map(cfg.vrrp.trackFiles.map((f) => [f.name, f]));
  const procs = new Map(cfg.vrrp.trackProcesses.map((p) => [p.name, p]));
  const own = <T extends { weight: number; weightReverse: boolean }>(m: Map<string, T>) => (name: string) => {
    const o = m.get(name);
    return o ? { weight: o.weight, reverse: o.weightReverse } : undefined;
  };
  const family = inst.family;
  const mcastGroup = inst.mcastDstIp ?? (family === 'inet' ? g.vrrpMcastGroup4 : g.vrrpMcastGroup6);
  return {
    name: inst.name,
    vrid: inst.vrid ?? 0,
    version: family === 'inet6' ? 3 : inst.version,
    family,
    interface: inst.interface ?? 'eth0',
    dontTrackPrimary: inst.dontTrackPrimary,
    priority: inst.priority,
    advertIntervalCs: inst.advertIntervalCs,
    nopreempt: inst.nopreempt,
    preemptDelayMs: inst.preemptDelayMs,
    authType: inst.version === 3 || !inst.auth ? 'NONE' : inst.auth.type,
    authPass: inst.auth?.pass ?? '',
    // Only addresses of the instance's family go in the advert (RFC 5798 §5.2.9).
    vips: inst.vips.filter((v) => v.family === family).map((v) => v.address),
    unicastPeers: inst.unicastPeers.map((p) => ({ address: p.address, minTtl: p.minTtl, maxTtl: p.maxTtl })),
    checkUnicastSrc: inst.checkUnicastSrc,
    primaryAddress: inst.srcIp ?? env.primaryAddress,
    mcastGroup,
    tracked: [
      ...tracked('interface', inst.trackInterface, () => undefined),
      ...tracked('script', inst.trackScript, own(scripts)),
      ...tracked('file', inst.trackFile, own(files)),
      ...tracked('process', inst.trackProcess, own(procs)),
      ...tracked('bfd', inst.trackBfd, () => undefined),
    ],
    garpMasterDelayMs: inst.garpMasterDelayMs,
    garpMasterRepeat: inst.garpMasterRepeat,
    garpMasterRefreshMs: inst.garpMasterRefreshMs,
    garpMasterRefreshRepeat: inst.garpMasterRefreshRepeat,
    garpLowerPrioDelayMs: inst.garpLowerPrioDelayMs,
    garpLowerPrioRepeat: inst.garpLowerPrioRepeat,
    downTimerAdverts: inst.downTimerAdverts,
    lowerPrioNoAdvert: inst.lowerPrioNoAdvert,
    higherPrioSendAdvert: inst.higherPrioSendAdvert,
    v3ChecksumAsV2: g.v3ChecksumAsV2,
    unicastChecksumCompat: 'none',
    skipCheckAdvAddr: inst.skipCheckAdvAddr,
  };
}

/** Instances keepalived would run: not removed, with a VRID. */
export function runnableInstances(cfg: Config): ModelInstance[] {
  return cfg.vrrp.instances.filter((i) => !i.removed && i.vrid !== undefined);
}
