/**
 * native/recv6.c, the IPv6 recvmsg socket behind VrrpSocket: its argument checks and life
 * cycle, in-process. What it reads on a real link is tested in vrrp-socket.test.ts.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadAddon } from '../../src/net/addon.js';

type Handle = { readonly __h: unique symbol };
interface Recv6 {
  open(protocol: number): Handle;
  setsockopt(h: Handle, level: number, name: number, value: number | Buffer): void;
  start(h: Handle, cb: (...a: unknown[]) => void): void;
  close(h: Handle): void;
}

describe('hacheck_recv6 addon', () => {
  const addon = loadAddon<Recv6>('hacheck_recv6');

  it('refuses wrong arguments with a TypeError or RangeError, never a crash', () => {
    assert.throws(() => (addon.open as (p?: unknown) => Handle)(), { code: 'ERR_MISSING_ARGS' });
    assert.throws(() => addon.open('112' as unknown as number), TypeError);
    assert.throws(() => addon.open(256), RangeError);
    assert.throws(() => addon.close({} as Handle), /not an IPv6 receive socket handle/);
    assert.throws(() => addon.start(1 as unknown as Handle, () => undefined), TypeError);
  });

  it('as root: open, set options, start, close twice; a closed handle is EBADF', function () {
    if (process.getuid?.() !== 0) this.skip();
    const h = addon.open(112);
    addon.setsockopt(h, 1, 25, Buffer.from('lo\0')); // SO_BINDTODEVICE
    addon.setsockopt(h, 41, 7, 6); // IPV6_CHECKSUM
    assert.throws(() => addon.setsockopt(h, 41, 7, 'x' as unknown as number), TypeError);
    assert.throws(() => addon.setsockopt(h, 41, 9999, 1), { code: 'ENOPROTOOPT' });
    assert.throws(() => addon.start(h, 'cb' as unknown as () => void), /callback must be a function/);
    addon.start(h, () => undefined);
    assert.throws(() => addon.start(h, () => undefined), /already started/);
    addon.close(h);
    addon.close(h);
    assert.throws(() => addon.setsockopt(h, 41, 7, 6), { code: 'EBADF' });
    assert.throws(() => addon.start(h, () => undefined), { code: 'EBADF' });
  });

  it('as root: a started handle that is dropped without close() is cleaned up by the garbage collector', async function () {
    if (process.getuid?.() !== 0) this.skip();
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const fds = (): number => readdirSync('/proc/self/fd').length;
    const before = fds();
    (() => {
      for (let i = 0; i < 20; i++) addon.start(addon.open(112), () => undefined);
    })();
    for (let i = 0; i < 10 && fds() > before; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(fds() <= before, `descriptors before ${before}, after ${fds()}`);
  });
});
