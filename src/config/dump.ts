// `--dump-config`: the resolved model as JSON with a stable key order, for diffing.

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v instanceof Map) return sortKeys(Object.fromEntries(v));
  if (v instanceof Set) return [...v].map(sortKeys);
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) o[k] = sortKeys(x);
    }
    return o;
  }
  return v;
}

export function toJson(model: unknown): string {
  return JSON.stringify(sortKeys(model), (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2);
}
