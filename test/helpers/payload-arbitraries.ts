/**
 * Generated telemetry payloads for the ingest fast path's differential test
 * (test/ingest-line-scan.test.ts): payload trees serialised with varied number texts and whitespace,
 * valid JSON or not, and plain payloads as devices send them.
 */
import fc from 'fast-check';

// Generators: payload trees, serialised with varied number texts and whitespace.
export const keyArb = fc.oneof(
  { weight: 8, arbitrary: fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.-]{0,8}$/) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'time',
      'device',
      'ts',
      'values',
      '1bad',
      'a b',
      'é',
      'k'.repeat(65),
      '__proto__',
      '',
    ),
  },
);
/** Number tokens as devices may write them, valid JSON or not. */
export const numberArb: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: -1e6, max: 1e6 }).map((i) => String(i / 100)),
  fc
    .tuple(fc.integer({ min: -999, max: 999 }), fc.integer({ min: 0, max: 4 }))
    .map(([i, zeros]) => `${i}.${'0'.repeat(zeros + 1)}`),
  fc.double({ noNaN: true }).map((d) => JSON.stringify(d)),
  fc.constantFrom('-0', '-0.0', '1e21', '0', '01', '1.', '1e400', '123456789012345678901234567890'),
);
export const stringArb = fc.oneof(
  fc.stringMatching(/^[ -~]{0,12}$/),
  fc.string({ maxLength: 8, unit: 'grapheme' }),
  fc.constant('x'.repeat(70 * 1024)),
);
export type Value = { kind: 'num'; n: string } | { kind: 'str'; s: string } | { kind: 'lit'; text: string };
export const valueArb: fc.Arbitrary<Value> = fc.oneof(
  { weight: 6, arbitrary: numberArb.map((n) => ({ kind: 'num' as const, n })) },
  { weight: 2, arbitrary: stringArb.map((s) => ({ kind: 'str' as const, s })) },
  { weight: 2, arbitrary: fc.constantFrom('true', 'false').map((text) => ({ kind: 'lit' as const, text })) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('null', '{"x":1}', '[1]', 'NaN')
      .map((text) => ({ kind: 'lit' as const, text })),
  },
);
export const valuesArb = fc.array(fc.tuple(keyArb, valueArb), { minLength: 0, maxLength: 5 });
export const tsArb = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 2_000_000_000_000 }).map(String) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '-5',
      '1.5',
      '9223372036854',
      '9223372036855',
      '1e12',
      '"2024-11-22T01:00:00Z"',
      'null',
      '00',
    ),
  },
);
export const wsArb = fc.constantFrom('', '', '', ' ', '\n', '\t ', '\r\n');

export function serialise(ws: string[], parts: (string | undefined)[]): string {
  let k = 0;
  return parts.map((p) => (p === undefined ? (ws[k++ % ws.length] ?? '') : p)).join('');
}
export const valueText = (v: Value) =>
  v.kind === 'num' ? v.n : v.kind === 'str' ? JSON.stringify(v.s) : v.text;
export const objectParts = (members: [string, string][]): (string | undefined)[] => [
  '{',
  ...members.flatMap(([k, v], i) => [
    ...(i > 0 ? [','] : []),
    undefined,
    JSON.stringify(k),
    undefined,
    ':',
    undefined,
    v,
    undefined,
  ]),
  '}',
];
export const readingParts = (ts: string, values: [string, Value][], valuesFirst: boolean) => {
  const v = objectParts(values.map(([k, x]) => [k, valueText(x)]));
  const members: (string | undefined)[][] = [
    ['"ts"', undefined, ':', undefined, ts],
    ['"values"', undefined, ':', undefined, ...(v as string[])],
  ];
  if (valuesFirst) members.reverse();
  return ['{', undefined, ...members[0]!, undefined, ',', undefined, ...members[1]!, undefined, '}'];
};
export const readingArb = fc.tuple(tsArb, valuesArb, fc.boolean());
export const payloadArb = fc
  .tuple(
    fc.oneof(
      fc.array(readingArb, { minLength: 0, maxLength: 6 }).map((rs) => ({ shape: 'batch' as const, rs })),
      readingArb.map((r) => ({ shape: 'one' as const, rs: [r] })),
      valuesArb.map((values) => ({ shape: 'flat' as const, values })),
    ),
    fc.array(wsArb, { minLength: 1, maxLength: 8 }),
  )
  .map(([p, ws]) => {
    if (p.shape === 'flat') return serialise(ws, objectParts(p.values.map(([k, v]) => [k, valueText(v)])));
    const readings = p.rs.map(([ts, values, first]) => readingParts(ts, values, first));
    if (p.shape === 'one') return serialise(ws, readings[0]!);
    return serialise(ws, [
      '[',
      ...readings.flatMap((r, i) => [...(i > 0 ? [','] : []), undefined, ...r]),
      ']',
    ]);
  });

/** Payloads as devices send them: integer ts, plain keys, short decimals, ASCII strings, booleans. */
export const plainValue = fc.oneof(
  fc.integer({ min: -1e6, max: 1e6 }).map((i) => i / 100),
  fc.boolean(),
  fc.stringMatching(/^[ !#-[\]-~]{0,12}$/),
);
export const plainValues = fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/), plainValue, {
  minKeys: 1,
  maxKeys: 4,
});
export const plainPayload = fc.oneof(
  fc.array(fc.record({ ts: fc.integer({ min: 0, max: 2e12 }), values: plainValues }), {
    minLength: 1,
    maxLength: 5,
  }),
  fc.record({ ts: fc.integer({ min: 0, max: 2e12 }), values: plainValues }),
  plainValues.filter((v) => !('ts' in v) && !('time' in v) && !('device' in v) && !('values' in v)),
);
