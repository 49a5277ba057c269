/** `npm start`: the whole platform in one process, with the simulated demo fleet (the quick start). */
import { ALL_SECTIONS } from '../core/config.js';
import { startPlatform } from '../platform/start.js';
import { runMain } from './run.js';

await runMain(ALL_SECTIONS, async (config) => {
  const platform = await startPlatform(config);
  const lines = [
    '',
    'The platform is up.',
    `  API        ${platform.apiUrl}   (OpenAPI: ${platform.apiUrl}/docs)`,
    ...(config.http.consoleEnabled
      ? [`  Console    ${platform.apiUrl}/console/   (sign in with a partner key)`]
      : []),
    `  MQTT       ${platform.mqttUrl}`,
    `  InfluxDB   ${platform.influxUrl}   ${platform.influxTarget}`,
    `  Data dir   ${config.common.dataDir}`,
  ];
  if (platform.generatedAdminKey) {
    lines.push(`  Admin key  ${platform.generatedAdminKey}`);
    lines.push('             (generated now and shown only this once: the platform keeps only its hash)');
  } else if (config.http.adminApiKey) {
    lines.push('  Admin key  the value of ADMIN_API_KEY');
  } else {
    lines.push('  Admin key  generated and printed at the first start; to replace it, set ADMIN_API_KEY');
  }
  const demo = platform.demo;
  if (demo) {
    const first = demo.state.devices[0]!.deviceId;
    lines.push(
      '',
      `Simulated fleet: ${demo.fleet.devices.length} devices in pilot ${demo.state.pilotId} (SIM_DEVICES=0 turns it off)`,
      `  Demo partner key  ${demo.state.apiKey}`,
      '  Its latest readings:',
      `    curl -s -H 'Authorization: Bearer ${demo.state.apiKey}' '${platform.apiUrl}/v1/devices/${first}/telemetry?order=desc&limit=5'`,
      '  Live:',
      `    curl -N -H 'Authorization: Bearer ${demo.state.apiKey}' '${platform.apiUrl}/v1/devices/${first}/telemetry/stream'`,
    );
  }
  lines.push('', 'Ctrl-C stops everything.', '');
  process.stdout.write(`${lines.join('\n')}\n`);
  return platform;
});
