/**
 * The certificate and key of the mqtts and wss listeners: PEM files named by MQTT_TLS_CERT and
 * MQTT_TLS_KEY, or with MQTT_TLS=self-signed a development CA and a server certificate made with the
 * `openssl` command into DATA_DIR/tls (keys 0600), reused at the next start while they still fit.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TlsSource } from '../core/config-listeners.js';
import { ensurePrivateDir } from '../core/private-files.js';

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** The CA that devices trust (`mosquitto_pub --cafile`), when known. */
  caFile: string | undefined;
}

export class TlsSetupError extends Error {
  override name = 'TlsSetupError';
}

/** The certificate of mqtts and wss when TLS is on, for the listen host and the public URL's host. */
export function listenerTlsMaterial(
  source: TlsSource | undefined,
  dataDir: string,
  mqtt: { host: string; publicUrl?: string | undefined },
): TlsMaterial | undefined {
  if (!source) return undefined;
  const publicHost = URL.parse(mqtt.publicUrl ?? '')?.hostname;
  return loadTlsMaterial(source, dataDir, certificateHosts(mqtt.host, publicHost));
}

export function loadTlsMaterial(source: TlsSource, dataDir: string, hosts: string[]): TlsMaterial {
  if (source.mode === 'files') {
    const read = (file: string, variable: string) => {
      try {
        return readFileSync(file);
      } catch (err) {
        throw new TlsSetupError(`${variable}=${file}: ${(err as Error).message}`);
      }
    };
    return {
      cert: read(source.certFile, 'MQTT_TLS_CERT'),
      key: read(source.keyFile, 'MQTT_TLS_KEY'),
      caFile: source.caFile,
    };
  }
  return selfSigned(path.join(dataDir, 'tls'), hosts);
}

/** The names a development certificate covers: loopback, this host, and where the broker listens. */
export function certificateHosts(listenHost: string, publicHost?: string): string[] {
  const names = ['localhost', '127.0.0.1', '::1', os.hostname(), listenHost, publicHost ?? ''];
  const wildcard = (h: string) => h === '' || h === '0.0.0.0' || h === '::';
  return [...new Set(names.filter((h) => !wildcard(h)))];
}

function selfSigned(dir: string, hosts: string[]): TlsMaterial {
  ensurePrivateDir(dir);
  const f = {
    caKey: path.join(dir, 'ca.key'),
    ca: path.join(dir, 'ca.pem'),
    key: path.join(dir, 'server.key'),
    cert: path.join(dir, 'server.pem'),
  };
  if (!usable(f.ca, undefined, []) || !existsSync(f.caKey)) makeCa(f.caKey, f.ca);
  if (!existsSync(f.key) || !usable(f.cert, f.ca, hosts)) makeServerCert(dir, f, hosts);
  return { cert: readFileSync(f.cert), key: readFileSync(f.key), caFile: f.ca };
}

/** True when `file` is a certificate valid for another day, signed by `caFile`, naming every host. */
function usable(file: string, caFile: string | undefined, hosts: string[]): boolean {
  try {
    const cert = new X509Certificate(readFileSync(file));
    if (Date.parse(cert.validTo) < Date.now() + 86_400_000) return false;
    if (caFile && !cert.checkIssued(new X509Certificate(readFileSync(caFile)))) return false;
    return hosts.every((h) => (isIP(h) ? cert.checkIP(h) : cert.checkHost(h)) !== undefined);
  } catch {
    return false;
  }
}

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT')
      throw new TlsSetupError(
        'MQTT_TLS=self-signed needs the openssl command (Debian: apt-get install -y openssl), ' +
          'or give a certificate with MQTT_TLS_CERT and MQTT_TLS_KEY',
      );
    throw new TlsSetupError(`openssl ${args[0]} failed: ${e.stderr?.toString().trim() ?? e.message}`);
  }
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function makeCa(keyFile: string, certFile: string): void {
  openssl([
    'req',
    '-x509',
    ...EC_KEY,
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '3650',
    '-subj',
    '/CN=Pilot IoT platform development CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  chmodSync(keyFile, 0o600);
}

function makeServerCert(
  dir: string,
  f: { caKey: string; ca: string; key: string; cert: string },
  hosts: string[],
): void {
  const csr = path.join(dir, 'server.csr');
  const ext = path.join(dir, 'server.ext');
  const san = hosts.map((h) => (isIP(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  writeFileSync(
    ext,
    `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`,
    { mode: 0o600 },
  );
  try {
    openssl(['req', ...EC_KEY, '-keyout', f.key, '-out', csr, '-subj', '/CN=localhost']);
    chmodSync(f.key, 0o600);
    signWithCa(f, csr, ext);
  } finally {
    rmSync(csr, { force: true });
    rmSync(ext, { force: true });
  }
}

function signWithCa(f: { caKey: string; ca: string; cert: string }, csr: string, ext: string): void {
  openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    f.ca,
    '-CAkey',
    f.caKey,
    '-set_serial',
    `0x${Date.now().toString(16)}`,
    '-days',
    '825',
    '-out',
    f.cert,
    '-extfile',
    ext,
  ]);
}
