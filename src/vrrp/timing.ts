/**
 * VRRP timer formulas. Internally in microseconds, like keepalived (TIMER_HZ = 1 000 000), and
 * with keepalived's integer arithmetic; timers are armed in whole milliseconds rounded up so that
 * they never fire before the protocol interval has elapsed.
 */
import type { VrrpVersion } from './types.js';

export const VRRP_PRIO_OWNER = 255; // RFC 3768 §5.3.4
export const VRRP_PRIO_STOP = 0; // RFC 3768 §5.3.4: master is leaving

const US_PER_S = 1_000_000;
const US_PER_CS = 10_000;

/**
 * Skew_Time, µs.
 * RFC 3768 §6.1: (256 - Priority) / 256 seconds.
 * RFC 5798 §6.1: ((256 - Priority) * Master_Adver_Interval) / 256, Master_Adver_Interval in cs.
 * An address owner uses 255 even while its effective priority is lowered (keepalived).
 */
export function skewTimeUs(version: VrrpVersion, priority: number, masterAdverIntCs: number): number {
  const p = 256 - priority;
  if (version === 2) return Math.floor((p * US_PER_S) / 256);
  return Math.floor((p * masterAdverIntCs * US_PER_CS) / 256);
}

/**
 * Master_Down_Interval, µs: down_timer_adverts (RFC: 3) × Master_Adver_Interval + Skew_Time
 * (RFC 3768 §6.1, RFC 5798 §6.1). For v2 Master_Adver_Interval is our own Advertisement_Interval.
 */
export function masterDownIntervalUs(
  version: VrrpVersion,
  priority: number,
  masterAdverIntCs: number,
  downTimerAdverts = 3,
): number {
  return downTimerAdverts * masterAdverIntCs * US_PER_CS + skewTimeUs(version, priority, masterAdverIntCs);
}

/** µs → timer ms, rounded up (1 ms resolution; a timer must not fire early). */
export function usToTimerMs(us: number): number {
  return Math.ceil(us / 1000);
}

export function csToMs(cs: number): number {
  return cs * 10;
}
