/**
 * Issue 16: the listener variables (core/config-listeners.ts) and the self-signed development
 * certificate (broker/tls-material.ts): made once with openssl, reused at the next start, renewed with
 * the same CA when a host it must name is missing; keys 0600.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { certificateHosts, loadTlsMaterial } from '../broker/tls-material.js';
import { loadConfig } from '../core/config.js';
import { advertisedBrokerUrls, brokerUrls } from '../core/urls.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'tls-test-'));
  dirs.push(d);
  return d;
};
const listeners = (env: Record<string, string>) => loadConfig(env, ['mqttListeners']).mqttListeners;

describe('listener configuration', () => {
  it('everything off by default', () => {
    expect(listeners({})).toEqual({
      tls: undefined,
      tlsPort: undefined,
      wsPort: undefined,
      wssPort: undefined,
    });
  });

  it('TLS on: mqtts on 8883 unless set; ws and wss by port or on', () => {
    expect(listeners({ MQTT_TLS: 'self-signed', MQTT_WS_PORT: 'on', MQTT_WSS_PORT: '9001' })).toEqual({
      tls: { mode: 'self-signed' },
      tlsPort: 8883,
      wsPort: 8083,
      wssPort: 9001,
    });
    expect(
      listeners({ MQTT_TLS_CERT: '/c.pem', MQTT_TLS_KEY: '/k.pem', MQTT_TLS_PORT: 'off' }),
    ).toMatchObject({
      tls: { mode: 'files', certFile: '/c.pem', keyFile: '/k.pem', caFile: undefined },
      tlsPort: undefined,
    });
  });

  it('MQTT_PORT=0 makes every default port 0', () => {
    expect(
      listeners({ MQTT_PORT: '0', MQTT_TLS: 'self-signed', MQTT_WS_PORT: 'on', MQTT_WSS_PORT: 'on' }),
    ).toMatchObject({ tlsPort: 0, wsPort: 0, wssPort: 0 });
  });

  it('names the variable that is wrong', () => {
    expect(() => listeners({ MQTT_WSS_PORT: 'on' })).toThrow(/MQTT_WSS_PORT.*wss needs TLS/);
    expect(() => listeners({ MQTT_TLS: 'files' })).toThrow(/MQTT_TLS_CERT/);
    expect(() => listeners({ MQTT_TLS_CERT: '/c.pem' })).toThrow(/MQTT_TLS_KEY/);
    expect(() => listeners({ MQTT_WS_PORT: '70000' })).toThrow(/MQTT_WS_PORT/);
    expect(() => listeners({ MQTT_TLS: 'yes' })).toThrow(/MQTT_TLS.*off, self-signed or files/);
  });
});

describe('the self-signed development certificate', () => {
  it('is made once, reused, and renewed with the same CA for a new host', () => {
    const dir = tempDir();
    const hosts = certificateHosts('127.0.0.1');
    const first = loadTlsMaterial({ mode: 'self-signed' }, dir, hosts);
    const caFile = path.join(dir, 'tls', 'ca.pem');
    expect(first.caFile).toBe(caFile);
    for (const f of ['ca.key', 'server.key'])
      expect(statSync(path.join(dir, 'tls', f)).mode & 0o777).toBe(0o600);
    const cert = new X509Certificate(first.cert);
    const ca = new X509Certificate(readFileSync(caFile));
    expect(cert.checkIssued(ca)).toBe(true);
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(cert.verify(ca.publicKey)).toBe(true);

    const again = loadTlsMaterial({ mode: 'self-signed' }, dir, hosts);
    expect(again.cert.equals(first.cert)).toBe(true);
    expect(again.key.equals(first.key)).toBe(true);

    const renewed = loadTlsMaterial({ mode: 'self-signed' }, dir, [...hosts, 'mqtt.example.test']);
    expect(renewed.cert.equals(first.cert)).toBe(false);
    expect(new X509Certificate(renewed.cert).checkHost('mqtt.example.test')).toBe('mqtt.example.test');
    expect(new X509Certificate(readFileSync(caFile)).fingerprint256).toBe(ca.fingerprint256);
  });

  it('files: a missing file names its variable', () => {
    expect(() =>
      loadTlsMaterial(
        { mode: 'files', certFile: '/nope/c.pem', keyFile: '/nope/k.pem', caFile: undefined },
        '/tmp',
        [],
      ),
    ).toThrow(/MQTT_TLS_CERT=\/nope\/c.pem/);
  });
});

describe('the URLs device credentials list', () => {
  const urls = brokerUrls('0.0.0.0', { mqtt: 1883, mqtts: 8883, ws: 8083, wss: undefined });

  it('are the listeners, ws with its path, and only those that run', () => {
    expect(urls).toEqual({
      mqtt: 'mqtt://0.0.0.0:1883',
      mqtts: 'mqtts://0.0.0.0:8883',
      ws: 'ws://0.0.0.0:8083/mqtt',
    });
    expect(brokerUrls('::1', { mqtt: 1, wss: 2 })).toEqual({
      mqtt: 'mqtt://[::1]:1',
      wss: 'wss://[::1]:2/mqtt',
    });
  });

  it('with MQTT_PUBLIC_URL: that URL, and its host in the others', () => {
    expect(advertisedBrokerUrls(urls, 'mqtt://iot.example.com:1883')).toEqual({
      mqtt: 'mqtt://iot.example.com:1883',
      mqtts: 'mqtts://iot.example.com:8883',
      ws: 'ws://iot.example.com:8083/mqtt',
    });
    expect(advertisedBrokerUrls(urls, undefined)).toBe(urls);
  });
});
