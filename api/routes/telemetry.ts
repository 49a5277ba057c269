/**
 * Telemetry for partners and dashboards: raw ranges with cursor paging, aggregated windows, the
 * latest value per key, per-pilot series, live streams (SSE) and CSV. Every route reaches the
 * device or pilot through `deviceForCaller` / `pilotForCaller` first, so a non-member gets the same
 * 404 as for a device that does not exist, and never a query against its data.
 *
 * Usage: `buildApp({ ..., plugins: [telemetryRoutes({ influx, liveFeed })] })`.
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { InfluxQL } from '../../core/influx/influxql.js';
import { decodeCursor, encodeCursor } from '../../core/registry/errors.js';
import { BEARER_SECURITY, deviceForCaller, pilotForCaller } from '../auth.js';
import { ApiError, validationError } from '../errors.js';
import type { LiveFeed } from '../live/hub.js';
import { DeviceParams, errorResponses, PilotParams } from '../schemas.js';
import { readingsToCsv, seriesToCsv, wantsCsv } from '../telemetry/csv.js';
import { createOpenStreams } from '../telemetry/open-streams.js';
import {
  checkAggregateTypes,
  checkKey,
  checkWindowCount,
  DEFAULT_RANGE_MS,
  ownFields,
  parseKeys,
  parseLimit,
  resolveEvery,
  resolveRange,
} from '../telemetry/params.js';
import { InfluxQueryError, type Reading, TelemetryReader } from '../telemetry/reader.js';
import { plainJson, sendCsv, sendJsonBytes } from '../telemetry/replies.js';
import {
  DeviceTelemetryQuery,
  LatestQuery,
  LatestResponse,
  PilotSeriesResponse,
  PilotTelemetryQuery,
  StreamQuery,
  TelemetryPage,
} from '../telemetry/schemas.js';
import { formatTs } from '../telemetry/time.js';

export interface TelemetryRoutesDeps {
  /** InfluxQL on either backend (core/influx/influxql.ts). */
  influx: InfluxQL;
  liveFeed: LiveFeed;
  /** Heartbeat comment interval of live streams; default 15 s. */
  heartbeatMs?: number;
  /** Live streams open at once per API key; default 20 (API_MAX_STREAMS_PER_KEY). */
  maxStreamsPerKey?: number;
  /** Range when neither `from` nor `to` is given; default 24 h. */
  defaultRangeMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

const cursorList = (order: 'asc' | 'desc') => `telemetry.${order}`;
const TAGS = ['telemetry'];
const CSV_NOTE =
  ' Send `Accept: text/csv` for CSV (header `ts,<key>,...`; the next cursor comes in the `x-next-cursor` header).' +
  " In CSV a string value starting with =, +, -, @, tab or CR is quoted with a leading ' (CSV injection).";

export function telemetryRoutes(deps: TelemetryRoutesDeps): FastifyPluginAsync {
  const reader = new TelemetryReader(deps.influx);
  const now = deps.now ?? Date.now;
  const defaultRangeMs = deps.defaultRangeMs ?? DEFAULT_RANGE_MS;
  const heartbeatMs = deps.heartbeatMs ?? 15_000;

  /** InfluxDB down or refusing: 503, with the cause logged only. */
  async function influx<T>(reply: FastifyReply, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof ApiError) throw err;
      reply.log.error(
        { err },
        err instanceof InfluxQueryError ? 'telemetry query refused' : 'InfluxDB unreachable',
      );
      throw new ApiError(503, 'unavailable', 'telemetry store unavailable; retry later');
    }
  }

  return async (root) => {
    const app = root.withTypeProvider<ZodTypeProvider>();
    const streams = createOpenStreams({
      liveFeed: deps.liveFeed,
      heartbeatMs,
      maxPerKey: deps.maxStreamsPerKey,
    });
    // Open streams would keep the server from closing.
    app.addHook('preClose', async () => streams.closeAll());

    app.get(
      '/v1/devices/:deviceId/telemetry',
      {
        schema: {
          operationId: 'getDeviceTelemetry',
          tags: TAGS,
          security: BEARER_SECURITY,
          summary: 'Readings of a device: a raw range, or aggregated windows',
          description:
            'Raw: points in `[from, to)` (default: the last 24 hours), `limit` per page, paged with `cursor` by time ' +
            '(no gaps, no repeats). With `every` (and optionally `agg`, `fill`): one item per window, its `ts` the ' +
            'window start; at most 10,000 windows per request.' +
            CSV_NOTE,
          params: DeviceParams,
          querystring: DeviceTelemetryQuery,
          response: { 200: TelemetryPage, ...errorResponses(400, 401, 404, 429, 503) },
        },
        serializerCompiler: plainJson,
      },
      async (request, reply) => {
        const device = await deviceForCaller(request, request.params.deviceId);
        const q = request.query;
        const range = resolveRange(q, now(), defaultRangeMs);
        const keys = parseKeys(q.keys);
        const sel = { pilotId: device.pilotId, deviceId: device.id };
        let items: Reading[];
        let nextCursor: string | null = null;

        if (q.every !== undefined || q.agg !== undefined || q.fill !== undefined) {
          if (q.every === undefined) throw badQuery('every', 'required with agg or fill (e.g. every=1m)');
          if (q.cursor !== undefined)
            throw badQuery('cursor', 'paging applies to raw ranges; narrow from/to instead');
          if (q.limit !== undefined)
            throw badQuery('limit', 'applies to raw ranges; windows are bounded by every');
          const everyMs = resolveEvery(q.every);
          checkWindowCount(range, everyMs, q.every);
          const agg = q.agg ?? 'mean';
          if (keys)
            checkAggregateTypes(agg, keys, await request.server.registry.getKeyTypes(device.pilotId, keys));
          const fill = q.fill ?? 'none';
          const fields = keys ? undefined : await ownFields(request.server.registry, device, agg);
          const wq = { ...sel, ...range, keys, fields, everyMs, agg, fill, order: q.order };
          if (wantsCsv(request.headers.accept)) items = await influx(reply, () => reader.windows(wq));
          else {
            const answer = await influx(reply, () => reader.windowsJson(wq));
            if (Buffer.isBuffer(answer)) return sendJsonBytes(reply, answer); // telemetry/windows-json.ts
            items = answer;
          }
        } else {
          const limit = parseLimit(q.limit);
          const after = decodeCursor(cursorList(q.order), q.cursor);
          // The cursor is the time of the last point returned: the next page starts strictly after it
          // (points of one device are unique per timestamp in InfluxDB).
          const pageRange =
            after === undefined
              ? range
              : q.order === 'asc'
                ? { from: Math.max(range.from, after + 1), to: range.to }
                : { from: range.from, to: Math.min(range.to, after) };
          const fields = keys ? undefined : await ownFields(request.server.registry, device);
          const page =
            pageRange.from >= pageRange.to
              ? { items: [], lastTs: undefined }
              : await influx(reply, () =>
                  reader.raw({ ...sel, ...pageRange, keys, fields, limit, order: q.order }),
                );
          items = page.items;
          nextCursor = page.lastTs === undefined ? null : encodeCursor(cursorList(q.order), page.lastTs);
        }

        if (wantsCsv(request.headers.accept)) {
          if (nextCursor !== null) reply.header('x-next-cursor', nextCursor);
          return sendCsv(reply, readingsToCsv(items, keys));
        }
        return { items: items.map((r) => ({ ts: formatTs(r.ts), values: r.values })), nextCursor };
      },
    );

    app.get(
      '/v1/devices/:deviceId/telemetry/latest',
      {
        schema: {
          operationId: 'getLatestTelemetry',
          tags: TAGS,
          security: BEARER_SECURITY,
          summary: 'The last value of each key of a device, each with its own time',
          params: DeviceParams,
          querystring: LatestQuery,
          response: { 200: LatestResponse, ...errorResponses(400, 401, 404, 429, 503) },
        },
      },
      async (request, reply) => {
        const device = await deviceForCaller(request, request.params.deviceId);
        const keys = parseKeys(request.query.keys) ?? (await ownFields(request.server.registry, device));
        const latest = await influx(reply, () =>
          reader.latest({ pilotId: device.pilotId, deviceId: device.id }, keys),
        );
        const values: Record<string, { ts: string; value: number | boolean | string }> = {};
        for (const [k, v] of latest) values[k] = { ts: formatTs(v.ts), value: v.value };
        return { deviceId: device.id, values };
      },
    );

    app.get(
      '/v1/pilots/:pilotId/telemetry',
      {
        schema: {
          operationId: 'getPilotTelemetry',
          tags: TAGS,
          security: BEARER_SECURITY,
          summary: 'One aggregated series per device of a pilot, for one key',
          description:
            'Windows of `every` over `[from, to)` (default: the last 24 hours), one series per device that has ' +
            'the key. At most 10,000 windows per request. Send `Accept: text/csv` for CSV (`ts,device,<key>`).',
          params: PilotParams,
          querystring: PilotTelemetryQuery,
          response: { 200: PilotSeriesResponse, ...errorResponses(400, 401, 404, 429, 503) },
        },
        serializerCompiler: plainJson,
      },
      async (request, reply) => {
        const pilot = await pilotForCaller(request, request.params.pilotId);
        const q = request.query;
        checkKey(q.key, 'key');
        const range = resolveRange(q, now(), defaultRangeMs);
        const everyMs = resolveEvery(q.every);
        checkWindowCount(range, everyMs, q.every);
        const agg = q.agg ?? 'mean';
        const fill = q.fill ?? 'none';
        checkAggregateTypes(
          agg,
          [q.key],
          await request.server.registry.getKeyTypes(pilot.id, [q.key]),
          'key',
        );
        const series = await influx(reply, () =>
          reader.pilotWindows({ pilotId: pilot.id, key: q.key, ...range, everyMs, agg, fill }),
        );
        if (wantsCsv(request.headers.accept)) return sendCsv(reply, seriesToCsv(q.key, series));
        return {
          key: q.key,
          agg,
          every: q.every,
          fill,
          series: series.map((s) => ({
            deviceId: s.deviceId,
            points: s.points.map((p) => ({ ts: formatTs(p.ts), value: p.value })),
          })),
        };
      },
    );

    const streamDescription =
      'Server-sent events (`text/event-stream`): one `reading` event per stored reading, data ' +
      '`{"deviceId", "ts", "values"}`, and a comment line as heartbeat every 15 s. Only readings stored ' +
      'after the stream opened; read history with the telemetry routes. At most `API_MAX_STREAMS_PER_KEY` ' +
      'streams (default 20) may be open per API key; past it a 429 `too_many_streams`. From a browser ' +
      '(EventSource), pass `?token=` from `POST /v1/stream-tokens` instead of the Authorization header.';

    app.get(
      '/v1/devices/:deviceId/telemetry/stream',
      {
        config: { streamToken: 'device' },
        schema: {
          operationId: 'streamDeviceTelemetry',
          tags: TAGS,
          security: BEARER_SECURITY,
          summary: 'Live readings of a device (server-sent events)',
          description: streamDescription,
          params: DeviceParams,
          querystring: StreamQuery,
        },
      },
      async (request, reply) => {
        const device = await deviceForCaller(request, request.params.deviceId);
        streams.open(request, reply, { pilotId: device.pilotId, deviceId: device.id });
      },
    );

    app.get(
      '/v1/pilots/:pilotId/telemetry/stream',
      {
        config: { streamToken: 'pilot' },
        schema: {
          operationId: 'streamPilotTelemetry',
          tags: TAGS,
          security: BEARER_SECURITY,
          summary: 'Live readings of every device of a pilot (server-sent events)',
          description: streamDescription,
          params: PilotParams,
          querystring: StreamQuery,
        },
      },
      async (request, reply) => {
        const pilot = await pilotForCaller(request, request.params.pilotId);
        streams.open(request, reply, { pilotId: pilot.id });
      },
    );
  };
}

function badQuery(param: string, message: string): ApiError {
  return validationError([{ path: `query.${param}`, message, code: 'invalid_value' }]);
}
