/**
 * VRRP advertisement wire format: VRRPv2 (RFC 3768 §5) and VRRPv3 (RFC 5798 §5), IPv4 and IPv6,
 * plus the receive-side validation of RFC 3768 §7.1 / RFC 5798 §7.1 in the order keepalived
 * applies it, with keepalived's statistics counter names and log texts.
 *
 * Pure: buffers in, buffers/records out.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  VRRP_MCAST_GROUP4,
  VRRP_MCAST_GROUP6,
  addressLength,
  canonicalAddress,
  formatAddress,
  isMulticastAddress,
  parseAddress,
} from './addr.js';
import {
  AUTH_TYPE_CODE,
  type AddressFamily,
  type AuthType,
  type UnicastChecksumCompat,
  type UnicastPeer,
  type VrrpVersion,
} from './types.js';
import { internetChecksum } from '../util/checksum.js';

export const IPPROTO_VRRP = 112; // RFC 3768 §5.2.4
export const IPPROTO_AH = 51; // RFC 2402
export const VRRP_IP_TTL = 255; // RFC 3768 §5.2.3, RFC 5798 §5.1.1.3
export const VRRP_PKT_ADVERT = 1; // RFC 3768 §5.3.2
export const VRRP_HEADER_LEN = 8; // bytes up to and including the checksum
export const VRRP_AUTH_LEN = 8; // RFC 3768 §5.3.10 Authentication Data, bytes
export const AH_HEADER_LEN = 24; // RFC 2402 §2 with a 96-bit HMAC-MD5 ICV (RFC 2403), bytes
export const AH_PAYLOAD_LEN = 4; // AH Payload Len for a 96-bit ICV: 32-bit words minus 2
export const AH_ICV_LEN = 12; // HMAC-MD5-96, bytes
export const IPV4_MIN_HEADER_LEN = 20;

// Ethernet frames shorter than 60 octets (ETH_ZLEN, no FCS) are padded; 14 octets are the
// Ethernet header, so an IP packet shorter than 46 octets may arrive with trailing padding,
// less 4 octets per VLAN tag stripped by the NIC.
const ETH_MIN_IP_LEN = 46;
const VLAN_TAG_SIZE = 4;

/** keepalived `vrrp_stats` counter names (vrrp.h), plus unicast_src_err. */
export type VrrpCounter =
  | 'packet_len_err'
  | 'ip_ttl_err'
  | 'vers_err'
  | 'invalid_authtype'
  | 'authtype_mismatch'
  | 'auth_failure'
  | 'advert_interval_err'
  | 'invalid_type_rcvd'
  | 'chk_err'
  | 'addr_list_err'
  | 'vrid_err'
  // keepalived drops these without counting; counted here so every packet is accounted for.
  | 'unicast_src_err';

export const FAILURE_COUNTERS: readonly VrrpCounter[] = [
  'packet_len_err', 'ip_ttl_err', 'vers_err', 'invalid_authtype', 'authtype_mismatch',
  'auth_failure', 'advert_interval_err', 'invalid_type_rcvd', 'chk_err', 'addr_list_err',
  'vrid_err', 'unicast_src_err',
];

/** Reasons, named after keepalived's VRRP_RLFLAG_* rate-limit flags; usable as a rate-limit key. */
export type DecodeReason =
  | 'too_short'
  | 'bad_ah_header'
  | 'incomplete_packet'
  | 'invalid_ttl'
  | 'wrong_version'
  | 'bad_auth'
  | 'wrong_auth'
  | 'wrong_auth_passwd'
  | 'ah_not_vrrp'
  | 'ah_invalid'
  | 'adv_intvl_mismatch'
  | 'not_advertisement'
  | 'bad_length'
  | 'bad_checksum'
  | 'uni_multicast_err'
  | 'wrong_vrid'
  | 'ttl_not_in_range'
  | 'unknown_unicast_src'
  | 'wrong_addr_count'
  | 'vips_mismatch'
  | 'old_unicast_checksum';

export interface Advert {
  version: VrrpVersion;
  /** RFC 3768 §5.3.2 Type; 1 = ADVERTISEMENT. */
  type: number;
  vrid: number;
  /** 0 = master stopping, 255 = address owner. */
  priority: number;
  /** IPvX Address(es) field, text form. */
  addresses: string[];
  /** v2: Adver Int (seconds) × 100; v3: Max Adver Int (centiseconds). */
  advertIntervalCs: number;
  /** v2 Auth Type code (RFC 3768 §5.3.6); 0 for v3. */
  authType: number;
  /** Checksum field as received, or as computed by encodeAdvert. */
  checksum: number;
}

export interface AdvertInput {
  version: VrrpVersion;
  type?: number;
  vrid: number;
  priority: number;
  addresses: readonly string[];
  advertIntervalCs: number;
  /** v2 only. */
  authType?: AuthType;
}

export interface EncodeContext {
  family: AddressFamily;
  /** IP source and destination; needed for the VRRPv3 pseudo-header (RFC 5798 §5.2.8). */
  source?: string;
  destination?: string;
  /** v2 `auth_pass` for auth_type PASS. */
  authPass?: string;
  /** keepalived `v3_checksum_as_v2`: no pseudo-header in the IPv4 VRRPv3 checksum. */
  v3ChecksumAsV2?: boolean;
  /**
   * keepalived `old_unicast_checksum` (or auto-detected): the IPv4 VRRPv3 pseudo-header uses the
   * multicast group as destination even when sending unicast (keepalived ≤ 1.3.6 behaviour).
   */
  oldUnicastChecksum?: boolean;
  /** `mcast_dst_ip`, for the old unicast checksum form. */
  mcastGroup?: string;
}

/** What the IP layer reported for a received packet. */
export interface RxInfo {
  family: AddressFamily;
  source: string;
  destination: string;
  /** IPv4 TTL / IPv6 Hop Limit; -1 when not known. */
  ttl: number;
  /** Destination was a multicast address. */
  multicast: boolean;
  /** IPv4 header length in bytes (IHL × 4); default 20 (IPv4), 0 (IPv6). */
  ipHeaderLength?: number;
  /** IPv4 Total Length field, when the IP header was seen. */
  ipTotalLength?: number;
  /** AH header that preceded the VRRP payload (IPv4 protocol 51). */
  ah?: AhHeader;
  /** Result of verifyAhIcv() for that AH header. */
  ahIcvOk?: boolean;
  /** Highest AH sequence number accepted so far (anti-replay, RFC 2402 §3.4.3). */
  ahLastSeq?: number;
  /** IPv6: the kernel already verified the checksum (IPV6_CHECKSUM socket option). */
  kernelChecksum?: boolean;
}

/** What the receiving instance expects. */
export interface CodecExpectations {
  /** Instance name, for log texts: "(VI_1) ...". */
  instanceName: string;
  version: VrrpVersion;
  /** When given, an advert for another VRID fails with vrid_err; otherwise it is decoded. */
  vrid?: number;
  authType: AuthType;
  authPass: string;
  /** Our `advert_int` in centiseconds. */
  advertIntervalCs: number;
  vips: readonly string[];
  unicastPeers: readonly UnicastPeer[];
  checkUnicastSrc?: boolean;
  v3ChecksumAsV2?: boolean;
  unicastChecksumCompat?: UnicastChecksumCompat;
  mcastGroup?: string;
  /** Verify the VIP list (RFC 3768 §7.1 "MAY verify"); default true. */
  checkVipAddr?: boolean;
}

export type DecodeContext = RxInfo & CodecExpectations;

export interface DecodeWarning {
  reason: DecodeReason;
  /** Counted although the advert is accepted (keepalived addr_list_err). */
  counter?: VrrpCounter;
  msg: string;
}

export type DecodeResult =
  | {
      ok: true;
      advert: Advert;
      warnings: DecodeWarning[];
      /** The advert verified only with the old unicast checksum form: switch to it for sending. */
      oldUnicastChecksum?: boolean;
    }
  | {
      ok: false;
      reason: DecodeReason;
      counter: VrrpCounter;
      msg: string;
      /** keepalived VRRP_PACKET_DROP (not relevant to us) rather than VRRP_PACKET_KO (invalid). */
      drop?: boolean;
    };

// ---------------------------------------------------------------------------------------------
// Checksums

export { internetChecksum };

/** IPv4 pseudo-header (RFC 5798 §5.2.8 referring to RFC 768 layout). */
export function ipv4PseudoHeader(source: string, destination: string, length: number): Buffer {
  const ph = Buffer.alloc(12);
  parseAddress(source, 'inet').copy(ph, 0);
  parseAddress(destination, 'inet').copy(ph, 4);
  ph[8] = 0;
  ph[9] = IPPROTO_VRRP;
  ph.writeUInt16BE(length, 10);
  return ph;
}

/** IPv6 pseudo-header (RFC 2460 §8.1, used by RFC 5798 §5.2.8). */
export function ipv6PseudoHeader(source: string, destination: string, length: number): Buffer {
  const ph = Buffer.alloc(40);
  parseAddress(source, 'inet6').copy(ph, 0);
  parseAddress(destination, 'inet6').copy(ph, 16);
  ph.writeUInt32BE(length, 32);
  ph[39] = IPPROTO_VRRP;
  return ph;
}

function defaultGroup(family: AddressFamily): string {
  return family === 'inet' ? VRRP_MCAST_GROUP4 : VRRP_MCAST_GROUP6;
}

/** 8 bytes of `auth_pass`, zero padded (RFC 3768 §5.3.10 / RFC 2338 §5.3.10). */
export function authPassBytes(pass: string): Buffer {
  const out = Buffer.alloc(VRRP_AUTH_LEN);
  Buffer.from(pass, 'utf8').copy(out, 0, 0, VRRP_AUTH_LEN);
  return out;
}

/** Length of the VRRP message as the received header describes it (keepalived's rule). */
function expectedVrrpLength(versionField: number, naddr: number, family: AddressFamily): number {
  let len = VRRP_HEADER_LEN + naddr * addressLength(family);
  if (family === 'inet' && versionField === 2) len += VRRP_AUTH_LEN;
  return len;
}

// ---------------------------------------------------------------------------------------------
// Encode

function checkByte(value: number, what: string, min = 0, max = 255): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${what} must be an integer ${min}..${max}, got ${value}`);
  }
}

export function encodeAdvert(advert: AdvertInput, ctx: EncodeContext): Buffer {
  const { version } = advert;
  const family = ctx.family;
  if (version !== 2 && version !== 3) throw new RangeError(`unsupported VRRP version ${String(version)}`);
  // RFC 3768 defines VRRPv2 for IPv4 only.
  if (version === 2 && family !== 'inet') throw new RangeError('VRRPv2 is IPv4 only (RFC 3768)');
  checkByte(advert.vrid, 'vrid');
  checkByte(advert.priority, 'priority');
  checkByte(advert.type ?? VRRP_PKT_ADVERT, 'type', 0, 15);
  checkByte(advert.addresses.length, 'address count');

  const alen = addressLength(family);
  const len = VRRP_HEADER_LEN + advert.addresses.length * alen + (version === 2 ? VRRP_AUTH_LEN : 0);
  const buf = Buffer.alloc(len);
  buf[0] = (version << 4) | (advert.type ?? VRRP_PKT_ADVERT);
  buf[1] = advert.vrid;
  buf[2] = advert.priority;
  buf[3] = advert.addresses.length;
  if (version === 2) {
    // RFC 3768 §5.3.7: Adver Int in whole seconds.
    const seconds = advert.advertIntervalCs / 100;
    checkByte(seconds, 'VRRPv2 advert interval (s)', 1, 255);
    const authType = advert.authType ?? 'NONE';
    buf[4] = AUTH_TYPE_CODE[authType];
    buf[5] = seconds;
    if (authType === 'PASS') authPassBytes(ctx.authPass ?? '').copy(buf, len - VRRP_AUTH_LEN);
  } else {
    // RFC 5798 §5.2.7: 4 reserved bits (zero), 12-bit Max Adver Int in centiseconds.
    checkByte(advert.advertIntervalCs, 'VRRPv3 advert interval (cs)', 1, 0xfff);
    buf.writeUInt16BE(advert.advertIntervalCs & 0xfff, 4);
  }
  advert.addresses.forEach((a, i) => parseAddress(a, family).copy(buf, VRRP_HEADER_LEN + i * alen));

  buf.writeUInt16BE(0, 6);
  buf.writeUInt16BE(computeChecksum(buf, version, ctx), 6);
  return buf;
}

function computeChecksum(
  vrrp: Buffer,
  version: VrrpVersion,
  ctx: Pick<EncodeContext, 'family' | 'source' | 'destination' | 'v3ChecksumAsV2' | 'oldUnicastChecksum' | 'mcastGroup'>,
): number {
  // RFC 3768 §5.3.8: v2 checksum covers the VRRP message only.
  if (version === 2) return internetChecksum(vrrp);
  if (ctx.family === 'inet' && ctx.v3ChecksumAsV2) return internetChecksum(vrrp);
  if (ctx.source === undefined || ctx.destination === undefined) {
    throw new TypeError('VRRPv3 checksum needs the IP source and destination (RFC 5798 §5.2.8)');
  }
  if (ctx.family === 'inet') {
    const dst = ctx.oldUnicastChecksum ? (ctx.mcastGroup ?? VRRP_MCAST_GROUP4) : ctx.destination;
    return internetChecksum(ipv4PseudoHeader(ctx.source, dst, vrrp.length), vrrp);
  }
  return internetChecksum(ipv6PseudoHeader(ctx.source, ctx.destination, vrrp.length), vrrp);
}

// ---------------------------------------------------------------------------------------------
// Decode

function fail(
  reason: DecodeReason,
  counter: VrrpCounter,
  msg: string,
  drop = false,
): DecodeResult {
  return drop ? { ok: false, reason, counter, msg, drop } : { ok: false, reason, counter, msg };
}

function withinPadding(expected: number, received: number): boolean {
  // keepalived accepts trailing Ethernet padding: only possible for short packets, and the
  // amount is 46 - len less a multiple of 4 (VLAN tags), so it is ≡ 2 (mod 4).
  return (
    expected < ETH_MIN_IP_LEN &&
    expected < received &&
    (received - expected) % VLAN_TAG_SIZE === (VLAN_TAG_SIZE - (ETH_MIN_IP_LEN % VLAN_TAG_SIZE)) % VLAN_TAG_SIZE
  );
}

/**
 * Decode and validate one received VRRP message (the IP payload after any AH header).
 * Checks follow keepalived's vrrp_check_packet() order.
 */
export function decodeAdvert(buf: Buffer, ctx: DecodeContext): DecodeResult {
  const iname = ctx.instanceName;
  const from = ctx.source;
  const family = ctx.family;
  const unicast = ctx.unicastPeers.length > 0;
  const ahLen = ctx.ah ? AH_HEADER_LEN : 0;
  const ipHdrLen = family === 'inet' ? (ctx.ipHeaderLength ?? IPV4_MIN_HEADER_LEN) : 0;

  if (buf.length < VRRP_HEADER_LEN) {
    return fail('too_short', 'packet_len_err',
      `IPv${family === 'inet' ? 4 : 6} VRRP packet too short - ${buf.length + ipHdrLen + ahLen} bytes`);
  }

  // AH present exactly when auth_type AH is configured (IPv4 only).
  if (family === 'inet' && (ctx.ah !== undefined) !== (ctx.authType === 'AH')) {
    return fail('bad_ah_header', 'authtype_mismatch', ctx.ah
      ? `(${iname}) Received AH header but auth type not AH from ${from}`
      : `(${iname}) No AH header but auth type is AH from ${from}`);
  }

  const versionField = (buf[0] ?? 0) >> 4;
  const typeField = (buf[0] ?? 0) & 0x0f;
  const vrid = buf[1] ?? 0;
  const priority = buf[2] ?? 0;
  const naddr = buf[3] ?? 0;

  // RFC 3768 §7.1: MUST verify that the packet contains the complete VRRP message.
  const expectedTotal = ipHdrLen + ahLen + expectedVrrpLength(versionField, naddr, family);
  const receivedTotal = ipHdrLen + ahLen + buf.length;
  if (receivedTotal !== expectedTotal && !withinPadding(expectedTotal, receivedTotal)) {
    return fail('incomplete_packet', 'packet_len_err',
      `(${iname}) vrrp packet from ${from} too ${receivedTotal > expectedTotal ? 'long' : 'short'}, length ${receivedTotal} and expect ${expectedTotal}`);
  }
  const vrrpLen = expectedTotal - ipHdrLen - ahLen;

  // RFC 3768 §7.1 / RFC 5798 §7.1: TTL/Hop Limit MUST be 255 (keepalived: not for unicast).
  if (!unicast && ctx.ttl !== -1 && ctx.ttl !== VRRP_IP_TTL) {
    return fail('invalid_ttl', 'ip_ttl_err',
      `(${iname}) invalid TTL/HL from ${from}. Received ${ctx.ttl} and expect ${VRRP_IP_TTL}`);
  }

  if (versionField !== ctx.version) {
    return fail('wrong_version', 'vers_err',
      `(${iname}) wrong VRRP version from ${from}. Received ${versionField} and expect ${ctx.version}`);
  }

  let advertIntervalCs: number;
  let authType = 0;
  if (versionField === 2) {
    authType = buf[4] ?? 0;
    if (authType !== AUTH_TYPE_CODE.NONE && authType !== AUTH_TYPE_CODE.PASS && authType !== AUTH_TYPE_CODE.AH) {
      return fail('bad_auth', 'invalid_authtype', `(${iname}) Invalid auth type from ${from}: ${authType}`);
    }
    const ourAuth = AUTH_TYPE_CODE[ctx.authType];
    if (authType !== ourAuth) {
      return fail('wrong_auth', 'authtype_mismatch',
        `(${iname}) received a ${authType} auth from ${from}, expecting ${ourAuth}!`);
    }
    if (ctx.authType === 'PASS') {
      const pw = buf.subarray(vrrpLen - VRRP_AUTH_LEN, vrrpLen);
      if (!timingSafeEqual(pw, authPassBytes(ctx.authPass))) {
        return fail('wrong_auth_passwd', 'auth_failure', `(${iname}) received an invalid passwd from ${from}!`);
      }
    } else if (ctx.authType === 'AH' && ctx.ah) {
      if (ctx.ah.nextHeader !== IPPROTO_VRRP) {
        // An AH header protecting some other protocol: not for us.
        return fail('ah_not_vrrp', 'invalid_type_rcvd',
          `(${iname}) AH next header ${ctx.ah.nextHeader} from ${from} is not VRRP`, true);
      }
      if (ctx.ahIcvOk !== true) {
        return fail('ah_invalid', 'auth_failure',
          `(${iname}) IPSEC-AH : invalid IPSEC HMAC-MD5 value. Due to fields mutation or bad password !`);
      }
      if (ctx.ah.spi !== parseAddress(from, 'inet').readUInt32BE(0)) {
        return fail('ah_invalid', 'auth_failure',
          `IPSEC AH : invalid IPSEC SPI value. ${parseAddress(from, 'inet').readUInt32BE(0)} and expect ${ctx.ah.spi}`);
      }
      if (ctx.ahLastSeq !== undefined && ctx.ah.seqNumber <= ctx.ahLastSeq) {
        return fail('ah_invalid', 'auth_failure',
          `(${iname}) IPSEC-AH : sequence number ${ctx.ah.seqNumber} already processed. Packet dropped. Local(${ctx.ahLastSeq})`);
      }
    }
    // RFC 3768 §7.1: MUST verify that the Adver Interval matches the local one, else discard.
    const seconds = buf[5] ?? 0;
    advertIntervalCs = seconds * 100;
    if (advertIntervalCs !== ctx.advertIntervalCs) {
      return fail('adv_intvl_mismatch', 'advert_interval_err',
        `(${iname}) advertisement interval mismatch with ${from} mine=${Math.floor(ctx.advertIntervalCs / 100)} sec rcv'd=${seconds} sec`,
        true);
    }
  } else {
    advertIntervalCs = buf.readUInt16BE(4) & 0xfff;
  }

  if (typeField !== VRRP_PKT_ADVERT) {
    return fail('not_advertisement', 'invalid_type_rcvd',
      `(${iname}) Invalid packet type from ${from}. ${typeField} and expect ${VRRP_PKT_ADVERT}`);
  }

  if (family === 'inet' && ctx.ipTotalLength !== undefined && ctx.ipTotalLength !== receivedTotal) {
    const padded = receivedTotal <= ETH_MIN_IP_LEN && ctx.ipTotalLength < receivedTotal &&
      (receivedTotal - ctx.ipTotalLength) % VLAN_TAG_SIZE ===
        (VLAN_TAG_SIZE - (ETH_MIN_IP_LEN % VLAN_TAG_SIZE)) % VLAN_TAG_SIZE;
    if (!padded) {
      return fail('bad_length', 'packet_len_err',
        `(${iname}) ip_tot_len mismatch against received length from ${from}. ${ctx.ipTotalLength} and received ${receivedTotal}`);
    }
  }

  const warnings: DecodeWarning[] = [];
  // RFC 5798 §7.1: interval mismatch is not an error in v3; the backup adopts the master's.
  if (versionField === 3 && advertIntervalCs !== ctx.advertIntervalCs) {
    warnings.push({
      reason: 'adv_intvl_mismatch',
      msg: `(${iname}) advertisement interval mismatch ours = ${ctx.advertIntervalCs} centi-sec rcv'd=${advertIntervalCs} centi-sec`,
    });
  }

  // Checksum over the message as the header sizes it (any Ethernet padding excluded).
  const vrrp = buf.subarray(0, vrrpLen);
  let oldUnicastChecksum = false;
  if (versionField === 2) {
    if (internetChecksum(vrrp) !== 0) {
      return fail('bad_checksum', 'chk_err', `(${iname}) Invalid VRRPv2 checksum from ${from}`);
    }
  } else if (family === 'inet') {
    const group = ctx.mcastGroup ?? VRRP_MCAST_GROUP4;
    const compat = ctx.unicastChecksumCompat ?? 'none';
    const withPseudo = (dst: string): boolean =>
      internetChecksum(ipv4PseudoHeader(from, dst, vrrpLen), vrrp) === 0;
    let good: boolean;
    if (ctx.v3ChecksumAsV2) {
      // Peers configured alike omit the pseudo-header; also accept RFC-conformant peers.
      good = internetChecksum(vrrp) === 0 || withPseudo(ctx.destination);
    } else if (compat === 'config' || compat === 'auto') {
      good = withPseudo(unicast ? group : ctx.destination);
    } else {
      good = withPseudo(ctx.destination);
      if (!good && unicast && compat === 'none' && canonicalAddress(ctx.destination) !== canonicalAddress(group)) {
        // keepalived ≤ 1.3.6 used the multicast group in the pseudo-header for unicast too.
        good = withPseudo(group);
        if (good) {
          oldUnicastChecksum = true;
          warnings.push({
            reason: 'old_unicast_checksum',
            msg: `(${iname}) Setting unicast VRRPv3 checksum to old version`,
          });
        }
      }
    }
    if (!good) return fail('bad_checksum', 'chk_err', `(${iname}) Invalid VRRPv3 checksum from ${from}`);
  } else if (!ctx.kernelChecksum) {
    if (internetChecksum(ipv6PseudoHeader(from, ctx.destination, vrrpLen), vrrp) !== 0) {
      return fail('bad_checksum', 'chk_err', `(${iname}) Invalid VRRPv3 checksum from ${from}`);
    }
  }

  // Multicast instances take multicast adverts only, unicast instances unicast only.
  if (ctx.multicast === unicast) {
    return fail('uni_multicast_err', 'addr_list_err',
      `(${iname}) Expected ${unicast ? 'un' : 'mult'}icast packet but received ${unicast ? 'mult' : 'un'}icast packet from ${from}`);
  }

  if (ctx.vrid !== undefined && vrid !== ctx.vrid) {
    return fail('wrong_vrid', 'vrid_err', `(${iname}) received VRID ${vrid} from ${from}, expect ${ctx.vrid}`, true);
  }

  const alen = addressLength(family);
  const addresses: string[] = [];
  for (let i = 0; i < naddr; i++) {
    addresses.push(formatAddress(Buffer.from(buf.subarray(VRRP_HEADER_LEN + i * alen, VRRP_HEADER_LEN + (i + 1) * alen))));
  }

  // RFC 3768 §7.1 MAY verify the address list; a mismatch is logged and counted, not fatal.
  if (naddr !== ctx.vips.length) {
    warnings.push({
      reason: 'wrong_addr_count', counter: 'addr_list_err',
      msg: `(${iname}) expected ${ctx.vips.length} VIPs but received ${naddr}`,
    });
  } else if (ctx.checkVipAddr ?? true) {
    const have = new Set(addresses);
    const missing = ctx.vips.find((v) => !have.has(canonicalAddress(v)));
    if (missing !== undefined) {
      warnings.push({
        reason: 'vips_mismatch', counter: 'addr_list_err',
        msg: `(${iname}) ip address associated with VRID ${vrid} not present in advert from ${from}: ${missing}`,
      });
    }
  }

  // keepalived: with check_unicast_src, or any min_ttl/max_ttl, the source must be a peer.
  const peerTtlCheck = ctx.unicastPeers.some((p) => p.minTtl !== undefined || p.maxTtl !== undefined);
  if (unicast && (ctx.checkUnicastSrc || peerTtlCheck)) {
    const src = canonicalAddress(from);
    const peer = ctx.unicastPeers.find((p) => canonicalAddress(p.address) === src);
    if (!peer) {
      return fail('unknown_unicast_src', 'unicast_src_err',
        `(${iname}) unicast source address ${from} not a unicast peer`);
    }
    const minTtl = peer.minTtl ?? 0;
    const maxTtl = peer.maxTtl ?? 255;
    if (ctx.ttl !== -1 && (ctx.ttl < minTtl || ctx.ttl > maxTtl)) {
      return fail('ttl_not_in_range', 'ip_ttl_err',
        `(${iname}) TTL/HL ${ctx.ttl} from ${from} not in range [${minTtl}, ${maxTtl}]`, true);
    }
  }

  const advert: Advert = {
    version: versionField as VrrpVersion,
    type: typeField,
    vrid,
    priority,
    addresses,
    advertIntervalCs,
    authType,
    checksum: buf.readUInt16BE(6),
  };
  return oldUnicastChecksum ? { ok: true, advert, warnings, oldUnicastChecksum } : { ok: true, advert, warnings };
}

// ---------------------------------------------------------------------------------------------
// IPv4 header (raw IPv4 sockets deliver it; IPv6 raw sockets do not)

export interface Ipv4Header {
  version: number;
  /** IHL × 4, bytes */
  headerLength: number;
  tos: number;
  totalLength: number;
  id: number;
  flags: number;
  fragmentOffset: number;
  ttl: number;
  protocol: number;
  checksum: number;
  source: string;
  destination: string;
}

export type Ipv4DecodeResult =
  | { ok: true; header: Ipv4Header; payload: Buffer }
  | { ok: false; reason: 'too_short' | 'bad_ip_version'; counter: VrrpCounter; msg: string };

export function decodeIpv4Header(buf: Buffer): Ipv4DecodeResult {
  if (buf.length < IPV4_MIN_HEADER_LEN) {
    return { ok: false, reason: 'too_short', counter: 'packet_len_err', msg: `IPv4 VRRP packet too short - ${buf.length} bytes` };
  }
  const version = (buf[0] ?? 0) >> 4;
  const headerLength = ((buf[0] ?? 0) & 0x0f) * 4;
  if (version !== 4 || headerLength < IPV4_MIN_HEADER_LEN) {
    return { ok: false, reason: 'bad_ip_version', counter: 'packet_len_err', msg: `invalid IPv4 header: version ${version}, IHL ${headerLength / 4}` };
  }
  if (buf.length < headerLength) {
    return { ok: false, reason: 'too_short', counter: 'packet_len_err', msg: `IPv4 VRRP packet too short - ${buf.length} bytes` };
  }
  const fragWord = buf.readUInt16BE(6);
  return {
    ok: true,
    header: {
      version,
      headerLength,
      tos: buf[1] ?? 0,
      totalLength: buf.readUInt16BE(2),
      id: buf.readUInt16BE(4),
      flags: fragWord >> 13,
      fragmentOffset: fragWord & 0x1fff,
      ttl: buf[8] ?? 0,
      protocol: buf[9] ?? 0,
      checksum: buf.readUInt16BE(10),
      source: formatAddress(Buffer.from(buf.subarray(12, 16))),
      destination: formatAddress(Buffer.from(buf.subarray(16, 20))),
    },
    payload: buf.subarray(headerLength),
  };
}

export interface Ipv4HeaderInput {
  source: string;
  destination: string;
  payloadLength: number;
  protocol?: number;
  ttl?: number;
  /** keepalived sends TOS 0xc0 (internetwork control). */
  tos?: number;
  id?: number;
}

/** A 20-byte IPv4 header with its header checksum filled in. */
export function encodeIpv4Header(h: Ipv4HeaderInput): Buffer {
  const buf = Buffer.alloc(IPV4_MIN_HEADER_LEN);
  buf[0] = 0x45;
  buf[1] = h.tos ?? 0xc0;
  buf.writeUInt16BE(IPV4_MIN_HEADER_LEN + h.payloadLength, 2);
  buf.writeUInt16BE(h.id ?? 0, 4);
  buf[8] = h.ttl ?? VRRP_IP_TTL;
  buf[9] = h.protocol ?? IPPROTO_VRRP;
  parseAddress(h.source, 'inet').copy(buf, 12);
  parseAddress(h.destination, 'inet').copy(buf, 16);
  buf.writeUInt16BE(internetChecksum(buf), 10);
  return buf;
}

// ---------------------------------------------------------------------------------------------
// IPsec AH (RFC 2402) as used by keepalived for VRRPv2 auth_type AH

export interface AhHeader {
  nextHeader: number;
  payloadLen: number;
  spi: number;
  seqNumber: number;
  icv: Buffer;
}

export type AhStripResult =
  | { ok: true; ah: AhHeader; payload: Buffer }
  | { ok: false; reason: 'too_short' | 'bad_ah_header'; counter: VrrpCounter; msg: string };

/** Split an AH header (RFC 2402 §2) off the front of an IPv4 payload. */
export function stripAhHeader(buf: Buffer): AhStripResult {
  if (buf.length < AH_HEADER_LEN + VRRP_HEADER_LEN) {
    return { ok: false, reason: 'too_short', counter: 'packet_len_err', msg: `IPv4 VRRP packet with AH too short - ${buf.length} bytes` };
  }
  const payloadLen = buf[1] ?? 0;
  if (payloadLen !== AH_PAYLOAD_LEN) {
    return { ok: false, reason: 'bad_ah_header', counter: 'auth_failure', msg: `AH payload length ${payloadLen}, expect ${AH_PAYLOAD_LEN} (HMAC-MD5-96)` };
  }
  return {
    ok: true,
    ah: {
      nextHeader: buf[0] ?? 0,
      payloadLen,
      spi: buf.readUInt32BE(4),
      seqNumber: buf.readUInt32BE(8),
      icv: Buffer.from(buf.subarray(12, 12 + AH_ICV_LEN)),
    },
    payload: buf.subarray(AH_HEADER_LEN),
  };
}

/** AH header bytes with a given ICV (zeros when computing it). */
export function encodeAhHeader(ah: { spi: number; seqNumber: number; icv?: Buffer }): Buffer {
  const buf = Buffer.alloc(AH_HEADER_LEN);
  buf[0] = IPPROTO_VRRP;
  buf[1] = AH_PAYLOAD_LEN;
  buf.writeUInt32BE(ah.spi >>> 0, 4);
  buf.writeUInt32BE(ah.seqNumber >>> 0, 8);
  if (ah.icv) ah.icv.copy(buf, 12, 0, AH_ICV_LEN);
  return buf;
}

/**
 * HMAC-MD5-96 ICV (RFC 2403) over the IP header with its mutable fields zeroed (RFC 2402 §3.3.3:
 * TOS, flags/fragment offset, header checksum; TTL too for unicast, as keepalived does), the AH
 * header with a zero ICV, and the VRRP message. Key: the 8 zero-padded `auth_pass` bytes.
 */
export function computeAhIcv(ipHeader: Buffer, ahHeader: Buffer, vrrp: Buffer, authPass: string, unicast: boolean): Buffer {
  const ip = Buffer.from(ipHeader);
  ip[1] = 0;
  ip.writeUInt16BE(0, 6);
  ip.writeUInt16BE(0, 10);
  if (unicast) ip[8] = 0;
  const ah = Buffer.from(ahHeader.subarray(0, AH_HEADER_LEN));
  ah.fill(0, 12, 12 + AH_ICV_LEN);
  return createHmac('md5', authPassBytes(authPass)).update(ip).update(ah).update(vrrp).digest().subarray(0, AH_ICV_LEN);
}

export function verifyAhIcv(ipHeader: Buffer, ahHeader: Buffer, vrrp: Buffer, authPass: string, unicast: boolean): boolean {
  const icv = ahHeader.subarray(12, 12 + AH_ICV_LEN);
  return icv.length === AH_ICV_LEN && timingSafeEqual(icv, computeAhIcv(ipHeader, ahHeader, vrrp, authPass, unicast));
}

/** A received IPv4 packet split into what the IP layer reported and the VRRP message. */
export type Ipv4Received =
  | {
      ok: true;
      rx: RxInfo;
      /** the VRRP message, after any AH header */
      payload: Buffer;
      /** AH only: checks the ICV against an instance's `auth_pass` (RFC 2402 §3.4.4) */
      verifyAh?: (authPass: string, unicast: boolean) => boolean;
    }
  | { ok: false; reason: DecodeReason; counter: VrrpCounter; msg: string };

/**
 * Whole received IPv4 packet (as a raw IPv4 socket delivers it): IP header, optional AH header,
 * VRRP message. Fills RxInfo from the headers; the AH ICV is left to the receiving instance,
 * whose password it needs.
 */
export function splitIpv4Packet(packet: Buffer): Ipv4Received {
  const ip = decodeIpv4Header(packet);
  if (!ip.ok) return { ok: false, reason: 'too_short', counter: ip.counter, msg: ip.msg };
  const { header } = ip;
  const rx: RxInfo = {
    family: 'inet',
    source: header.source,
    destination: header.destination,
    ttl: header.ttl,
    multicast: isMulticastAddress(header.destination),
    ipHeaderLength: header.headerLength,
    ipTotalLength: header.totalLength,
  };
  if (header.protocol === IPPROTO_AH) {
    const stripped = stripAhHeader(ip.payload);
    if (!stripped.ok) return { ok: false, reason: stripped.reason, counter: stripped.counter, msg: stripped.msg };
    rx.ah = stripped.ah;
    const ipHeader = packet.subarray(0, header.headerLength);
    const ahHeader = ip.payload.subarray(0, AH_HEADER_LEN);
    return {
      ok: true,
      rx,
      payload: stripped.payload,
      verifyAh: (authPass, unicast) => verifyAhIcv(ipHeader, ahHeader, stripped.payload, authPass, unicast),
    };
  }
  if (header.protocol !== IPPROTO_VRRP) {
    return { ok: false, reason: 'not_advertisement', counter: 'invalid_type_rcvd', msg: `IPv4 protocol ${header.protocol} is not VRRP` };
  }
  return { ok: true, rx, payload: ip.payload };
}

/** splitIpv4Packet, then decodeAdvert against one instance's expectations. */
export function decodeIpv4Packet(packet: Buffer, expect: CodecExpectations, extra: Pick<RxInfo, 'ahLastSeq'> = {}): DecodeResult {
  const r = splitIpv4Packet(packet);
  if (!r.ok) return r;
  const rx: RxInfo = { ...r.rx, ...extra };
  if (r.verifyAh) rx.ahIcvOk = r.verifyAh(expect.authPass, expect.unicastPeers.length > 0);
  return decodeAdvert(r.payload, { ...rx, ...expect });
}

/** Codec expectations derived from an instance's parameters. */
export function expectationsFor(cfg: {
  name: string; version: VrrpVersion; vrid: number; authType: AuthType; authPass: string;
  advertIntervalCs: number; vips: readonly string[]; unicastPeers: readonly UnicastPeer[];
  checkUnicastSrc: boolean; v3ChecksumAsV2: boolean; unicastChecksumCompat: UnicastChecksumCompat;
  mcastGroup?: string; family: AddressFamily;
}): CodecExpectations {
  return {
    instanceName: cfg.name,
    version: cfg.version,
    authType: cfg.authType,
    authPass: cfg.authPass,
    advertIntervalCs: cfg.advertIntervalCs,
    vips: cfg.vips,
    unicastPeers: cfg.unicastPeers,
    checkUnicastSrc: cfg.checkUnicastSrc,
    v3ChecksumAsV2: cfg.v3ChecksumAsV2,
    unicastChecksumCompat: cfg.unicastChecksumCompat,
    mcastGroup: cfg.mcastGroup ?? defaultGroup(cfg.family),
  };
}
