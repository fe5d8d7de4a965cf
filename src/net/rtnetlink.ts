// rtnetlink I/O (rtnetlink(7)): the VRRP layer's addresses (virtual_ipaddress,
// virtual_ipaddress_excluded, static_ipaddress), routes and rules, and link / address
// events for track_interface. The messages are built by ./rtnetlink-codec.ts; this file
// only talks to the kernel through the `netlink` package.
//
// The socket (and so everything it changes) belongs to the network namespace of the process
// that opened it.

import { AttrStream, FlagsGet, Protocol, createNetlink, rt, type NetlinkMessage, type NetlinkSocket } from 'netlink';
import type { Family, IpAddress, Route, Rule } from '../config/model/iproute.js';
import {
  ERRNO,
  NLMSG_ERROR,
  RTM,
  RtnetlinkError,
  ackErrno,
  addressRequest,
  decodeAddress,
  decodeLink,
  decodeLinkKind,
  isAbsentErrno,
  routeRequest,
  ruleRequest,
  type AddResult,
  type AddressEvent,
  type AddressInfo,
  type DelResult,
  type LinkEvent,
  type LinkInfo,
  type Request,
} from './rtnetlink-codec.js';

export { RtnetlinkError, ERRNO, type AddResult, type AddressEvent, type AddressInfo, type DelResult, type LinkEvent, type LinkInfo } from './rtnetlink-codec.js';

/** createNetlink's options (its typing wrongly makes the buffer sizes mandatory) */
type SocketOptions = Parameters<typeof createNetlink>[1];

export interface RtnetlinkOptions {
  /** how long to wait for the kernel's answer to one request, ms (default 5000) */
  timeoutMs?: number;
  /** IFA_PROTO to mark added addresses with (Linux ≥ 5.18); not sent when undefined */
  addressProtocol?: number;
}

/** IFNAMSIZ - 1: the longest interface name the kernel accepts */
const IFNAME_MAX = 15;
/** event socket SO_RCVBUF, bytes */
const EVENT_RCVBUF = 1 << 20;
/** NLM_F_DUMP_INTR (linux/netlink.h): the dump is inconsistent, the table changed meanwhile */
const NLM_F_DUMP_INTR = 0x10;
const DUMP_ATTEMPTS = 3;
/** An interface index no interface has: the kernel answers ENODEV (prepareAddresses). */
const NO_INTERFACE = 0;
/** Rounds of the add path prepareAddresses runs per address line. */
const PREPARE_ROUNDS = 5;

/**
 * One rtnetlink socket for requests (each one acked by the kernel, one at a time, with a
 * bounded wait), and, once something subscribes, a second socket joined to the link /
 * address multicast groups. Events get their own socket because the package groups
 * multipart dump replies by arrival order: a notification arriving in the middle of a
 * dump would cut that dump short.
 */
export class Rtnetlink {
  private readonly nl: NetlinkSocket;
  private events?: NetlinkSocket;
  private readonly joined = new Set<number>();
  private readonly linkCbs = new Set<(e: LinkEvent) => void>();
  private readonly addrCbs = new Set<(e: AddressEvent) => void>();
  private readonly errorCbs = new Set<(e: Error) => void>();
  /**
   * Interface indexes addAddress has looked up. A takeover adds its VIPs right after the
   * advert and the GARPs; a lookup round trip first would land the VIP later than keepalived
   * does. Dropped on a link event for the name or index, and retried once on ENODEV.
   */
  private readonly indexCache = new Map<string, number>();
  private queue: Promise<unknown> = Promise.resolve();
  /** requests asked for and not yet settled: with none, the next one is sent within the call */
  private unsettled = 0;
  private closed = false;
  /** rejects the request in flight when close() is called (the package would leave it hanging) */
  private abortInFlight?: (e: Error) => void;
  private readonly timeoutMs: number;

  constructor(private readonly opts: RtnetlinkOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.nl = createNetlink(Protocol.ROUTE, { ref: false } as SocketOptions);
    this.nl.on('error', (e) => this.emitError(e));
  }

  /** Close both sockets; later calls fail with EBADF. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.abortInFlight?.(new Error('socket closed'));
    this.nl.close();
    this.events?.close();
    this.linkCbs.clear();
    this.addrCbs.clear();
  }

  // -------------------------------------------------------------------------------------
  // Requests

  /**
   * Send one request and wait for its ack (or dump), one request at a time: the kernel
   * runs one dump per socket, and keepalived's changes are ordered too. Returns the
   * non-error reply messages; a refusal throws RtnetlinkError with the kernel's errno.
   */
  private talk(req: Request, dump = false): Promise<NetlinkMessage[]> {
    const run = async (): Promise<NetlinkMessage[]> => {
      if (this.closed) throw new RtnetlinkError(req.what, ERRNO.EBADF, 'socket closed');
      let msgs: NetlinkMessage[];
      try {
        const answer = this.nl.request(req.type, req.body, {
          flags: req.flags | (dump ? FlagsGet.DUMP : 0),
          checkError: false,
          timeout: this.timeoutMs,
        });
        const aborted = new Promise<never>((_, reject) => (this.abortInFlight = reject));
        answer.catch(() => undefined);
        [msgs] = await Promise.race([answer, aborted]);
      } catch (e) {
        if (this.closed) throw new RtnetlinkError(req.what, ERRNO.EBADF, 'socket closed');
        const err = e as { errno?: number; message?: string };
        if (typeof err.errno === 'number') throw new RtnetlinkError(req.what, Math.abs(err.errno));
        if (/timeout/i.test(err.message ?? '')) throw new RtnetlinkError(req.what, ERRNO.ETIMEDOUT, `no answer from the kernel within ${this.timeoutMs} ms`);
        throw new RtnetlinkError(req.what, ERRNO.EINVAL, err.message ?? String(e));
      }
      for (const m of msgs) {
        if (m.type !== NLMSG_ERROR) continue;
        const errno = ackErrno(m);
        if (errno !== 0) throw new RtnetlinkError(req.what, errno);
      }
      return msgs.filter((m) => m.type !== NLMSG_ERROR);
    };
    // abortInFlight belongs to whichever request runs now (requests run one at a time).
    // Nothing outstanding: send now, in this call (the package's send is a synchronous
    // sendmsg(2) on an idle socket), so a new master's VIP request is not left waiting behind
    // the log lines written after it in the same turn.
    const p = this.unsettled === 0 ? run() : this.queue.then(run, run);
    this.unsettled++;
    this.queue = p.catch(() => undefined);
    void this.queue.then(() => this.unsettled--);
    return p;
  }

  /**
   * A dump (RTM_GET* with NLM_F_DUMP). The kernel flags a dump that ran while the table
   * changed (NLM_F_DUMP_INTR); it is asked again, a few times, for a consistent picture.
   */
  private async dump(req: Request): Promise<NetlinkMessage[]> {
    let msgs: NetlinkMessage[] = [];
    for (let attempt = 0; attempt < DUMP_ATTEMPTS; attempt++) {
      msgs = await this.talk(req, true);
      if (!msgs.some((m) => (m.flags & NLM_F_DUMP_INTR) !== 0)) break;
    }
    return msgs;
  }

  /** Add: EEXIST means the kernel already has it, which is what was wanted. */
  private async add(req: Request): Promise<AddResult> {
    try {
      await this.talk(req);
      return 'added';
    } catch (e) {
      if (e instanceof RtnetlinkError && e.errno === ERRNO.EEXIST) return 'exists';
      throw e;
    }
  }

  /** Delete: EADDRNOTAVAIL / ESRCH / ENOENT mean there was nothing to delete. */
  private async del(req: Request): Promise<DelResult> {
    try {
      await this.talk(req);
      return 'deleted';
    } catch (e) {
      if (e instanceof RtnetlinkError && isAbsentErrno(e.errno)) return 'absent';
      throw e;
    }
  }

  // -------------------------------------------------------------------------------------
  // Links

  /** Every interface of the namespace (RTM_GETLINK dump). */
  async links(): Promise<LinkInfo[]> {
    const msgs = await this.dump({ type: RTM.GETLINK, flags: 0, body: [rt.formatLink({})], what: 'list links' });
    const out: LinkInfo[] = [];
    for (const m of msgs) if (m.type === RTM.NEWLINK) out.push(decodeLink(rt.parseLinkMessage(m.data)));
    return out;
  }

  private async getLink(name: string): Promise<rt.LinkMessage | undefined> {
    if (name.length === 0 || name.length > IFNAME_MAX || name.includes('\0')) return undefined;
    const body = new AttrStream();
    rt.formatLinkMessage({ kind: 'link', data: {}, attrs: { ifname: name } }, body);
    try {
      const msgs = await this.talk({ type: RTM.GETLINK, flags: 0, body: body.bufs, what: `get link ${name}` });
      const m = msgs.find((x) => x.type === RTM.NEWLINK);
      return m ? rt.parseLinkMessage(m.data) : undefined;
    } catch (e) {
      if (e instanceof RtnetlinkError && e.errno === ERRNO.ENODEV) return undefined;
      throw e;
    }
  }

  /** One interface by name, undefined when there is none. */
  async linkByName(name: string): Promise<LinkInfo | undefined> {
    const m = await this.getLink(name);
    return m ? decodeLink(m) : undefined;
  }

  /** The interface's index, or RtnetlinkError ENODEV naming the operation. */
  private async ifindex(name: string, what: string): Promise<number> {
    const l = await this.linkByName(name);
    if (!l) throw new RtnetlinkError(what, ERRNO.ENODEV, `no such interface ${name}`);
    return l.index;
  }

  /** The routing table of VRF device `name` (a route's `vrf NAME`). */
  async vrfTable(name: string): Promise<number> {
    const m = await this.getLink(name);
    if (!m) throw new RtnetlinkError(`get vrf ${name}`, ERRNO.ENODEV, `no such interface ${name}`);
    const k = decodeLinkKind(m.attrs.linkinfo);
    if (k.vrfTable === undefined) throw new RtnetlinkError(`get vrf ${name}`, ERRNO.EINVAL, `${name} is not a VRF`);
    return k.vrfTable;
  }

  // -------------------------------------------------------------------------------------
  // Addresses

  /** Addresses of every interface, or of `ifname` (an unknown name gives []). */
  async addresses(ifname?: string): Promise<AddressInfo[]> {
    let index: number | undefined;
    if (ifname !== undefined) {
      const l = await this.linkByName(ifname);
      if (!l) return [];
      index = l.index;
    }
    const msgs = await this.dump({ type: RTM.GETADDR, flags: 0, body: [rt.formatAddress({})], what: 'list addresses' });
    const out: AddressInfo[] = [];
    for (const m of msgs) {
      if (m.type !== RTM.NEWADDR) continue;
      const a = decodeAddress(rt.parseAddressMessage(m.data));
      if (a && (index === undefined || a.ifindex === index)) out.push(a);
    }
    return out;
  }

  /**
   * keepalived's interface address for VRRP (the advert source and the equal-priority
   * tie-break, RFC 5798 §6.4.3): IPv4, the first primary (non-secondary) global address;
   * IPv6, the first link-local address, preferring one whose DAD is done. Addresses in
   * `exclude` (the instance's own VIPs) are skipped.
   */
  async primaryAddress(ifname: string, family: Family, exclude: Iterable<string> = []): Promise<string | undefined> {
    const skip = new Set(exclude);
    const all = (await this.addresses(ifname)).filter((a) => a.family === family && !skip.has(a.address));
    if (family === 'inet') return all.find((a) => !a.secondary && a.scope === 0)?.address;
    const ll = all.filter((a) => /^fe[89ab]/i.test(a.address));
    return (ll.find((a) => !a.tentative) ?? ll[0])?.address;
  }

  /**
   * Ready addAddress for these lines ahead of time, so that a takeover's first one reaches
   * its sendmsg(2) at once: each interface's index looked up and kept (no lookup round trip),
   * and the whole add path run for real a few times with interface index 0, which the kernel
   * refuses (ENODEV) without touching anything, so V8 has compiled it and its inline caches
   * are warm. Measured in a namespace: a first addAddress took 0.72 ms to its sendmsg cold.
   * Interfaces that do not exist (yet) are skipped: addAddress looks them up then.
   */
  async prepareAddresses(lines: readonly { address: IpAddress; ifname: string }[]): Promise<void> {
    for (const { address, ifname } of lines) {
      let index = this.indexCache.get(ifname);
      if (index === undefined) {
        index = (await this.linkByName(ifname).catch(() => undefined))?.index;
        if (index === undefined) continue;
        this.indexCache.set(ifname, index);
      }
      for (let i = 0; i < PREPARE_ROUNDS; i++) await this.addWithIndex(address, NO_INTERFACE, ifname).catch(() => undefined);
    }
  }

  private addWithIndex(a: IpAddress, index: number, ifname: string): Promise<AddResult> {
    return this.add(addressRequest('add', a, index, ifname, this.opts.addressProtocol));
  }

  /**
   * Add an address line to `ifname` (prefix, brd, label, scope, peer, IFA_FLAGS, IPv6
   * preferred_lft as keepalived sends them). 'exists' when the kernel already has it.
   */
  async addAddress(a: IpAddress, ifname: string): Promise<AddResult> {
    const what = `add address ${a.address}/${a.prefixLen} dev ${ifname}`;
    const cached = this.indexCache.get(ifname);
    if (cached !== undefined) {
      try {
        return await this.addWithIndex(a, cached, ifname);
      } catch (e) {
        if (!(e instanceof RtnetlinkError && e.errno === ERRNO.ENODEV)) throw e;
        this.indexCache.delete(ifname); // the interface went (or came back with a new index)
      }
    }
    const index = await this.ifindex(ifname, what);
    this.indexCache.set(ifname, index);
    return this.addWithIndex(a, index, ifname);
  }

  /**
   * Remove an address line from `ifname`. 'absent' when it is not there, or when the
   * interface itself is gone (keepalived: nothing left to delete).
   */
  async delAddress(a: IpAddress, ifname: string): Promise<DelResult> {
    const l = await this.linkByName(ifname);
    if (!l) return 'absent';
    try {
      return await this.del(addressRequest('del', a, l.index, ifname));
    } catch (e) {
      // the interface vanished between the lookup and the delete
      if (e instanceof RtnetlinkError && e.errno === ERRNO.ENODEV) return 'absent';
      throw e;
    }
  }

  // -------------------------------------------------------------------------------------
  // Routes and rules

  private async routeReq(op: 'add' | 'del', r: Route, what: string): Promise<Request> {
    const names = new Set<string>();
    if (r.dev !== undefined) names.add(r.dev);
    for (const nh of r.nexthops) if (nh.dev !== undefined) names.add(nh.dev);
    const index = new Map<string, number>();
    for (const n of names) index.set(n, await this.ifindex(n, what));
    const table = r.vrf !== undefined ? await this.vrfTable(r.vrf) : r.table;
    return routeRequest(op, r, (n) => index.get(n)!, table);
  }

  /** Add a route line (virtual_routes / static_routes). 'exists' on EEXIST. */
  async addRoute(r: Route): Promise<AddResult> {
    return this.add(await this.routeReq('add', r, `add route ${r.dst.address ?? 'default'}`));
  }

  /** Delete a route line. 'absent' when no such route (or its interface is gone). */
  async delRoute(r: Route): Promise<DelResult> {
    let req: Request;
    try {
      req = await this.routeReq('del', r, `del route ${r.dst.address ?? 'default'}`);
    } catch (e) {
      if (e instanceof RtnetlinkError && e.errno === ERRNO.ENODEV) return 'absent';
      throw e;
    }
    return this.del(req);
  }

  /** Add a rule line (virtual_rules / static_rules). 'exists' on EEXIST. */
  async addRule(r: Rule): Promise<AddResult> {
    return this.add(ruleRequest('add', r));
  }

  /** Delete a rule line. 'absent' when there is no such rule. */
  async delRule(r: Rule): Promise<DelResult> {
    return this.del(ruleRequest('del', r));
  }

  // -------------------------------------------------------------------------------------
  // Events

  /**
   * Link changes (RTM_NEWLINK / RTM_DELLINK on RTMGRP_LINK): every notification, also
   * ones that change nothing the caller tracks. Returns the unsubscribe function.
   */
  onLinkChange(cb: (e: LinkEvent) => void): () => void {
    this.linkCbs.add(cb);
    this.join([rt.MulticastGroups.LINK]);
    return () => this.linkCbs.delete(cb);
  }

  /** Address changes (RTM_NEWADDR / RTM_DELADDR on RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR). */
  onAddressChange(cb: (e: AddressEvent) => void): () => void {
    this.addrCbs.add(cb);
    this.join([rt.MulticastGroups.IPV4_IFADDR, rt.MulticastGroups.IPV6_IFADDR]);
    return () => this.addrCbs.delete(cb);
  }

  /**
   * Socket errors, notably ENOBUFS on the event socket: notifications were lost and the
   * caller should re-read links() / addresses().
   */
  onError(cb: (e: Error) => void): () => void {
    this.errorCbs.add(cb);
    return () => this.errorCbs.delete(cb);
  }

  /** Open the event socket on first use and join the multicast groups not joined yet. */
  private join(groups: number[]): void {
    if (this.closed) return;
    if (!this.events) {
      // ref: an event subscriber keeps the process alive until close()
      // a larger receive buffer makes ENOBUFS (lost notifications) less likely under bursts
      this.events = createNetlink(Protocol.ROUTE, { ref: true, recvBufferSize: EVENT_RCVBUF } as SocketOptions);
      this.events.on('error', (e) => this.emitError(e));
      this.events.on('message', (msgs) => this.dispatch(msgs));
    }
    for (const g of groups) {
      if (this.joined.has(g)) continue;
      this.events.addMembership(g);
      this.joined.add(g);
    }
  }

  private emitError(e: Error): void {
    for (const cb of this.errorCbs) cb(e);
  }

  private dispatch(msgs: NetlinkMessage[]): void {
    for (const m of msgs) {
      try {
        if (m.type === RTM.NEWLINK || m.type === RTM.DELLINK) {
          const e: LinkEvent = { ...decodeLink(rt.parseLinkMessage(m.data)), deleted: m.type === RTM.DELLINK };
          for (const [name, index] of this.indexCache) if (name === e.name || index === e.index) this.indexCache.delete(name);
          for (const cb of this.linkCbs) cb(e);
        } else if (m.type === RTM.NEWADDR || m.type === RTM.DELADDR) {
          const a = decodeAddress(rt.parseAddressMessage(m.data));
          if (!a) continue;
          const e: AddressEvent = { ...a, deleted: m.type === RTM.DELADDR };
          for (const cb of this.addrCbs) cb(e);
        }
      } catch (err) {
        // a message the package cannot parse is reported, never thrown into the socket
        this.emitError(err as Error);
      }
    }
  }
}

