/**
 * Loading hacheck's own N-API addons (native/*.c, built by node-gyp into build/ at
 * `npm install`): hacheck_packet (AF_PACKET frames), hacheck_signal (real-time signals),
 * hacheck_recv6 (IPv6 VRRP receive with recvmsg ancillary data).
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const loaded = new Map<string, unknown>();
const failed = new Map<string, Error>();

/**
 * The addon `name`, loaded once; throws a clear error (the same one on every call) when it
 * was not built or cannot be loaded. Compiled files live in dist/src/net/, sources in
 * src/net/: both are two levels below a directory holding build/.
 */
export function loadAddon<T>(name: string): T {
  const have = loaded.get(name);
  if (have) return have as T;
  const error = failed.get(name);
  if (error) throw error;
  const require = createRequire(import.meta.url);
  const roots = [new URL('../../../', import.meta.url), new URL('../../', import.meta.url)].map((u) => fileURLToPath(u));
  const tried: string[] = [];
  for (const r of roots) {
    for (const path of [`${r}build/Release/${name}.node`, `${r}build/Debug/${name}.node`]) {
      try {
        const addon = require(path) as T;
        loaded.set(name, addon);
        return addon;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') {
          const err = new Error(`cannot load ${path}: ${(e as Error).message}`);
          failed.set(name, err);
          throw err;
        }
        tried.push(path);
      }
    }
  }
  const err = new Error(`${name} addon not built (\`npm install\` builds it with node-gyp; \`npm run install\` rebuilds it); looked for ${tried.join(', ')}`);
  failed.set(name, err);
  throw err;
}
