// Address helpers shared by the IPVS model, the ipvsadm parser and the
// desired-state builder. Canonical text forms are chosen to equal what
// `ipvsadm -S -n` prints, so that a configured address and the address read
// back from the kernel compare equal as strings.

import { isIPv4, isIPv6 } from 'node:net';

import type { Family } from './types.js';

/** Address family of a literal IP address, or undefined when it is not one. */
export function familyOf(ip: string): Family | undefined {
  if (isIPv4(ip)) return 'inet';
  if (isIPv6(ip)) return 'inet6';
  return undefined;
}

/** Parse an IPv6 literal into its eight 16-bit groups. */
export function ipv6Groups(ip: string): number[] {
  if (!isIPv6(ip)) throw new Error(`not an IPv6 address: ${ip}`);
  let text = ip;
  // An embedded dotted quad (RFC 4291 section 2.2, form 3) stands for the last two groups.
  const lastColon = text.lastIndexOf(':');
  const lastPart = text.slice(lastColon + 1);
  if (lastPart.includes('.')) {
    const o = lastPart.split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const parseGroups = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  let groups: number[];
  const dbl = text.indexOf('::');
  if (dbl >= 0) {
    const head = parseGroups(text.slice(0, dbl));
    const rest = parseGroups(text.slice(dbl + 2));
    const fill = 8 - head.length - rest.length;
    groups = [...head, ...new Array<number>(fill).fill(0), ...rest];
  } else {
    groups = parseGroups(text);
  }
  if (groups.length !== 8 || groups.some((g) => !(g >= 0 && g <= 0xffff))) {
    throw new Error(`not an IPv6 address: ${ip}`);
  }
  return groups;
}

/**
 * Serialise eight groups the way glibc's inet_ntop(AF_INET6) does (which is
 * what ipvsadm prints): lower-case hex, the longest run of two or more zero
 * groups (the first on a tie) compressed to "::" (RFC 5952 section 4.2), and
 * IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) addresses with
 * a dotted-quad tail.
 */
export function formatIpv6Groups(groups: readonly number[]): string {
  const g = groups;
  const firstFiveZero = g.slice(0, 5).every((x) => x === 0);
  const dotted = (): string => `${g[6]! >> 8}.${g[6]! & 0xff}.${g[7]! >> 8}.${g[7]! & 0xff}`;
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestStart = -1;
  // glibc prints a dotted tail only when the zero run starts at group 0 and
  // covers groups 0..4 (mapped) or 0..5 (compatible, excluding :: and ::1).
  const mapped = firstFiveZero && g[5] === 0xffff;
  const compat = firstFiveZero && g[5] === 0 && bestStart === 0 && bestLen === 6;
  const hex = (from: number, to: number): string[] => g.slice(from, to).map((x) => x.toString(16));
  if (bestStart === 0 && (mapped || compat)) {
    return mapped ? `::ffff:${dotted()}` : `::${dotted()}`;
  }
  if (bestStart < 0) return hex(0, 8).join(':');
  return `${hex(0, bestStart).join(':')}::${hex(bestStart + bestLen, 8).join(':')}`;
}

/** Canonical text of an IP address (IPv6 compressed and lower-case); throws if not an IP. */
export function canonicalIp(ip: string): string {
  if (isIPv4(ip)) return ip;
  if (isIPv6(ip)) return formatIpv6Groups(ipv6Groups(ip));
  throw new Error(`not an IP address: ${JSON.stringify(ip)}`);
}

/** "10.0.0.1:80" or "[2001:db8::1]:80", as ipvsadm prints host:port. */
export function formatHostPort(ip: string, port: number): string {
  return isIPv6(ip) ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/**
 * Split ipvsadm's host[:port] ("10.0.0.1:80", "10.0.0.1", "[2001:db8::1]:80",
 * "[2001:db8::1]"). A missing port is returned as undefined.
 */
export function parseHostPort(text: string): { ip: string; port: number | undefined } {
  let host: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) throw new Error(`bad address ${JSON.stringify(text)}`);
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) throw new Error(`bad address ${JSON.stringify(text)}`);
      portText = rest.slice(1);
    }
  } else {
    const colon = text.lastIndexOf(':');
    if (colon >= 0 && text.indexOf(':') === colon) {
      host = text.slice(0, colon);
      portText = text.slice(colon + 1);
    } else {
      host = text;
    }
  }
  if (!familyOf(host)) throw new Error(`bad address ${JSON.stringify(text)}`);
  let port: number | undefined;
  if (portText !== undefined) {
    if (!/^\d+$/.test(portText) || Number(portText) > 65535) throw new Error(`bad port in ${JSON.stringify(text)}`);
    port = Number(portText);
  }
  return { ip: canonicalIp(host), port };
}

/**
 * Expand a keepalived virtual_server_group address range: start address plus
 * the value of the last IPv4 octet / last IPv6 16-bit group at which the
 * range ends ("10.0.0.1-10" covers 10.0.0.1 to 10.0.0.10). keepalived walks
 * ranges the same way (ipvswrapper.c, ipvs_group_range_cmd).
 */
export function expandRange(start: string, rangeEnd: number | undefined): string[] {
  const ip = canonicalIp(start);
  if (rangeEnd === undefined) return [ip];
  if (isIPv4(ip)) {
    const octets = ip.split('.').map(Number);
    const first = octets[3]!;
    if (!Number.isInteger(rangeEnd) || rangeEnd < first || rangeEnd > 255) {
      throw new Error(`range end ${rangeEnd} invalid for ${ip}`);
    }
    const out: string[] = [];
    for (let v = first; v <= rangeEnd; v++) out.push(`${octets[0]}.${octets[1]}.${octets[2]}.${v}`);
    return out;
  }
  const groups = ipv6Groups(ip);
  const first = groups[7]!;
  if (!Number.isInteger(rangeEnd) || rangeEnd < first || rangeEnd > 0xffff) {
    throw new Error(`range end ${rangeEnd} invalid for ${ip}`);
  }
  const out: string[] = [];
  for (let v = first; v <= rangeEnd; v++) out.push(formatIpv6Groups([...groups.slice(0, 7), v]));
  return out;
}

/** IPv4 prefix length to dotted netmask (24 → 255.255.255.0). */
export function prefixToNetmask(prefix: number): string {
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new Error(`bad IPv4 prefix length ${prefix}`);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (mask >>> s) & 0xff).join('.');
}
