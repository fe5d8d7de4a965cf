/**
 * The real VrrpSystem: raw protocol-112 sockets (src/net/vrrp-socket.ts, `raw-socket`),
 * rtnetlink (src/net/rtnetlink.ts, `netlink`) and the AF_PACKET addon for GARP / unsolicited
 * NA (src/net/packet.ts). Thin on purpose: the tests for it run in network namespaces.
 */
import type { IpAddress, Route, Rule } from '../config/model/iproute.js';
import type { Logger } from '../log.js';
import { PacketSender } from '../net/packet.js';
import { Rtnetlink } from '../net/rtnetlink.js';
import { VrrpSocket, type SendResult } from '../net/vrrp-socket.js';
import type { AddressOwner, VrrpSystem } from './io.js';

/** The config model's address line as rtnetlink takes it. */
function asIpAddress(v: AddressOwner['vips'][number]): IpAddress {
  const a = v as Partial<IpAddress> & { prefix?: number; scope?: number | string };
  return {
    ...(a as IpAddress),
    prefixLen: a.prefixLen ?? a.prefix ?? (v.family === 'inet' ? 32 : 128),
    scope: typeof a.scope === 'number' ? a.scope : undefined,
  };
}

export async function createSystemIo(log: Logger): Promise<VrrpSystem> {
  const rtnl = new Rtnetlink();
  const senders = new Map<string, PacketSender>();
  const sender = (ifname: string): PacketSender => {
    let s = senders.get(ifname);
    if (!s || !s.isOpen) {
      s = new PacketSender().open(ifname);
      senders.set(ifname, s);
    }
    return s;
  };
  rtnl.onError((e) => log.warn({ err: e.message }, `rtnetlink: ${e.message}`));
  return {
    async openTransport(opts, onPacket) {
      const sock = new VrrpSocket({
        onPacket: (p) => onPacket({ packet: p.packet, family: p.family, from: p.from, to: p.to ?? p.dst, hopLimit: p.hopLimit, kernelChecksum: p.kernelChecksum, receivedAt: p.receivedAt }),
        onError: (e) => log.debug({ err: e.message, ifname: opts.ifname }, `VRRP socket receive error: ${e.message}`),
      });
      sock.open({
        family: opts.family,
        ifname: opts.ifname,
        srcIp: opts.srcIp,
        mcastGroup: opts.mcastGroup,
        unicast: opts.mcastGroup === undefined,
        unicastTtl: opts.unicastTtl,
      });
      if (sock.degraded) log.warn({ ifname: opts.ifname }, `VRRP socket on ${opts.ifname}: ${sock.degraded}`);
      // Load the AF_PACKET addon and open the interface's packet socket now, not on the first
      // GARP of a new master, where it would sit between the advert and the GARP.
      try {
        sender(opts.ifname);
      } catch (e) {
        log.debug({ err: (e as Error).message, ifname: opts.ifname }, `gratuitous ARP socket on ${opts.ifname}: ${(e as Error).message}`);
      }
      return {
        send(payload, dst) {
          const failed = (r: SendResult): void => {
            if (!r.ok) log.warn({ ifname: opts.ifname, dst, err: r.error }, `cannot send VRRP advert to ${dst} on ${opts.ifname}: ${r.error}`);
          };
          const r = sock.sendNow(payload, dst);
          if (r instanceof Promise) return r.then(failed);
          failed(r);
        },
        // the socket's send path up to the syscall; this module is compiled eagerly (load.ts)
        prepare(payload, dst) {
          sock.prepare(payload, dst);
        },
        close() {
          sock.close();
        },
      };
    },
    primaryAddress: (ifname, family) => rtnl.primaryAddress(ifname, family),
    async linkUp(ifname) {
      const l = await rtnl.linkByName(ifname);
      return l ? l.up && l.running : undefined;
    },
    onLinkChange(cb) {
      rtnl.onLinkChange((e) => cb({ ifname: e.name, up: !e.deleted && e.up && e.running }));
    },
    async addAddresses(owner) {
      // keepalived adds the addresses, then routes and rules (which may need them).
      await Promise.all(owner.vips.map((v) => rtnl.addAddress(asIpAddress(v), v.dev ?? owner.ifname)));
      for (const r of owner.routes) await rtnl.addRoute(r as Route);
      for (const r of owner.rules) await rtnl.addRule(r as Rule);
    },
    async removeAddresses(owner) {
      for (const r of owner.rules) await rtnl.delRule(r as Rule).catch(() => undefined);
      for (const r of owner.routes) await rtnl.delRoute(r as Route).catch(() => undefined);
      await Promise.all(owner.vips.map((v) => rtnl.delAddress(asIpAddress(v), v.dev ?? owner.ifname)));
    },
    async prepareAddresses(owner) {
      await rtnl.prepareAddresses(owner.vips.map((v) => ({ address: asIpAddress(v), ifname: v.dev ?? owner.ifname })));
    },
    prepareGarp(ifname, addresses) {
      try {
        sender(ifname).prepare(addresses);
      } catch (e) {
        log.debug({ err: (e as Error).message, ifname }, `gratuitous ARP socket on ${ifname}: ${(e as Error).message}`);
      }
    },
    garp(ifname, addresses) {
      const s = sender(ifname);
      for (const a of addresses) {
        if (a.includes(':')) s.sendUnsolicitedNa(a);
        else s.sendGarp(a);
      }
    },
    async close() {
      for (const s of senders.values()) s.close();
      senders.clear();
      rtnl.close();
    },
  };
}
