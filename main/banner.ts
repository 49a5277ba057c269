/**
 * What `npm start` prints once everything runs: where each part is, the admin key when it was just
 * generated, and ready-to-paste `export` lines for the README's first steps. Printed last, on
 * stdout (logs go to stderr, requests are logged at debug), so nothing scrolls it away.
 */
import type { RunningPlatform } from '../platform/start.js';

export const FIRST_STEPS = `README, "A partner engineer's first steps, with curl"`;

export interface BannerInput {
  platform: Pick<
    RunningPlatform,
    | 'apiUrl'
    | 'mqttUrl'
    | 'brokerUrls'
    | 'caFile'
    | 'influxUrl'
    | 'influxTarget'
    | 'generatedAdminKey'
    | 'demo'
  >;
  consoleEnabled: boolean;
  dataDir: string;
  adminKeyFromEnv: boolean;
}

function adminKeyLines(input: BannerInput): string[] {
  const generated = input.platform.generatedAdminKey;
  if (generated)
    return [
      `  Admin key  ${generated}`,
      '             (generated now and shown only this once: the platform keeps only its hash)',
    ];
  if (input.adminKeyFromEnv) return ['  Admin key  the value of ADMIN_API_KEY'];
  return ['  Admin key  generated and printed at the first start; to replace it, set ADMIN_API_KEY'];
}

/** `export` lines a partner engineer pastes into a shell before the README's curl commands. */
export function exportLines(input: BannerInput): string[] {
  const { apiUrl, mqttUrl, brokerUrls, caFile, demo, generatedAdminKey } = input.platform;
  const lines = [`export API=${apiUrl} MQTT=${mqttUrl}`];
  const tlsAndWs = [
    brokerUrls.mqtts && `MQTTS=${brokerUrls.mqtts}`,
    brokerUrls.ws && `WS=${brokerUrls.ws}`,
    brokerUrls.wss && `WSS=${brokerUrls.wss}`,
    caFile && `CAFILE=${caFile}`,
  ].filter(Boolean);
  if (tlsAndWs.length > 0) lines.push(`export ${tlsAndWs.join(' ')}`);
  if (demo) {
    const device = demo.state.devices[0]?.deviceId;
    lines.push(
      `export KEY=${demo.state.apiKey} PILOT=${demo.state.pilotId}${device ? ` DEVICE=${device}` : ''}`,
    );
  }
  if (generatedAdminKey) lines.push(`export ADMIN_KEY=${generatedAdminKey}`);
  return lines;
}

export function startBanner(input: BannerInput): string {
  const { platform } = input;
  const lines = [
    '',
    'The platform is up.',
    `  API        ${platform.apiUrl}   (OpenAPI: ${platform.apiUrl}/docs)`,
    ...(input.consoleEnabled
      ? [`  Console    ${platform.apiUrl}/console/   (sign in with a partner key)`]
      : []),
    `  MQTT       ${Object.values(platform.brokerUrls).join('  ')}`,
    ...(platform.caFile ? [`  TLS CA     ${platform.caFile}   (mosquitto_pub --cafile, mqtt.js ca)`] : []),
    `  InfluxDB   ${platform.influxUrl}   ${platform.influxTarget}`,
    `  Data dir   ${input.dataDir}`,
    ...adminKeyLines(input),
  ];
  const demo = platform.demo;
  if (demo) {
    lines.push(
      '',
      `Simulated fleet: ${demo.fleet.devices.length} devices in pilot ${demo.state.pilotId} (SIM_DEVICES=0 turns it off);`,
      "its readings, with the demo partner's key, once the export lines below are pasted:",
      `  curl -s -H "Authorization: Bearer $KEY" "$API/v1/devices/$DEVICE/telemetry?order=desc&limit=5"`,
      `  curl -N -H "Authorization: Bearer $KEY" "$API/v1/devices/$DEVICE/telemetry/stream"`,
    );
  }
  lines.push(
    '',
    `Ready to paste into a shell, then follow the ${FIRST_STEPS}:`,
    ...exportLines(input).map((l) => `  ${l}`),
  );
  if (!demo) lines.push('  (no demo partner: create one with the admin key, first step of the README)');
  lines.push('', 'Ctrl-C stops everything.', '');
  return lines.join('\n');
}
