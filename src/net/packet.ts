/**
 * Sending whole Ethernet frames (gratuitous ARP, unsolicited NA) through hacheck's own
 * AF_PACKET addon (native/packet.c, built by node-gyp into build/Release at `npm install`).
 * Frames come from the pure builders in src/vrrp/garp.ts.
 */
import { readFileSync } from 'node:fs';
import { loadAddon } from './addon.js';
import { ARPHRD_ETHER, formatMac, gratuitousArpFrame, unsolicitedNaFrame } from '../vrrp/garp.js';

/** Opaque socket handle owned by the addon. */
export type PacketHandle = { readonly __packetHandle: unique symbol };

export interface InterfaceInfo {
  ifindex: number;
  /** ARPHRD_* link type (1 = Ethernet) */
  hwType: number;
  /** hardware address (6 bytes on Ethernet) */
  mac: Buffer;
}

export interface PacketAddon {
  /** Send-only AF_PACKET SOCK_RAW socket bound to `ifname`; non-blocking. */
  open(ifname: string): PacketHandle;
  /** Send one whole Ethernet frame; returns the bytes sent. */
  send(handle: PacketHandle, frame: Buffer): number;
  /** Idempotent. */
  close(handle: PacketHandle): void;
  /** if_nametoindex + SIOCGIFHWADDR. */
  interfaceInfo(ifname: string): InterfaceInfo;
}

/** The addon, loaded on first use; throws a clear error when it was not built. */
export function packetAddon(): PacketAddon {
  return loadAddon<PacketAddon>('hacheck_packet');
}

/**
 * Whether `ifname` forwards IPv6 (net.ipv6.conf.<if>.forwarding, read in the caller's network
 * namespace): keepalived sets the NA Router flag from it. False when IPv6 is off.
 */
export function ipv6Forwarding(ifname: string): boolean {
  if (!/^[^/\0]{1,15}$/.test(ifname) || ifname === '.' || ifname === '..') return false;
  try {
    return readFileSync(`/proc/sys/net/ipv6/conf/${ifname}/forwarding`, 'utf8').trim() !== '0';
  } catch {
    return false;
  }
}

/** Frames kept per socket: one per VIP, bounded anyway. */
const MAX_CACHED_FRAMES = 1024;

/** keepalived rechecks the forwarding sysctl at most every 5 s per interface (vrrp_ndisc.c). */
const ROUTER_RECHECK_MS = 5000;

/**
 * One interface's send-only packet socket. Every call is a synchronous, non-blocking
 * syscall, so calls from any number of async tasks never interleave mid-frame; `close()` is
 * idempotent and a send after it throws instead of touching a reused descriptor. Send errors
 * (ENETDOWN when the link is down, EAGAIN/ENOBUFS when the queue is full) are thrown as
 * Errors with `code` set; keepalived logs them and carries on, so should the caller.
 */
export class PacketSender {
  private handle: PacketHandle | undefined;
  private info: InterfaceInfo | undefined;
  private name: string | undefined;
  private routerCheckedAt = -Infinity;
  private router = false;
  /** frames built for the open socket, by kind and address (see frame()) */
  private readonly frames = new Map<string, Buffer>();

  constructor(
    private readonly lib: PacketAddon = packetAddon(),
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Open `ifname` (reads its index and MAC). Re-opening closes the previous socket. */
  open(ifname: string): this {
    const info = this.lib.interfaceInfo(ifname);
    if (info.hwType !== ARPHRD_ETHER) {
      throw new Error(`${ifname}: link type ${info.hwType} is not Ethernet; only Ethernet GARP/NA are supported`);
    }
    const handle = this.lib.open(ifname);
    this.close();
    this.handle = handle;
    this.info = info;
    this.name = ifname;
    this.routerCheckedAt = -Infinity;
    this.frames.clear();
    return this;
  }

  static open(ifname: string, lib?: PacketAddon): PacketSender {
    return new PacketSender(lib).open(ifname);
  }

  get isOpen(): boolean {
    return this.handle !== undefined;
  }

  get ifname(): string | undefined {
    return this.name;
  }

  get ifindex(): number | undefined {
    return this.info?.ifindex;
  }

  /** The interface MAC as read at open(), "aa:bb:cc:dd:ee:ff". */
  get mac(): string | undefined {
    return this.info ? formatMac(this.info.mac) : undefined;
  }

  /** Re-read the interface MAC (after a MAC change); the socket stays bound to the same ifindex. */
  refresh(): void {
    const { name } = this.requireOpen();
    this.info = this.lib.interfaceInfo(name);
  }

  /** Send one raw frame; returns bytes sent. */
  sendFrame(frame: Buffer): number {
    return this.lib.send(this.requireOpen().handle, frame);
  }

  /** One gratuitous ARP for the IPv4 address `ip` from this interface's MAC. */
  sendGarp(ip: string): number {
    return this.sendFrame(this.garpFrame(ip));
  }

  /**
   * One unsolicited NA for the IPv6 address `ip6`. The Router flag follows the interface's
   * IPv6 forwarding sysctl (rechecked at most every 5 s, as keepalived) unless given.
   */
  sendUnsolicitedNa(ip6: string, opts: { router?: boolean } = {}): number {
    return this.sendFrame(this.naFrame(ip6, opts.router));
  }

  /**
   * Build (and send nothing) the frames sendGarp / sendUnsolicitedNa would send for these
   * addresses (IPv6 ones as NA), so a new master's first burst finds them ready.
   */
  prepare(addresses: readonly string[]): void {
    for (const a of addresses) {
      if (a.includes(':')) this.naFrame(a);
      else this.garpFrame(a);
    }
  }

  private garpFrame(ip: string): Buffer {
    const { info } = this.requireOpen();
    return this.frame(`arp|${ip}`, () => gratuitousArpFrame({ srcMac: info.mac, ip }));
  }

  private naFrame(ip6: string, router?: boolean): Buffer {
    const { info, name } = this.requireOpen();
    if (router === undefined) {
      const t = this.now();
      if (t - this.routerCheckedAt >= ROUTER_RECHECK_MS) {
        this.router = ipv6Forwarding(name);
        this.routerCheckedAt = t;
      }
      router = this.router;
    }
    const r = router;
    return this.frame(`na|${ip6}|${r ? 1 : 0}`, () => unsolicitedNaFrame({ srcMac: info.mac, ip6, router: r }));
  }

  /**
   * A frame is the same every time for one address on one open socket (the MAC is read at
   * open), so it is built once: a new master's burst of garp_master_repeat frames then costs
   * its sendto(2) calls only.
   */
  private frame(key: string, build: () => Buffer): Buffer {
    let f = this.frames.get(key);
    if (!f) {
      f = build();
      if (this.frames.size >= MAX_CACHED_FRAMES) this.frames.clear();
      this.frames.set(key, f);
    }
    return f;
  }

  close(): void {
    const h = this.handle;
    this.handle = undefined;
    if (h) this.lib.close(h);
  }

  private requireOpen(): { handle: PacketHandle; info: InterfaceInfo; name: string } {
    if (!this.handle || !this.info || this.name === undefined) {
      throw Object.assign(new Error('packet socket is not open'), { code: 'ERR_SOCKET_CLOSED' });
    }
    return { handle: this.handle, info: this.info, name: this.name };
  }
}
