/**
 * VRRP packet I/O over a raw IP socket (protocol 112, or 51 for IPv4 `auth_type AH`), one per
 * interface and address family, set up with the socket options keepalived uses
 * (vrrp.c open_vrrp_send_socket / open_vrrp_read_socket, vrrp_if.c if_setsockopt_*):
 *
 *   both      SO_BINDTODEVICE ifname: only packets of this interface are read, and sends leave
 *             by it (keepalived: "needed for filter multicasted advert per interface")
 *             IP_MULTICAST_ALL / IPV6_MULTICAST_ALL 0: no multicast of groups we did not join
 *   multicast IP_ADD_MEMBERSHIP / IPV6_ADD_MEMBERSHIP group on ifindex (RFC 3768 §5.2.2,
 *             RFC 5798 §5.1.1.2 / §5.1.2.2: 224.0.0.18, ff02::12, or `mcast_dst_ip`)
 *             IP_MULTICAST_IF / IPV6_MULTICAST_IF ifindex, *_MULTICAST_LOOP 0,
 *             IPV6_MULTICAST_HOPS 255 (RFC 5798 §5.1.2.3), SO_DONTROUTE (keepalived sends its
 *             multicast adverts with MSG_DONTROUTE, which the raw-socket package cannot pass)
 *   IPv4      IP_HDRINCL: the IPv4 header is ours, built by encodeIpv4Header() exactly as
 *             keepalived's vrrp_build_ip4() does: TOS 0xc0, ID from a per-sender counter that
 *             skips 0, no DF, TTL 255 (RFC 3768 §5.2.3) or `unicast_ttl`, protocol 112/51,
 *             source `unicast_src_ip`/`mcast_src_ip` or the interface's primary address.
 *             That is what makes the bytes on the wire identical to keepalived's — without
 *             HDRINCL the kernel would choose TOS 0, DF and its own ID — and it is the only way
 *             to choose the source address, since raw-socket has no bind(). The kernel still
 *             fills in the header checksum.
 *   IPv6      IPV6_CHECKSUM 6: the kernel computes the VRRPv3 checksum (RFC 5798 §5.2.8, IPv6
 *             pseudo-header) on send and verifies it on receive, as keepalived has it do.
 *             IPV6_TCLASS 0xc0 (keepalived if_setsockopt_priority). Hop limit: 255 for
 *             multicast; for unicast `unicast_ttl` when configured, else the kernel default,
 *             which is what keepalived does (it only sends an IPV6_HOPLIMIT cmsg when
 *             unicast_ttl is set).
 *
 * What the raw-socket package cannot do (it has recvfrom/sendto and setsockopt only):
 *   - no recvmsg ancillary data. IPv4 does not need it (the raw socket delivers the IP header
 *     with TTL and destination), but an IPv6 raw socket never sees its IP header, so the hop
 *     limit (RFC 5798 §7.1: 255) and the destination come only as IPV6_HOPLIMIT and
 *     IPV6_PKTINFO cmsgs. IPv6 is therefore read by hacheck's own addon (native/recv6.c:
 *     recvmsg on a second raw socket with the same options, polled by libuv), and the
 *     raw-socket one only sends (reading paused, smallest receive buffer, no group joined).
 *     Without the addon (not built) IPv6 is read by raw-socket as before, with hop limit and
 *     destination unknown, and `degraded` says why (the VRRP system logs it as a warning);
 *   - no bind(): keepalived binds the read socket to the multicast group (or to unicast_src_ip)
 *     so the kernel drops other destinations; we do the same filtering on the destination of
 *     the received header (IPv4) or IPV6_PKTINFO (IPv6);
 *   - no sendmsg cmsg: the IPv6 source is given as a sticky IPV6_PKTINFO (setsockopt) where
 *     keepalived sends an IPV6_PKTINFO cmsg per packet; the kernel's own source selection
 *     is used when no srcIp is given (the link-local address for ff02::12, as keepalived);
 *   - no flags on send, so keepalived's MSG_DONTROUTE on multicast sends becomes SO_DONTROUTE;
 *   - its native handle is weak (see openSockets below);
 *   - an IPv6 advert with a bad checksum is dropped by the kernel (IPV6_CHECKSUM) without
 *     reaching us, so the codec's chksum_err counter cannot count it — as in keepalived.
 * The IPv6 flow label is the kernel's automatic one (net.ipv6.auto_flowlabels), as for
 * keepalived's packets; it is the only header field we do not choose, and neither does it.
 *
 * Errors never throw out of send() or the receive path: send() resolves to a result and
 * receive errors go to `onError`.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isIPv4, isIPv6 } from 'node:net';
import { endianness, networkInterfaces } from 'node:os';
import { VRRP_MCAST_GROUP4, VRRP_MCAST_GROUP6, canonicalAddress, isMulticastAddress, parseAddress } from '../vrrp/addr.js';
import { loadAddon } from './addon.js';
import { IPPROTO_AH, IPPROTO_VRRP, VRRP_IP_TTL, decodeIpv4Header, encodeIpv4Header } from '../vrrp/codec.js';
import type { AddressFamily } from '../vrrp/types.js';
import { internetChecksum } from '../util/checksum.js';

// Linux socket option numbers (<asm-generic/socket.h>, <linux/in.h>, <linux/in6.h>).
const SOL_SOCKET = 1;
const SO_DONTROUTE = 5;
const SO_RCVBUF = 8;
const SO_BINDTODEVICE = 25;
const IPPROTO_IP = 0;
const IP_HDRINCL = 3;
const IP_MULTICAST_IF = 32;
const IP_MULTICAST_LOOP = 34;
const IP_ADD_MEMBERSHIP = 35;
const IP_MULTICAST_ALL = 49;
const IPPROTO_IPV6 = 41;
const IPV6_CHECKSUM = 7;
const IPV6_UNICAST_HOPS = 16;
const IPV6_MULTICAST_IF = 17;
const IPV6_MULTICAST_HOPS = 18;
const IPV6_MULTICAST_LOOP = 19;
const IPV6_ADD_MEMBERSHIP = 20;
const IPV6_MULTICAST_ALL = 29;
const IPV6_PKTINFO = 50;
const IPV6_TCLASS = 67;

/** Offset of the VRRP checksum field (RFC 5798 §5.2.8), for IPV6_CHECKSUM. */
const VRRP_CHECKSUM_OFFSET = 6;
/** keepalived: IPTOS_PREC_INTERNETCONTROL (IPv4 TOS / IPv6 traffic class). */
const TOS_INTERNETCONTROL = 0xc0;
/** Linux IFNAMSIZ less the NUL. */
const IFNAMSIZ = 15;
/** Receive buffer of the raw-socket wrapper: the largest IP packet. */
const RX_BUFFER = 65535;

// ---------------------------------------------------------------------------------------------
// The slice of the raw-socket package used here (it ships no type declarations).

interface RawSocket {
  /** raw-socket's queue of sends waiting for the socket to become writable */
  requests?: unknown[];
  /** the native SocketWrap: send() is one synchronous sendto(2) that throws on failure and
   *  calls back before it returns */
  wrap?: { send(buf: Buffer, offset: number, length: number, address: string, cb: (bytes: number) => void): unknown };
  on(ev: 'message', cb: (buf: Buffer, source: string) => void): this;
  on(ev: 'error', cb: (err: Error) => void): this;
  on(ev: 'close', cb: () => void): this;
  send(buf: Buffer, offset: number, length: number, address: string, cb: (err: Error | null, bytes: number) => void): this;
  setOption(level: number, option: number, value: number | Buffer, length?: number): void;
  pauseRecv(): this;
  close(): this;
}
interface RawModule {
  createSocket(opts: { addressFamily: number; protocol: number; bufferSize?: number }): RawSocket;
  AddressFamily: { IPv4: number; IPv6: number };
}

/** native/recv6.c (see the file comment) */
interface Recv6Addon {
  open(protocol: number): Recv6Handle;
  setsockopt(h: Recv6Handle, level: number, name: number, value: number | Buffer): void;
  start(h: Recv6Handle, cb: (err: Error | null, packet: Buffer, source: string, destination: string, hopLimit: number, ifindex: number) => void): void;
  close(h: Recv6Handle): void;
}
type Recv6Handle = { readonly __recv6Handle: unique symbol };

/**
 * raw-socket's native wrapper is a weak ObjectWrap: once no JavaScript object references its
 * socket, the garbage collector destroys it, which closes the fd and its poll handle mid-send
 * (a queued send then never completes, and a process with nothing else to do exits). An open
 * VrrpSocket is therefore held here, from open() until close(), like Node's own handles.
 */
const openSockets = new Set<VrrpSocket>();

let rawModule: RawModule | undefined;
function raw(): RawModule {
  rawModule ??= createRequire(import.meta.url)('raw-socket') as RawModule;
  return rawModule;
}

// ---------------------------------------------------------------------------------------------

export interface VrrpSocketOptions {
  family: AddressFamily;
  /** `interface` of the vrrp_instance */
  ifname: string;
  /** default: read from /sys/class/net/<ifname>/ifindex */
  ifindex?: number;
  /** `unicast_src_ip` / `mcast_src_ip`; default the interface's primary IPv4 address, or the
   *  kernel's choice for IPv6 (the link-local address for ff02::12) */
  srcIp?: string;
  /** `vrrp_mcast_group4/6` / `mcast_dst_ip`; default 224.0.0.18 / ff02::12 */
  mcastGroup?: string;
  /** `unicast_peer` configured: no group join, no multicast options; reads only what is sent
   *  to srcIp (IPv4) */
  unicast?: boolean;
  /** `unicast_ttl`: IPv4 default 255; IPv6 default the kernel's hop limit (as keepalived) */
  unicastTtl?: number;
  /** 112 (VRRP) or 51 (AH, IPv4 `auth_type AH`); default 112 */
  protocol?: 112 | 51;
  /** SO_RCVBUF bytes (keepalived `vrrp_rx_bufs_*`); default the kernel's */
  rcvBuf?: number;
}

export interface VrrpRxPacket {
  family: AddressFamily;
  /** IPv4: the whole IP packet, header included, as raw IPv4 sockets deliver it.
   *  IPv6: the IP payload (VRRP message) only. */
  packet: Buffer;
  /** IP source address */
  from: string;
  /** IP destination: IPv4 from the header; IPv6 from IPV6_PKTINFO (undefined without the addon) */
  dst?: string;
  /** same as dst (name used by src/vrrp/io.ts RxPacket) */
  to?: string;
  /** IPv4 TTL from the header */
  ttl?: number;
  /** IPv6 hop limit from IPV6_HOPLIMIT (undefined without the addon) */
  hopLimit?: number;
  /** IPv6: the kernel verified the VRRP checksum (IPV6_CHECKSUM) — pass as RxInfo.kernelChecksum */
  kernelChecksum: boolean;
  /** performance.now() when the packet reached JavaScript, before any decoding */
  receivedAt: number;
}

export type SendResult = { ok: true; bytes: number } | { ok: false; error: string };

export interface VrrpSocketEvents {
  onPacket?: (p: VrrpRxPacket) => void;
  /** receive-side errors (the socket stays open); default: ignored */
  onError?: (err: Error) => void;
}

/** Interface index, from sysfs (which `ip netns exec` mounts for the namespace). */
export function interfaceIndex(ifname: string): number | undefined {
  if (!validIfname(ifname)) return undefined;
  try {
    const n = Number(readFileSync(`/sys/class/net/${ifname}/ifindex`, 'utf8').trim());
    if (Number.isInteger(n) && n > 0) return n;
  } catch {
    /* fall back below */
  }
  // Without sysfs: an IPv6 link-local address carries the index as its scope id.
  for (const a of networkInterfaces()[ifname] ?? []) if (a.family === 'IPv6' && a.scopeid) return a.scopeid;
  return undefined;
}

/** The first IPv4 address of the interface (its primary), or the first IPv6 link-local. */
export function interfaceAddress(ifname: string, family: AddressFamily): string | undefined {
  const addrs = networkInterfaces()[ifname] ?? [];
  if (family === 'inet') return addrs.find((a) => a.family === 'IPv4')?.address;
  return addrs.find((a) => a.family === 'IPv6' && /^fe[89ab]/i.test(a.address))?.address;
}

function validIfname(ifname: string): boolean {
  return ifname.length > 0 && ifname.length <= IFNAMSIZ && !/[/\s\0]/.test(ifname) && ifname !== '.' && ifname !== '..';
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  if (endianness() === 'LE') b.writeInt32LE(n);
  else b.writeInt32BE(n);
  return b;
}

/** struct ip_mreqn { in_addr multiaddr; in_addr address; int ifindex; } */
function ipMreqn(group: string | undefined, ifindex: number): Buffer {
  const b = Buffer.alloc(12);
  if (group) parseAddress(group, 'inet').copy(b, 0);
  int32(ifindex).copy(b, 8);
  return b;
}

/** struct ipv6_mreq { in6_addr multiaddr; unsigned int ifindex; } */
function ipv6Mreq(group: string, ifindex: number): Buffer {
  const b = Buffer.alloc(20);
  parseAddress(group, 'inet6').copy(b, 0);
  int32(ifindex).copy(b, 16);
  return b;
}

/** struct in6_pktinfo { in6_addr addr; int ifindex; } */
function in6Pktinfo(addr: string, ifindex: number): Buffer {
  const b = Buffer.alloc(20);
  parseAddress(addr, 'inet6').copy(b, 0);
  int32(ifindex).copy(b, 16);
  return b;
}

export class VrrpSocket {
  private sock: RawSocket | undefined;
  /** IPv6: the recvmsg socket of native/recv6.c (undefined: raw-socket reads) */
  private rx6: { addon: Recv6Addon; handle: Recv6Handle } | undefined;
  private opts!: Required<Pick<VrrpSocketOptions, 'family' | 'ifname' | 'protocol'>> & VrrpSocketOptions;
  private ipId = 0;
  private readonly pending = new Set<(r: SendResult) => void>();
  /** IPv4 header per destination and payload length, ID and checksum 0 (see build) */
  private readonly headers = new Map<string, Buffer>();
  /** interface index the socket is bound to */
  ifindex = 0;
  /** IPv4: the source put in every header ('0.0.0.0' lets the kernel choose); IPv6: srcIp or
   *  the interface's link-local address at open time (informational: the kernel chooses) */
  srcIp: string | undefined;
  /** multicast group joined (undefined in unicast mode) */
  mcastGroup: string | undefined;
  /** packets dropped because their destination is not ours (what bind() would drop) */
  filtered = 0;
  rxErrors = 0;
  /** set when IPv6 is read without ancillary data (the recv6 addon is not built): why */
  degraded: string | undefined;
  /** IPv6: canonical destination the read socket accepts (group or configured source) */
  private wantDst6: string | undefined;

  constructor(private readonly events: VrrpSocketEvents = {}) {}

  get isOpen(): boolean {
    return this.sock !== undefined;
  }

  /** Open and configure the socket. Throws an Error naming the interface and the failing step. */
  open(o: VrrpSocketOptions): this {
    if (this.sock) throw new Error(`VRRP socket on ${this.opts.ifname} is already open`);
    const family = o.family;
    const protocol = o.protocol ?? IPPROTO_VRRP;
    if (family !== 'inet' && family !== 'inet6') throw new Error(`VRRP socket: unknown family ${String(family)}`);
    if (protocol !== IPPROTO_VRRP && protocol !== IPPROTO_AH) throw new Error(`VRRP socket: protocol must be 112 or 51, got ${String(protocol)}`);
    if (protocol === IPPROTO_AH && family !== 'inet') throw new Error('VRRP socket: AH (protocol 51) is IPv4 only');
    if (!validIfname(o.ifname)) throw new Error(`VRRP socket: invalid interface name '${o.ifname}'`);
    const ifindex = o.ifindex ?? interfaceIndex(o.ifname);
    if (ifindex === undefined) throw new Error(`VRRP socket: interface '${o.ifname}' not found`);
    const isFam = family === 'inet' ? isIPv4 : isIPv6;
    if (o.srcIp !== undefined && !isFam(o.srcIp)) throw new Error(`VRRP socket ${o.ifname}: srcIp ${o.srcIp} is not an ${family === 'inet' ? 'IPv4' : 'IPv6'} address`);
    const group = o.unicast ? undefined : (o.mcastGroup ?? (family === 'inet' ? VRRP_MCAST_GROUP4 : VRRP_MCAST_GROUP6));
    if (group !== undefined && !(isFam(group) && isMulticastAddress(group))) {
      throw new Error(`VRRP socket ${o.ifname}: multicast group ${group} is not an ${family === 'inet' ? 'IPv4' : 'IPv6'} multicast address`);
    }
    if (o.unicastTtl !== undefined && !(Number.isInteger(o.unicastTtl) && o.unicastTtl >= 1 && o.unicastTtl <= 255)) {
      throw new Error(`VRRP socket ${o.ifname}: unicast_ttl must be 1..255, got ${o.unicastTtl}`);
    }

    const r = raw();
    let s: RawSocket;
    try {
      s = r.createSocket({ addressFamily: family === 'inet' ? r.AddressFamily.IPv4 : r.AddressFamily.IPv6, protocol, bufferSize: RX_BUFFER });
    } catch (e) {
      throw new Error(`VRRP socket ${o.ifname}: cannot open raw ${family === 'inet' ? 'IPv4' : 'IPv6'} socket for protocol ${protocol}: ${(e as Error).message}`);
    }
    // Attach at once: an EventEmitter 'error' without a listener would throw.
    s.on('error', (err) => this.rxError(err));
    const set = (what: string, level: number, opt: number, value: number | Buffer, optional = false): void => {
      try {
        if (typeof value === 'number') s.setOption(level, opt, value);
        else s.setOption(level, opt, value, value.length);
      } catch (e) {
        if (optional) return;
        this.closeRx6();
        try {
          s.close();
        } catch {
          /* closing a half-set-up socket */
        }
        throw new Error(`VRRP socket ${o.ifname}: setsockopt ${what}: ${(e as Error).message}`);
      }
    };

    // SO_BINDTODEVICE first: a missing interface fails here with "No such device".
    const name = Buffer.from(`${o.ifname}\0`, 'latin1');
    set(`SO_BINDTODEVICE ${o.ifname}`, SOL_SOCKET, SO_BINDTODEVICE, name);
    if (o.rcvBuf !== undefined) set('SO_RCVBUF', SOL_SOCKET, SO_RCVBUF, o.rcvBuf, true);

    let srcIp = o.srcIp;
    if (family === 'inet') {
      set('IP_MULTICAST_ALL 0', IPPROTO_IP, IP_MULTICAST_ALL, 0);
      set('IP_HDRINCL', IPPROTO_IP, IP_HDRINCL, 1);
      srcIp ??= interfaceAddress(o.ifname, 'inet') ?? '0.0.0.0';
      if (group) {
        set(`IP_ADD_MEMBERSHIP ${group}`, IPPROTO_IP, IP_ADD_MEMBERSHIP, ipMreqn(group, ifindex));
        set('IP_MULTICAST_IF', IPPROTO_IP, IP_MULTICAST_IF, ipMreqn(undefined, ifindex));
        set('IP_MULTICAST_LOOP 0', IPPROTO_IP, IP_MULTICAST_LOOP, 0);
      }
    } else {
      // Linux ≥ 4.20; older kernels deliver other groups too, as keepalived built without it.
      set('IPV6_MULTICAST_ALL 0', IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0, true);
      set('IPV6_CHECKSUM 6', IPPROTO_IPV6, IPV6_CHECKSUM, VRRP_CHECKSUM_OFFSET);
      set('IPV6_TCLASS', IPPROTO_IPV6, IPV6_TCLASS, TOS_INTERNETCONTROL);
      try {
        this.rx6 = this.openRx6(o, protocol, ifindex, group, name);
      } catch (e) {
        s.close();
        throw e;
      }
      if (this.rx6) {
        // reading is the addon's socket's job: nothing queues up here unread
        s.pauseRecv();
        set('SO_RCVBUF (send only)', SOL_SOCKET, SO_RCVBUF, 0, true);
      }
      if (group) {
        if (!this.rx6) set(`IPV6_ADD_MEMBERSHIP ${group}`, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, ipv6Mreq(group, ifindex));
        set('IPV6_MULTICAST_IF', IPPROTO_IPV6, IPV6_MULTICAST_IF, int32(ifindex));
        set('IPV6_MULTICAST_LOOP 0', IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0);
        set('IPV6_MULTICAST_HOPS 255', IPPROTO_IPV6, IPV6_MULTICAST_HOPS, VRRP_IP_TTL);
      } else if (o.unicastTtl !== undefined) {
        set(`IPV6_UNICAST_HOPS ${o.unicastTtl}`, IPPROTO_IPV6, IPV6_UNICAST_HOPS, o.unicastTtl);
      }
      // The source keepalived puts in its per-packet IPV6_PKTINFO cmsg, made sticky.
      if (o.srcIp) set(`IPV6_PKTINFO ${o.srcIp}`, IPPROTO_IPV6, IPV6_PKTINFO, in6Pktinfo(o.srcIp, ifindex));
      srcIp ??= interfaceAddress(o.ifname, 'inet6');
    }
    // keepalived sends multicast adverts with MSG_DONTROUTE (on-link only).
    if (group) set('SO_DONTROUTE', SOL_SOCKET, SO_DONTROUTE, 1);

    s.on('message', (buf, source) => this.receive(buf, source));
    // raw-socket closes the socket itself after a poll error; a later send would then open a
    // fresh socket without any of the options above, so forget it instead.
    s.on('close', () => {
      if (this.sock !== s) return;
      this.sock = undefined;
      this.closeRx6();
      openSockets.delete(this);
      this.failPending('VRRP socket closed');
      this.rxError(new Error(`VRRP socket on ${o.ifname} was closed after an I/O error`));
    });
    this.sock = s;
    openSockets.add(this);
    this.opts = { ...o, family, protocol, ifindex };
    this.ifindex = ifindex;
    this.srcIp = srcIp;
    this.mcastGroup = group;
    // IPv6: what keepalived binds its read socket to, the group or a configured unicast_src_ip
    // (IPv4 filters on the header in receive())
    const want6 = family === 'inet6' ? (group ?? o.srcIp) : undefined;
    this.wantDst6 = want6 === undefined ? undefined : canonicalAddress(want6);
    return this;
  }

  /**
   * The IPv6 read socket of native/recv6.c, set up as keepalived's read socket
   * (open_vrrp_read_socket): bound to the device, the group joined, IPV6_CHECKSUM so the kernel
   * verifies the VRRPv3 checksum (RFC 5798 §5.2.8); the addon turns on IPV6_RECVHOPLIMIT and
   * IPV6_RECVPKTINFO. undefined when the addon is not built (`degraded` says so).
   */
  private openRx6(o: VrrpSocketOptions, protocol: number, ifindex: number, group: string | undefined, ifname: Buffer): VrrpSocket['rx6'] {
    let addon: Recv6Addon;
    try {
      addon = loadAddon<Recv6Addon>('hacheck_recv6');
    } catch (e) {
      this.degraded = `IPv6 hop limit (RFC 5798 §7.1) and destination of received adverts cannot be checked: ${(e as Error).message}`;
      return undefined;
    }
    let handle: Recv6Handle;
    try {
      handle = addon.open(protocol);
    } catch (e) {
      throw new Error(`VRRP socket ${o.ifname}: cannot open raw IPv6 socket for protocol ${protocol}: ${(e as Error).message}`);
    }
    const set = (what: string, level: number, opt: number, value: number | Buffer, optional = false): void => {
      try {
        addon.setsockopt(handle, level, opt, value);
      } catch (e) {
        if (optional) return;
        addon.close(handle);
        throw new Error(`VRRP socket ${o.ifname}: setsockopt ${what} (receive): ${(e as Error).message}`);
      }
    };
    set(`SO_BINDTODEVICE ${o.ifname}`, SOL_SOCKET, SO_BINDTODEVICE, ifname);
    if (o.rcvBuf !== undefined) set('SO_RCVBUF', SOL_SOCKET, SO_RCVBUF, o.rcvBuf, true);
    set('IPV6_MULTICAST_ALL 0', IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0, true);
    set('IPV6_CHECKSUM 6', IPPROTO_IPV6, IPV6_CHECKSUM, VRRP_CHECKSUM_OFFSET);
    if (group) set(`IPV6_ADD_MEMBERSHIP ${group}`, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, ipv6Mreq(group, ifindex));
    addon.start(handle, (err, packet, source, destination, hopLimit) => this.receive6(err, packet, source, destination, hopLimit));
    return { addon, handle };
  }

  private closeRx6(): void {
    const rx = this.rx6;
    this.rx6 = undefined;
    if (rx) rx.addon.close(rx.handle);
  }

  /**
   * Send one VRRP message (IPv4: with an AH header in front when protocol 51) to `dst`: the
   * multicast group, or a unicast peer. IPv4 gets keepalived's header (see the file comment);
   * `ipId` overrides the header ID (keepalived keeps one counter per instance and uses the same
   * ID for every unicast peer of one advert).
   */
  send(payload: Buffer, dst: string, opts: { ipId?: number } = {}): Promise<SendResult> {
    const r = this.sendNow(payload, dst, opts);
    return r instanceof Promise ? r : Promise.resolve(r);
  }

  /**
   * send(), with the result in hand when the message went out (or failed) within this call,
   * which is the usual case: the packet is then on the wire, ahead of anything the caller
   * sends next. A promise only when it had to wait in raw-socket's queue (see trySendNow).
   */
  sendNow(payload: Buffer, dst: string, opts: { ipId?: number; dry?: boolean } = {}): SendResult | Promise<SendResult> {
    if (!this.sock) return { ok: false, error: 'VRRP socket is not open' };
    const packet = this.build(payload, dst, opts.ipId ?? (this.opts.family === 'inet' ? this.nextIpId() : 0));
    if (!Buffer.isBuffer(packet)) return packet;
    return this.trySendNow(packet, dst, opts.dry) ?? (opts.dry ? { ok: true, bytes: 0 } : this.queueSend(packet, dst));
  }

  /**
   * Everything send() does but the sendto(2): run ahead of time so that the first real send
   * (a new master's first advert, a stopping master's priority 0) does not pay for V8's lazy
   * compilation and cold inline caches of this path (0.3 ms of a takeover, measured).
   */
  prepare(payload: Buffer, dst: string): void {
    this.sendNow(payload, dst, { ipId: 1, dry: true });
  }

  /**
   * IPv4: keepalived's header + payload; IPv6: the payload (the kernel adds the header). The
   * IPv4 header is the same for every advert to one destination but for its ID, so it is made
   * once per destination and length and only the ID and checksum are written per packet:
   * this runs between the Master_Down_Timer and the first advert of a new master.
   */
  private build(payload: Buffer, dst: string, ipId: number): Buffer | SendResult {
    const { family, protocol } = this.opts;
    if (family === 'inet') {
      const key = `${dst}/${payload.length}`;
      let header = this.headers.get(key);
      if (!header) {
        if (!isIPv4(dst)) return { ok: false, error: `destination ${dst} is not an IPv4 address` };
        try {
          header = encodeIpv4Header({
            source: this.srcIp ?? '0.0.0.0',
            destination: dst,
            payloadLength: payload.length,
            protocol,
            ttl: isMulticastAddress(dst) ? VRRP_IP_TTL : (this.opts.unicastTtl ?? VRRP_IP_TTL),
            id: 0,
          });
        } catch (e) {
          return { ok: false, error: (e as Error).message };
        }
        // a handful of peers at most; bounded anyway
        if (this.headers.size >= 64) this.headers.clear();
        this.headers.set(key, header);
      }
      const packet = Buffer.allocUnsafe(header.length + payload.length);
      header.copy(packet, 0);
      payload.copy(packet, header.length);
      packet.writeUInt16BE(ipId & 0xffff, 4);
      packet.writeUInt16BE(0, 10);
      packet.writeUInt16BE(internetChecksum(packet.subarray(0, header.length)), 10); // RFC 791
      return packet;
    }
    if (!isIPv6(dst)) return { ok: false, error: `destination ${dst} is not an IPv6 address` };
    return payload;
  }

  /** IPv4: send a complete IP packet as is (e.g. header + AH + VRRP, whose ICV covers the
   *  header). The kernel fills in the header checksum, and the ID when it is 0. */
  sendPacket(packet: Buffer, dst: string): Promise<SendResult> {
    if (this.opts?.family !== 'inet') return Promise.resolve({ ok: false, error: 'sendPacket is for IPv4 sockets (IP_HDRINCL)' });
    return Promise.resolve(this.trySendNow(packet, dst) ?? this.queueSend(packet, dst));
  }

  /** The next IPv4 header ID of this socket's counter (1..65535; the kernel replaces 0). */
  nextIpId(): number {
    this.ipId = (this.ipId % 0xffff) + 1;
    return this.ipId;
  }

  /**
   * Send now, in this call: one sendto(2) on the non-blocking socket, as keepalived's
   * vrrp_send_adv does. raw-socket's own send() only queues the packet until the event loop
   * next polls the socket for POLLOUT, which puts a loop iteration (and whatever else runs in
   * it) between the timer and the wire; callers that must order other frames after the
   * advert (the GARPs of a new master, RFC 5798 §6.4.1) need it on the wire when this
   * returns. Returns undefined when that is not possible right now (sends already queued,
   * EAGAIN/ENOBUFS, or a raw-socket without the native handle): send() then queues it.
   */
  private trySendNow(buf: Buffer, dst: string, dry = false): SendResult | undefined {
    const s = this.sock;
    if (!s) return { ok: false, error: 'VRRP socket is not open' };
    if (!s.wrap || !Array.isArray(s.requests) || s.requests.length > 0) return undefined;
    if (dry) return { ok: true, bytes: 0 };
    let bytes = 0;
    try {
      s.wrap.send(buf, 0, buf.length, dst, (n) => (bytes = n));
    } catch (e) {
      const msg = (e as Error).message;
      if (/temporarily unavailable|would block|no buffer space/i.test(msg)) return undefined;
      return { ok: false, error: `send to ${dst} on ${this.opts.ifname}: ${msg}` };
    }
    return { ok: true, bytes };
  }

  /** raw-socket's queued send: sendto(2) when the loop next finds the socket writable. */
  private queueSend(buf: Buffer, dst: string): Promise<SendResult> {
    const s = this.sock;
    if (!s) return Promise.resolve({ ok: false, error: 'VRRP socket is not open' });
    return new Promise((resolve) => {
      // raw-socket queues the send until the socket is writable; close() must not strand it.
      const done = (r: SendResult): void => {
        if (this.pending.delete(done)) resolve(r);
      };
      this.pending.add(done);
      try {
        s.send(buf, 0, buf.length, dst, (err, bytes) => {
          done(err ? { ok: false, error: `send to ${dst} on ${this.opts.ifname}: ${err.message}` } : { ok: true, bytes });
        });
      } catch (e) {
        done({ ok: false, error: `send to ${dst} on ${this.opts.ifname}: ${(e as Error).message}` });
      }
    });
  }

  private failPending(error: string): void {
    for (const done of [...this.pending]) done({ ok: false, error });
  }

  private receive(buf: Buffer, source: string): void {
    // The earliest moment JavaScript sees the packet. A backup's Master_Down_Timer counts from
    // the advert's receipt; the decoding below took 0.1-0.2 ms of a takeover (measured) when
    // the clock was read after it. (raw-socket has no recvmsg, so no SO_TIMESTAMP.)
    const receivedAt = performance.now();
    // raw-socket hands out a view of its one receive buffer: copy before the next read.
    const packet = Buffer.from(buf);
    let p: VrrpRxPacket;
    if (this.opts.family === 'inet') {
      const ip = decodeIpv4Header(packet);
      if (ip.ok) {
        // What keepalived's bind() to the group / unicast_src_ip makes the kernel drop.
        const want = this.mcastGroup ?? (this.srcIp !== '0.0.0.0' ? this.srcIp : undefined);
        if (want !== undefined && ip.header.destination !== want) {
          this.filtered++;
          return;
        }
        p = { family: 'inet', packet, from: source, dst: ip.header.destination, to: ip.header.destination, ttl: ip.header.ttl, kernelChecksum: false, receivedAt };
      } else {
        p = { family: 'inet', packet, from: source, kernelChecksum: false, receivedAt };
      }
    } else {
      p = { family: 'inet6', packet, from: source, kernelChecksum: true, receivedAt };
    }
    try {
      this.events.onPacket?.(p);
    } catch (e) {
      this.rxError(e as Error);
    }
  }

  /** An IPv6 datagram from native/recv6.c, with its IPV6_PKTINFO destination ('' when the
   *  kernel sent none) and IPV6_HOPLIMIT (-1 when none). */
  private receive6(err: Error | null, packet: Buffer, source: string, destination: string, hopLimit: number): void {
    const receivedAt = performance.now();
    if (err) {
      this.rxError(err);
      return;
    }
    const want = this.wantDst6;
    if (want !== undefined && destination !== '' && destination !== want && canonicalAddress(destination) !== want) {
      this.filtered++;
      return;
    }
    const to = destination === '' ? undefined : destination;
    const p: VrrpRxPacket = { family: 'inet6', packet, from: source, dst: to, to, hopLimit: hopLimit >= 0 ? hopLimit : undefined, kernelChecksum: true, receivedAt };
    try {
      this.events.onPacket?.(p);
    } catch (e) {
      this.rxError(e as Error);
    }
  }

  private rxError(err: Error): void {
    this.rxErrors++;
    try {
      this.events.onError?.(err);
    } catch {
      /* a failing error handler must not take the socket down */
    }
  }

  /** Close the socket; safe to call twice. */
  close(): void {
    const s = this.sock;
    this.sock = undefined;
    if (!s) return;
    openSockets.delete(this);
    this.failPending('VRRP socket closed');
    this.closeRx6();
    try {
      s.close();
    } catch {
      /* already closed */
    }
  }
}
