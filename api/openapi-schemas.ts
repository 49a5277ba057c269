/**
 * One component name per schema in the OpenAPI document.
 *
 * fastify-type-provider-zod 7 writes every schema registered with an id twice: `X` for responses
 * (zod's "output" side) and `XInput` for params and bodies ("input"; its src/registry.ts), also
 * where the two are the same and where one side is never used. Generated clients then get two
 * types per schema. This keeps the schemas the paths reach, names each `X`, and keeps an `XInput`
 * only where it really differs from `X` (e.g. a field with a default is optional on input).
 */

const PREFIX = '#/components/schemas/';
const SUFFIX = 'Input';

type Json = unknown;
type Schemas = Record<string, Json>;

/** Every `$ref` value, rewritten by `map` (a copy; the input is not changed). */
function mapRefs(value: Json, map: (ref: string) => string): Json {
  if (Array.isArray(value)) return value.map((v) => mapRefs(v, map));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = k === '$ref' && typeof v === 'string' ? map(v) : mapRefs(v, map);
  }
  return out;
}

function refsIn(value: Json, into: Set<string>): Set<string> {
  mapRefs(value, (ref) => {
    if (ref.startsWith(PREFIX)) into.add(ref.slice(PREFIX.length));
    return ref;
  });
  return into;
}

/** The schemas reachable from everything outside components.schemas (paths, responses, ...). */
function reachable(doc: Record<string, Json>, schemas: Schemas): Set<string> {
  const { components, ...rest } = doc as { components?: Record<string, Json> };
  const { schemas: _omit, ...otherComponents } = components ?? {};
  const seen = refsIn([rest, otherComponents], new Set());
  const queue = [...seen];
  while (queue.length > 0) {
    for (const next of refsIn(schemas[queue.pop()!], new Set())) {
      if (!seen.has(next) && next in schemas) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return seen;
}

/** `XInput` names that can become `X`: largest set for which each pair is equal once merged. */
function mergeable(schemas: Schemas): Set<string> {
  const pairs = new Set(Object.keys(schemas).filter((n) => n.endsWith(SUFFIX) && n !== SUFFIX));
  for (let changed = true; changed; ) {
    changed = false;
    const rename = (ref: string) =>
      pairs.has(ref.slice(PREFIX.length)) ? ref.slice(0, -SUFFIX.length) : ref;
    for (const input of pairs) {
      const base = input.slice(0, -SUFFIX.length);
      if (!(base in schemas)) continue; // only the input side is used: always renamed
      const same =
        JSON.stringify(mapRefs(schemas[input], rename)) === JSON.stringify(mapRefs(schemas[base], rename));
      if (!same) {
        pairs.delete(input);
        changed = true;
      }
    }
  }
  return pairs;
}

/** The document with unused schemas dropped and identical `XInput` twins folded into `X`. */
export function dedupeInputSchemas<T extends object>(doc: T): T {
  const d = doc as Record<string, Json> & { components?: { schemas?: Schemas } };
  const all = d.components?.schemas;
  if (!all) return doc;
  const used = reachable(d, all);
  const kept: Schemas = Object.fromEntries(Object.entries(all).filter(([name]) => used.has(name)));
  const folded = mergeable(kept);
  const rename = (ref: string) =>
    ref.startsWith(PREFIX) && folded.has(ref.slice(PREFIX.length)) ? ref.slice(0, -SUFFIX.length) : ref;
  const schemas: Schemas = {};
  for (const [name, schema] of Object.entries(kept)) {
    const target = folded.has(name) ? name.slice(0, -SUFFIX.length) : name;
    schemas[target] ??= mapRefs(schema, rename);
  }
  const out = mapRefs({ ...d, components: { ...d.components, schemas: {} } }, rename) as typeof d;
  out.components!.schemas = Object.fromEntries(
    Object.keys(schemas)
      .sort()
      .map((k) => [k, schemas[k]]),
  );
  return out as T;
}
