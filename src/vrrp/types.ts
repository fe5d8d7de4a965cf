/**
 * Instance parameters for the VRRP core. The config model (keepalived.conf `vrrp_instance`
 * blocks plus `global_defs` vrrp_* defaults) is mapped onto this interface; the keepalived
 * keyword for each field is given in its comment.
 */

export type AddressFamily = 'inet' | 'inet6';
export type VrrpVersion = 2 | 3;

/** `authentication { auth_type PASS|AH }`; NONE when there is no authentication block. */
export type AuthType = 'NONE' | 'PASS' | 'AH';

// RFC 3768 §5.3.6 Auth Type field values (RFC 2338 §5.3.6 for AH).
export const AUTH_TYPE_CODE: Readonly<Record<AuthType, number>> = { NONE: 0, PASS: 1, AH: 2 };

/** `unicast_peer { <IPADDR> [min_ttl N] [max_ttl N] }` */
export interface UnicastPeer {
  address: string;
  minTtl?: number;
  maxTtl?: number;
}

export type TrackKind = 'interface' | 'script' | 'file' | 'process' | 'bfd';

/**
 * One entry of `track_interface`, `track_script`, `track_file`, `track_process`, `track_bfd`.
 * weight 0 means "unweighted": a failure puts the instance in FAULT.
 * Weighted interface/script/process/bfd: a positive weight is added while up, a negative weight
 * is added while down; `reverse` flips the sign. Weighted file: value × weight (× -1 if reverse).
 */
export interface TrackedObject {
  kind: TrackKind;
  name: string;
  /** `weight <-253..253>` (files: any integer; the contribution is clamped to -254..253). */
  weight: number;
  /** `reverse` */
  reverse: boolean;
}

/** keepalived `old_unicast_checksum [never]` (VRRPv3 over IPv4 unicast only). */
export type UnicastChecksumCompat =
  | 'none'   // default: RFC pseudo-header, but switch to the old form if a peer uses it
  | 'never'  // `old_unicast_checksum never`: never switch
  | 'config' // `old_unicast_checksum`: always use the old form
  | 'auto';  // switched at run time after receiving an old-form advert

export interface VrrpInstanceConfig {
  /** `vrrp_instance <NAME>`; keepalived logs it as "(NAME)". */
  name: string;
  /** `virtual_router_id` 1..255 */
  vrid: number;
  /** `version` (global `vrrp_version`); IPv6 instances always use 3. */
  version: VrrpVersion;
  family: AddressFamily;
  /** `interface` */
  interface: string;
  /** `dont_track_primary`: faults on `interface` itself do not put the instance in FAULT. */
  dontTrackPrimary: boolean;
  /** `priority` 1..255; 255 = address owner (RFC 3768 §5.3.4). */
  priority: number;
  /** `advert_int` in centiseconds (v2 only allows whole seconds: multiples of 100). */
  advertIntervalCs: number;
  /** `nopreempt` */
  nopreempt: boolean;
  /** `preempt_delay` in ms (keepalived: seconds, 0..1000, resolution µs). */
  preemptDelayMs: number;
  /** `auth_type` */
  authType: AuthType;
  /** `auth_pass` (only the first 8 bytes are used). */
  authPass: string;
  /** `virtual_ipaddress` addresses (without prefix length), in advert order. */
  vips: string[];
  /** `unicast_peer`; empty = multicast. */
  unicastPeers: UnicastPeer[];
  /** `check_unicast_src` (or global `vrrp_check_unicast_src`). */
  checkUnicastSrc: boolean;
  /**
   * Our primary address for this instance: `unicast_src_ip`/`mcast_src_ip`, else the interface's
   * primary address. Used for the equal-priority tie-break (RFC 3768 §6.4.3).
   */
  primaryAddress?: string;
  /** `mcast_dst_ip` (default 224.0.0.18 / ff02::12). */
  mcastGroup?: string;
  /** `track_interface`, `track_script`, `track_file`, `track_process`, `track_bfd` */
  tracked: TrackedObject[];
  /** `garp_master_delay` in ms (global `vrrp_garp_master_delay`, default 5 s); 0 = no second burst. */
  garpMasterDelayMs: number;
  /** `garp_master_repeat` (default 5). */
  garpMasterRepeat: number;
  /** `garp_master_refresh` in ms (default 0 = no periodic refresh). */
  garpMasterRefreshMs: number;
  /** `garp_master_refresh_repeat` (default 1). */
  garpMasterRefreshRepeat: number;
  /** `garp_lower_prio_delay` in ms (default: garp_master_delay). */
  garpLowerPrioDelayMs: number;
  /** `garp_lower_prio_repeat` (default: garp_master_repeat). */
  garpLowerPrioRepeat: number;
  /** `down_timer_adverts` 1..100 (default 3, RFC 3768 §6.1 / RFC 5798 §6.1). */
  downTimerAdverts: number;
  /** `lower_prio_no_advert`: as master, do not answer a lower priority advert with one of ours. */
  lowerPrioNoAdvert: boolean;
  /** `higher_prio_send_advert`: as master, send an advert before yielding to a higher priority. */
  higherPrioSendAdvert: boolean;
  /** `v3_checksum_as_v2`: VRRPv3/IPv4 checksum without the pseudo-header. */
  v3ChecksumAsV2: boolean;
  /** `old_unicast_checksum [never]` */
  unicastChecksumCompat: UnicastChecksumCompat;
  /** `skip_check_adv_addr`: as backup, only check the VIP list when the master changes. */
  skipCheckAdvAddr: boolean;
}

export type VrrpInstanceInput = Pick<VrrpInstanceConfig, 'name' | 'vrid'> & Partial<VrrpInstanceConfig>;

/** Fill keepalived's defaults (vrrp.h, global_data.c) for everything not given. */
export function withDefaults(input: VrrpInstanceInput): VrrpInstanceConfig {
  const family = input.family ?? 'inet';
  const garpMasterDelayMs = input.garpMasterDelayMs ?? 5000;
  const garpMasterRepeat = input.garpMasterRepeat ?? 5;
  return {
    version: family === 'inet6' ? 3 : 2,
    interface: 'eth0',
    dontTrackPrimary: false,
    priority: 100,
    advertIntervalCs: 100,
    nopreempt: false,
    preemptDelayMs: 0,
    authType: 'NONE',
    authPass: '',
    vips: [],
    unicastPeers: [],
    checkUnicastSrc: false,
    tracked: [],
    garpMasterRefreshMs: 0,
    garpMasterRefreshRepeat: 1,
    garpLowerPrioDelayMs: garpMasterDelayMs,
    garpLowerPrioRepeat: garpMasterRepeat,
    downTimerAdverts: 3,
    lowerPrioNoAdvert: false,
    higherPrioSendAdvert: false,
    v3ChecksumAsV2: false,
    unicastChecksumCompat: 'none',
    skipCheckAdvAddr: false,
    ...input,
    family,
    garpMasterDelayMs,
    garpMasterRepeat,
  };
}
