/**
 * The broker's optional listeners (issue 16): MQTT over TLS (mqtts), over WebSocket (ws) and over
 * WebSocket with TLS (wss, path /mqtt). Each port variable takes a port, `on` (its default port) or
 * `off`; with MQTT_PORT=0 (any free port, as tests use it) each default port is 0 too.
 */
import { z } from 'zod';

export const MQTT_WS_PATH = '/mqtt';
export const DEFAULT_LISTENER_PORTS = { tls: 8883, ws: 8083, wss: 8084 } as const;

export type TlsSource =
  | { mode: 'self-signed' }
  | { mode: 'files'; certFile: string; keyFile: string; caFile: string | undefined };

export interface MqttListenersConfig {
  /** Where the certificate and key come from; undefined: TLS off. */
  tls: TlsSource | undefined;
  /** undefined: that listener is off. */
  tlsPort: number | undefined;
  wsPort: number | undefined;
  wssPort: number | undefined;
}

const unsetIfEmpty = (v: unknown) => (v === '' ? undefined : v);
const PORT_OR_SWITCH = /^(\d+|on|off)$/;

const portSwitch = (fallback: 'on' | 'off') =>
  z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .regex(PORT_OR_SWITCH, 'expected a port number from 0 to 65535, on or off')
      .refine((v) => !/^\d+$/.test(v) || Number(v) <= 65535, 'expected a port number from 0 to 65535')
      .default(fallback),
  );
const path = () => z.preprocess(unsetIfEmpty, z.string().min(1).optional());

/** `on` -> the default port (0 when MQTT_PORT is 0), `off` -> undefined. */
function resolvePort(value: string, fallback: number, anyPort: boolean): number | undefined {
  if (value === 'off') return undefined;
  if (value === 'on') return anyPort ? 0 : fallback;
  return Number(value);
}

export const mqttListenersSection = z
  .object({
    MQTT_PORT: z.preprocess(unsetIfEmpty, z.string().optional()),
    MQTT_TLS: z.preprocess(
      unsetIfEmpty,
      z.enum(['off', 'self-signed', 'files'], { error: 'expected off, self-signed or files' }).optional(),
    ),
    MQTT_TLS_CERT: path(),
    MQTT_TLS_KEY: path(),
    MQTT_TLS_CA: path(),
    MQTT_TLS_PORT: portSwitch('on'),
    MQTT_WS_PORT: portSwitch('off'),
    MQTT_WSS_PORT: portSwitch('off'),
  })
  .superRefine((r, ctx) => {
    const mode = r.MQTT_TLS ?? (r.MQTT_TLS_CERT ? 'files' : 'off');
    const problem = (variable: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: [variable], message });
    if (mode === 'files' && !r.MQTT_TLS_CERT)
      problem('MQTT_TLS_CERT', 'expected the path of a PEM certificate (MQTT_TLS=files)');
    if (mode === 'files' && !r.MQTT_TLS_KEY)
      problem('MQTT_TLS_KEY', 'expected the path of the PEM private key of MQTT_TLS_CERT');
    if (mode === 'off' && r.MQTT_WSS_PORT !== 'off')
      problem('MQTT_WSS_PORT', 'wss needs TLS: set MQTT_TLS=self-signed, or MQTT_TLS_CERT and MQTT_TLS_KEY');
  })
  .transform((r): MqttListenersConfig => {
    const anyPort = r.MQTT_PORT === '0';
    const mode = r.MQTT_TLS ?? (r.MQTT_TLS_CERT ? 'files' : 'off');
    const tls: TlsSource | undefined =
      mode === 'off'
        ? undefined
        : mode === 'self-signed'
          ? { mode }
          : {
              mode,
              certFile: r.MQTT_TLS_CERT as string,
              keyFile: r.MQTT_TLS_KEY as string,
              caFile: r.MQTT_TLS_CA,
            };
    return {
      tls,
      tlsPort: tls ? resolvePort(r.MQTT_TLS_PORT, DEFAULT_LISTENER_PORTS.tls, anyPort) : undefined,
      wsPort: resolvePort(r.MQTT_WS_PORT, DEFAULT_LISTENER_PORTS.ws, anyPort),
      wssPort: tls ? resolvePort(r.MQTT_WSS_PORT, DEFAULT_LISTENER_PORTS.wss, anyPort) : undefined,
    };
  });

/** What `npm start` (the quick start) turns on unless the environment says otherwise. */
export const QUICK_START_LISTENERS = { MQTT_TLS: 'self-signed', MQTT_WS_PORT: 'on', MQTT_WSS_PORT: 'on' };
