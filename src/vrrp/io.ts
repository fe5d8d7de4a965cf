/**
 * What the VRRP engine needs from the system. The real implementations (src/vrrp/system-io.ts)
 * are thin wrappers over the raw protocol-112 socket, rtnetlink and the AF_PACKET addon; the
 * engine never opens a socket itself.
 */
import type { AddressFamily } from './types.js';

export interface RxPacket {
  /** IPv4: the whole IP packet (header included, as raw sockets deliver it). IPv6: the VRRP payload. */
  packet: Buffer;
  family: AddressFamily;
  /** IP source address */
  from: string;
  /** IPv6 only (IPv4 has them in the header): destination and hop limit, when the socket reports them */
  to?: string;
  hopLimit?: number;
  /** IPv6: the kernel verified the VRRP checksum (IPV6_CHECKSUM) */
  kernelChecksum?: boolean;
  /** When the packet was received, on the performance.now() clock (before decoding).
   *  Used as the advert's receipt time when the engine runs on that clock. */
  receivedAt?: number;
}

export interface TransportOptions {
  family: AddressFamily;
  ifname: string;
  /** unicast_src_ip / mcast_src_ip */
  srcIp?: string;
  /** multicast group to join; undefined for unicast-only instances */
  mcastGroup?: string;
  /** unicast_ttl (default 255) */
  unicastTtl?: number;
}

export interface VrrpTransport {
  /**
   * Send one VRRP message (no IP header) to `dst`. Returns nothing when the message was handed
   * to the kernel within this call (the usual case: it is then ahead of any frame sent next,
   * e.g. a new master's GARPs), or a promise that resolves once a queued send is done. Never
   * throws or rejects: failures are logged by the system.
   */
  send(payload: Buffer, dst: string): void | Promise<void>;
  /** Build the packet `send` would send, and send nothing (compiles the send path ahead of the
   *  first advert that matters). Optional. */
  prepare?(payload: Buffer, dst: string): void;
  close(): void;
}

export interface LinkState {
  ifname: string;
  up: boolean;
}

export interface VrrpSystem {
  openTransport(opts: TransportOptions, onPacket: (p: RxPacket) => void): Promise<VrrpTransport>;
  /** The interface's primary address for the family (IPv4 primary; IPv6 link-local). */
  primaryAddress(ifname: string, family: AddressFamily): Promise<string | undefined>;
  /** Interface up (IFF_UP and running) now. */
  linkUp(ifname: string): Promise<boolean | undefined>;
  onLinkChange(cb: (s: LinkState) => void): void;
  /** Add / remove one instance's addresses, routes and rules (idempotent). */
  addAddresses(owner: AddressOwner): Promise<void>;
  removeAddresses(owner: AddressOwner): Promise<void>;
  /** One gratuitous ARP (IPv4) or unsolicited NA (IPv6) for each address, on `ifname`. */
  garp(ifname: string, addresses: readonly string[]): void;
  /** Build (and send nothing) the frames `garp` would send: compiles that path ahead of the
   *  first takeover, and opens the packet socket. Optional; never throws. */
  prepareGarp?(ifname: string, addresses: readonly string[]): void;
  /** Ready ahead of a takeover what `addAddresses(owner)` needs (interface indexes, a warm
   *  add path), so the VIP request leaves right after the advert and GARPs. Optional; never
   *  rejects. */
  prepareAddresses?(owner: AddressOwner): Promise<void>;
  close(): Promise<void>;
}

/** The addresses one vrrp_instance owns while MASTER. */
export interface AddressOwner {
  instance: string;
  ifname: string;
  /** model lines (src/config/model): virtual_ipaddress, _excluded, virtual_routes, virtual_rules */
  vips: readonly AddressLine[];
  routes: readonly unknown[];
  rules: readonly unknown[];
}

export interface AddressLine {
  family: AddressFamily;
  address: string;
  dev?: string;
}
