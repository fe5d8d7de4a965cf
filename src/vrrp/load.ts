/**
 * Loads the VRRP engine and its system I/O with V8's lazy compilation off.
 *
 * V8 compiles a function on its first call. A backup's takeover path (Master_Down_Timer →
 * reducer → advert → GARP) runs for the first time exactly when it matters; in the failover
 * lab, compiling it then put 0.1-0.2 ms between the timer and the advert (node --no-lazy
 * removed it). engine.ts warms what it can by running that path dry at start; the closures it
 * cannot call without side effects are compiled here, with the rest of these modules, at the
 * cost of a few milliseconds of start-up.
 */
import { setFlagsFromString } from 'node:v8';

export async function loadVrrp() {
  setFlagsFromString('--no-lazy');
  try {
    const [engine, systemIo] = await Promise.all([import('./engine.js'), import('./system-io.js')]);
    return { VrrpEngine: engine.VrrpEngine, createSystemIo: systemIo.createSystemIo };
  } finally {
    setFlagsFromString('--lazy');
  }
}
