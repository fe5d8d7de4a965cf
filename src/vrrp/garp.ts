/**
 * Frames a new VRRP master puts on the link so neighbours move its virtual addresses to its
 * MAC at once (RFC 3768 §6.4.2 / RFC 5798 §6.4.2): a gratuitous ARP per IPv4 address and an
 * unsolicited Neighbor Advertisement (RFC 4861 §7.2.6) per IPv6 address.
 *
 * Pure: whole Ethernet frames as Buffers, laid out as keepalived 2.2 sends them
 * (vrrp_arp.c, vrrp_ndisc.c), so neighbours see the same bytes from either daemon:
 *  - gratuitous ARP: 42 bytes, not padded (the NIC pads to 60 on real Ethernet); broadcast
 *    destination; an ARP *request* whose sender and target protocol addresses are both the
 *    virtual address and whose target hardware address is the broadcast address;
 *  - unsolicited NA: 86 bytes; destination 33:33:00:00:00:01 (RFC 2464 §7 mapping of
 *    ff02::1); IPv6 source = the virtual address itself, hop limit 255 (RFC 4861 §7.1.2);
 *    Override flag always, Router flag when the interface forwards IPv6; a Target
 *    Link-Layer Address option carrying the sender MAC.
 * Only Ethernet links are handled (keepalived also speaks Infiniband; hacheck does not).
 */
import { internetChecksum } from './codec.js';
import { parseAddress } from './addr.js';

export const ETH_ALEN = 6;
export const ETH_HLEN = 14;
/** IEEE EtherTypes. */
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;
/** ARP hardware type for Ethernet (RFC 826, IANA "Hardware Types"). */
export const ARPHRD_ETHER = 1;
export const ARPOP_REQUEST = 1;
/** Ethernet header + 28-byte Ethernet/IPv4 ARP packet. */
export const GARP_FRAME_LEN = ETH_HLEN + 28;

export const IPPROTO_ICMPV6 = 58;
/** RFC 4861 §4.4. */
export const ND_NEIGHBOR_ADVERT = 136;
/** RFC 4861 §4.6.1: Target Link-Layer Address option. */
export const ND_OPT_TARGET_LINKADDR = 2;
/** RFC 4861 §4.4 flag bits in the first byte after the checksum. */
export const ND_NA_FLAG_ROUTER = 0x80;
export const ND_NA_FLAG_SOLICITED = 0x40;
export const ND_NA_FLAG_OVERRIDE = 0x20;
/** RFC 4861 §7.1.2: ND packets must arrive with hop limit 255. */
export const NDISC_HOPLIMIT = 255;
/** All-nodes link-local multicast group (RFC 4291 §2.7.1) and its RFC 2464 §7 MAC. */
export const ALL_NODES6 = 'ff02::1';
const ALL_NODES_MAC = Buffer.from([0x33, 0x33, 0x00, 0x00, 0x00, 0x01]);
const BROADCAST_MAC = Buffer.alloc(ETH_ALEN, 0xff);
/** ICMPv6 NA (24) + one 8-byte option. */
export const NA_PAYLOAD_LEN = 32;
export const NA_FRAME_LEN = ETH_HLEN + 40 + NA_PAYLOAD_LEN;

/** "aa:bb:cc:dd:ee:ff" (also with '-') or 6 bytes → 6 bytes. Throws on anything else. */
export function parseMac(mac: string | Uint8Array): Buffer {
  if (typeof mac !== 'string') {
    if (mac.length !== ETH_ALEN) throw new TypeError(`MAC address must be ${ETH_ALEN} bytes, got ${mac.length}`);
    return Buffer.from(mac);
  }
  const m = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(mac);
  if (!m) throw new TypeError(`invalid MAC address: ${mac}`);
  return Buffer.from(m.slice(1).map((h) => parseInt(h, 16)));
}

export function formatMac(mac: Uint8Array): string {
  return [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

function ethernetHeader(dst: Buffer, src: Buffer, etherType: number, out: Buffer): void {
  dst.copy(out, 0);
  src.copy(out, ETH_ALEN);
  out.writeUInt16BE(etherType, 12);
}

export interface GarpInput {
  /** sender hardware address: the interface's (or VMAC's) MAC */
  srcMac: string | Uint8Array;
  /** the virtual IPv4 address being announced */
  ip: string;
}

/**
 * Gratuitous ARP request for `ip` (RFC 5227 §3 "ARP Announcement" form, as keepalived
 * sends it): sender = target protocol address = `ip`, target hardware = broadcast.
 */
export function gratuitousArpFrame({ srcMac, ip }: GarpInput): Buffer {
  const mac = parseMac(srcMac);
  const addr = parseAddress(ip, 'inet');
  const f = Buffer.alloc(GARP_FRAME_LEN);
  ethernetHeader(BROADCAST_MAC, mac, ETHERTYPE_ARP, f);
  // RFC 826 packet format.
  f.writeUInt16BE(ARPHRD_ETHER, 14); // ar_hrd
  f.writeUInt16BE(ETHERTYPE_IPV4, 16); // ar_pro
  f[18] = ETH_ALEN; // ar_hln
  f[19] = 4; // ar_pln
  f.writeUInt16BE(ARPOP_REQUEST, 20); // ar_op
  mac.copy(f, 22); // sender hardware address
  addr.copy(f, 28); // sender protocol address
  BROADCAST_MAC.copy(f, 32); // target hardware address
  addr.copy(f, 38); // target protocol address
  return f;
}

export interface UnsolicitedNaInput {
  /** the interface's (or VMAC's) MAC: Ethernet source and Target Link-Layer Address */
  srcMac: string | Uint8Array;
  /** the virtual IPv6 address being announced (NA target) */
  ip6: string;
  /** IPv6 source; keepalived uses the virtual address itself (the default) */
  srcIp6?: string;
  /** Router flag (RFC 4861 §4.4): keepalived sets it when the interface forwards IPv6 */
  router?: boolean;
}

/** Unsolicited Neighbor Advertisement for `ip6` to all nodes (RFC 4861 §7.2.6). */
export function unsolicitedNaFrame({ srcMac, ip6, srcIp6, router = false }: UnsolicitedNaInput): Buffer {
  const mac = parseMac(srcMac);
  const target = parseAddress(ip6, 'inet6');
  const src = srcIp6 === undefined ? target : parseAddress(srcIp6, 'inet6');
  const dst = parseAddress(ALL_NODES6, 'inet6');
  const f = Buffer.alloc(NA_FRAME_LEN);
  ethernetHeader(ALL_NODES_MAC, mac, ETHERTYPE_IPV6, f);

  // IPv6 header (RFC 8200 §3): version 6, traffic class 0, flow label 0.
  const ip = ETH_HLEN;
  f.writeUInt32BE(0x60000000, ip);
  f.writeUInt16BE(NA_PAYLOAD_LEN, ip + 4);
  f[ip + 6] = IPPROTO_ICMPV6;
  f[ip + 7] = NDISC_HOPLIMIT;
  src.copy(f, ip + 8);
  dst.copy(f, ip + 24);

  // ICMPv6 Neighbor Advertisement (RFC 4861 §4.4).
  const icmp = ip + 40;
  f[icmp] = ND_NEIGHBOR_ADVERT;
  f[icmp + 1] = 0; // code
  f[icmp + 4] = ND_NA_FLAG_OVERRIDE | (router ? ND_NA_FLAG_ROUTER : 0);
  target.copy(f, icmp + 8);
  // Target Link-Layer Address option (RFC 4861 §4.6.1), length in units of 8 bytes.
  f[icmp + 24] = ND_OPT_TARGET_LINKADDR;
  f[icmp + 25] = 1;
  mac.copy(f, icmp + 26);

  // RFC 4443 §2.3: checksum over the RFC 8200 §8.1 pseudo-header and the ICMPv6 message.
  const pseudo = Buffer.alloc(40);
  src.copy(pseudo, 0);
  dst.copy(pseudo, 16);
  pseudo.writeUInt32BE(NA_PAYLOAD_LEN, 32);
  pseudo[39] = IPPROTO_ICMPV6;
  f.writeUInt16BE(internetChecksum(pseudo, f.subarray(icmp)), icmp + 2);
  return f;
}
