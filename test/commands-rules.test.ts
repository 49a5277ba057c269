/**
 * The pure rules of commands and twins (issue 15): which device topics are whose, MQTT filter
 * matching, RFC 7396 merge patches with per-leaf times, the delta, and the patch limits.
 */
import { describe, expect, it } from 'vitest';
import { decidePublish, mayReceive, maySubscribe } from '../broker/acl.js';
import { controlTopicOf, filterMatches } from '../core/command-topics.js';
import { checkTwinPatch, mergeTwinPatch, TwinLimitError, twinDelta } from '../core/twin.js';

const device = {
  kind: 'device',
  deviceId: 'dev_a',
  pilotId: 'plt_p',
  secretHash: 'h',
  revoked: false,
} as const;
const api = { kind: 'service', service: 'api' } as const;

describe('command and twin topics', () => {
  it('lets a device publish only its answers, reports and twin requests there', () => {
    expect(decidePublish(device, 'devices/dev_a/commands/cmd_1/response')).toEqual({
      verdict: 'command-response',
      deviceId: 'dev_a',
      commandId: 'cmd_1',
    });
    expect(decidePublish(device, 'devices/dev_a/twin/reported').verdict).toBe('twin-reported');
    expect(decidePublish(device, 'devices/dev_a/twin/get').verdict).toBe('twin-get');
    for (const topic of [
      'devices/dev_a/commands',
      'devices/dev_a/commands/cmd_1',
      'devices/dev_a/commands/cmd_1/response/x',
      'devices/dev_a/twin/desired',
      'devices/dev_a/twin/delta',
      'devices/dev_a/twin/get/response',
      'devices/dev_b/commands/cmd_1/response',
      'devices/dev_b/twin/reported',
    ]) {
      expect(decidePublish(device, topic).verdict, topic).toBe('deny');
    }
    expect(decidePublish(device, 'devices/dev_a/status').verdict).toBe('allow');
    expect(controlTopicOf('dev_a', 'devices/dev_a/telemetry')).toBeUndefined();
  });

  it('lets only the API announce changes, and only the API receive them', () => {
    expect(decidePublish(api, '$platform/device-changes/plt_p/dev_a')).toEqual({
      verdict: 'device-change',
      pilotId: 'plt_p',
      deviceId: 'dev_a',
    });
    expect(decidePublish(api, '$platform/device-changes/plt_p').verdict).toBe('deny');
    expect(
      decidePublish({ kind: 'service', service: 'ingest' }, '$platform/device-changes/p/d').verdict,
    ).toBe('deny');
    expect(decidePublish(device, '$platform/device-changes/plt_p/dev_a').verdict).toBe('deny');
    expect(maySubscribe(api, '$platform/device-changes/+/+')).toBe(true);
    expect(maySubscribe(device, '$platform/device-changes/+/+')).toBe(false);
    expect(mayReceive(api, '$platform/device-changes/plt_p/dev_a')).toBe(true);
    expect(mayReceive(device, 'devices/dev_b/commands')).toBe(false);
  });

  it('matches filters as MQTT does', () => {
    expect(filterMatches('devices/dev_a/#', 'devices/dev_a/commands')).toBe(true);
    expect(filterMatches('devices/dev_a/+', 'devices/dev_a/commands')).toBe(true);
    expect(filterMatches('devices/dev_a/+', 'devices/dev_a/twin/desired')).toBe(false);
    expect(filterMatches('devices/dev_a/commands/#', 'devices/dev_a/commands')).toBe(true);
    expect(filterMatches('devices/dev_a/commands', 'devices/dev_a/commands/x')).toBe(false);
  });
});

describe('twin documents', () => {
  it('merges as RFC 7396 says, timing each changed leaf', () => {
    const doc = { a: 'b', c: { d: 'e', f: 'g' }, list: [1, 2] };
    const meta = { a: 1, c: { d: 1, f: 1 }, list: 1 };
    const out = mergeTwinPatch(doc, meta, { a: 'z', c: { f: null }, list: [3], n: { m: 1 } }, 9);
    expect(out).toEqual({
      doc: { a: 'z', c: { d: 'e' }, list: [3], n: { m: 1 } },
      meta: { a: 9, c: { d: 1 }, list: 9, n: { m: 9 } },
      changed: true,
    });
    expect(doc).toEqual({ a: 'b', c: { d: 'e', f: 'g' }, list: [1, 2] }); // untouched
    expect(mergeTwinPatch(out.doc, out.meta, { a: 'z', gone: null }, 10).changed).toBe(false);
  });

  it('computes the delta recursively', () => {
    expect(twinDelta({ a: 1, b: { c: 2, d: 3 }, e: [1] }, { a: 1, b: { c: 2, d: 4 }, e: [1], x: 9 })).toEqual(
      {
        b: { d: 3 },
      },
    );
    expect(twinDelta({ a: { b: 1 } }, { a: 5 })).toEqual({ a: { b: 1 } });
  });

  it('refuses bad keys, deep nesting and non-objects, naming the field', () => {
    const refusal = (patch: unknown) => {
      try {
        checkTwinPatch(patch, 'desired');
        return undefined;
      } catch (err) {
        return err instanceof TwinLimitError ? [err.path, err.code] : err;
      }
    };
    expect(refusal({ ok: { 'no.dots': 1 } })).toEqual(['desired.ok.no.dots', 'invalid_key']);
    expect(refusal({ __proto__: 1 })).toBeUndefined(); // an object literal's __proto__ is no key
    expect(refusal(JSON.parse('{"__proto__": 1}'))).toEqual(['desired.__proto__', 'invalid_key']);
    expect(refusal({ a: [{ b: [{ c: { d: { e: 1 } } }] }] })).toEqual(['desired.a.b.c.d', 'too_deep']);
    expect(refusal([1])).toEqual(['desired', 'invalid_type']);
    expect(refusal({ a: { b: { c: { d: { e: { f: 1 } } } } } })).toBeUndefined();
  });
});
