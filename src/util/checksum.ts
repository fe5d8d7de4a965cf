// RFC 1071 Internet checksum, for VRRP (RFC 3768 §5.3.8, RFC 5798 §5.2.8), IPv4 headers
// (RFC 791), ICMP echo (RFC 792) and neighbour advertisements (RFC 4443 §2.3).

/** RFC 1071 Internet checksum over the concatenation of `parts` (each part may be odd-sized). */
export function internetChecksum(...parts: Buffer[]): number {
  let sum = 0;
  let odd: number | undefined;
  for (const part of parts) {
    let i = 0;
    if (odd !== undefined && part.length > 0) {
      sum += (odd << 8) | (part[0] ?? 0);
      odd = undefined;
      i = 1;
    }
    for (; i + 1 < part.length; i += 2) sum += ((part[i] ?? 0) << 8) | (part[i + 1] ?? 0);
    if (i < part.length) odd = part[i];
    // Fold early so the sum stays a small integer.
    if (sum > 0xffffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  }
  if (odd !== undefined) sum += odd << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}
