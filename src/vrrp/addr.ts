import { isIPv4, isIPv6 } from 'node:net';
import type { AddressFamily } from './types.js';

// RFC 3768 §5.2.2 / RFC 5798 §5.1.1.2, §5.1.2.2: VRRP multicast groups.
export const VRRP_MCAST_GROUP4 = '224.0.0.18';
export const VRRP_MCAST_GROUP6 = 'ff02::12';

export function addressLength(family: AddressFamily): 4 | 16 {
  return family === 'inet' ? 4 : 16;
}

export function familyOf(address: string): AddressFamily | undefined {
  if (isIPv4(address)) return 'inet';
  if (isIPv6(address)) return 'inet6';
  return undefined;
}

/** Text form → network-order bytes. Throws on an address that is not valid for `family`. */
export function parseAddress(address: string, family: AddressFamily): Buffer {
  if (family === 'inet') {
    if (!isIPv4(address)) throw new TypeError(`invalid IPv4 address: ${address}`);
    return Buffer.from(address.split('.').map((p) => Number(p)));
  }
  // Strip a zone index ("fe80::1%eth0"): it is not part of the on-wire address.
  const bare = address.split('%')[0] ?? address;
  if (!isIPv6(bare)) throw new TypeError(`invalid IPv6 address: ${address}`);
  let text = bare;
  const out = Buffer.alloc(16);
  // Embedded dotted quad in the last 32 bits (RFC 4291 §2.2 form 3): rewrite it as two hex words.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const q = tail.split('.').map((p) => Number(p));
    const hi = (((q[0] ?? 0) << 8) | (q[1] ?? 0)).toString(16);
    const lo = (((q[2] ?? 0) << 8) | (q[3] ?? 0)).toString(16);
    text = `${text.slice(0, lastColon + 1)}${hi}:${lo}`;
  }
  const split = text.indexOf('::');
  const toWords = (t: string): number[] => (t === '' ? [] : t.split(':').map((h) => parseInt(h, 16)));
  const words = new Array<number>(8).fill(0);
  if (split < 0) {
    toWords(text).forEach((w, i) => { words[i] = w; });
  } else {
    const head = toWords(text.slice(0, split));
    const rest = toWords(text.slice(split + 2));
    head.forEach((w, i) => { words[i] = w; });
    rest.forEach((w, i) => { words[8 - rest.length + i] = w; });
  }
  words.forEach((w, i) => out.writeUInt16BE(w & 0xffff, i * 2));
  return out;
}

/** Network-order bytes → text form (RFC 5952 canonical form for IPv6). */
export function formatAddress(bytes: Buffer): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (bytes.length !== 16) throw new TypeError(`address must be 4 or 16 bytes, got ${bytes.length}`);
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(bytes.readUInt16BE(i * 2));
  // RFC 5952 §4.2: compress the longest run (≥ 2) of zero words, the first one on a tie.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Canonical text form, so that equal addresses compare equal as strings. */
export function canonicalAddress(address: string): string {
  const family = familyOf(address.split('%')[0] ?? address);
  if (!family) return address;
  return formatAddress(parseAddress(address, family));
}

/**
 * Unsigned numeric comparison of two addresses of the same family, as RFC 3768 §6.4.3 /
 * RFC 5798 §6.4.3 require for the equal-priority tie-break ("primary IP address is larger").
 * Returns <0, 0, >0. Addresses of different families compare as equal (no ordering exists).
 */
export function compareAddresses(a: string, b: string): number {
  const fa = familyOf(a.split('%')[0] ?? a);
  const fb = familyOf(b.split('%')[0] ?? b);
  if (!fa || !fb || fa !== fb) return 0;
  return Buffer.compare(parseAddress(a, fa), parseAddress(b, fb));
}

export function isMulticastAddress(address: string): boolean {
  const family = familyOf(address.split('%')[0] ?? address);
  if (family === 'inet') return ((parseAddress(address, 'inet')[0] ?? 0) & 0xf0) === 0xe0;
  if (family === 'inet6') return parseAddress(address, 'inet6')[0] === 0xff;
  return false;
}
