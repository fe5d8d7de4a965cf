// Shared by the checker tests: an LVS model from text, and loopback listeners.
import assert from 'node:assert/strict';
import type http from 'node:http';
import type net from 'node:net';
import { pino } from 'pino';
import { loadConfigText } from '../../src/config/index.js';
import type { LvsConfig } from '../../src/config/model/lvs.js';

/** The LVS half of a configuration that must load without errors. */
export function lvsOf(text: string): LvsConfig {
  const { config, diags } = loadConfigText(text);
  const errs = diags.list.filter((d) => d.severity === 'error');
  assert.equal(errs.length, 0, JSON.stringify(errs));
  return config.lvs;
}

/** Listen on 127.0.0.1 (`port` 0: any free port); resolves to the port. */
export function listen(server: net.Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
}

/** Close a listener (and an HTTP server's open connections); a closed one is fine. */
export function closeServer(server: net.Server | undefined): Promise<void> {
  if (!server || !server.listening) return Promise.resolve();
  (server as http.Server).closeAllConnections?.();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Wait until `cond` holds; throws "timed out waiting for <what>" after `ms`. */
export async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A debug-level pino logger whose records land, parsed, in `lines`. */
export function capture() {
  const lines: { msg: string; level: number; [k: string]: unknown }[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { lines, log };
}
