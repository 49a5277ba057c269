/**
 * The JSON of aggregated windows is written straight from InfluxDB's rows (windowsJson); it must be
 * exactly the text JSON.stringify gives for the readings the route built before, whatever the values.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { windowsJson } from '../api/telemetry/reader.js';
import { formatTs } from '../api/telemetry/time.js';

/** The route's former path: a reading per row, then JSON.stringify. */
function viaObjects(w: { names: string[]; keep: boolean[]; rows: unknown[][] }): string {
  const items = w.rows.map((row) => {
    const values: Record<string, unknown> = {};
    w.names.forEach((n, i) => {
      if (w.keep[i]) values[n] = row[i] ?? null;
    });
    return { ts: formatTs(row[0] as number), values };
  });
  return JSON.stringify({ items, nextCursor: null });
}

it('writes the same JSON as the readings would, for any values InfluxDB returns', () => {
  const value = fc.oneof(
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    fc.string(),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
  );
  const windows = fc
    // Field keys as the contract allows them (KEY_PATTERN): never integer-like, so key order is kept.
    .uniqueArray(
      fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.-]{0,6}$/).filter((n) => n !== 'time'),
      { maxLength: 4 },
    )
    .chain((keys) =>
      fc.record({
        names: fc.constant(['time', ...keys]),
        keep: fc.tuple(fc.constant(false), ...keys.map(() => fc.boolean())),
        rows: fc.array(fc.tuple(fc.integer({ min: 0, max: 4_102_444_800_000 }), ...keys.map(() => value)), {
          maxLength: 5,
        }),
      }),
    );
  fc.assert(
    fc.property(windows, (w) => {
      const text = windowsJson(w as never, formatTs);
      expect(text).toBe(viaObjects(w as never));
      JSON.parse(text);
    }),
    { numRuns: 2000 },
  );
});
