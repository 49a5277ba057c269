/**
 * Ready-to-paste ways for a device to send its first reading with the credentials just issued:
 * mosquitto_pub, Python paho (1.x and 2.x), mqtt.js, and curl to the HTTP ingest route. Client ids
 * are the device id plus a suffix (allowed by the broker), so trying a snippet does not take over the
 * session of the device itself.
 */
import type { Credentials } from '../api.js';

const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
const SAMPLE = '{"temperature": 21.5}';

export interface Snippet {
  id: 'mosquitto' | 'python' | 'mqttjs' | 'curl';
  label: string;
  code: string;
}

function broker(mqttUrl: string) {
  const u = new URL(mqttUrl);
  const tls = u.protocol === 'mqtts:' || u.protocol === 'ssl:';
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port) || (tls ? 8883 : 1883), tls };
}

export function snippets(c: Credentials, apiOrigin: string): Snippet[] {
  const b = broker(c.mqttUrl);
  const mosquitto = [
    `mosquitto_pub -h ${q(b.host)} -p ${b.port}${b.tls ? ' --capath /etc/ssl/certs' : ''} -q 1 \\`,
    `  -u ${q(c.username)} -P ${q(c.password)} \\`,
    `  -t ${q(c.topic)} -m ${q(SAMPLE)}`,
  ].join('\n');
  const python = [
    'import json',
    'import paho.mqtt.client as mqtt',
    '',
    'try:  # paho-mqtt 2.x',
    `    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=${JSON.stringify(`${c.username}-paho`)})`,
    'except AttributeError:  # paho-mqtt 1.x',
    `    client = mqtt.Client(client_id=${JSON.stringify(`${c.username}-paho`)})`,
    `client.username_pw_set(${JSON.stringify(c.username)}, ${JSON.stringify(c.password)})`,
    ...(b.tls ? ['client.tls_set()'] : []),
    `client.connect(${JSON.stringify(b.host)}, ${b.port})`,
    'client.loop_start()',
    `info = client.publish(${JSON.stringify(c.topic)}, json.dumps({"temperature": 21.5}), qos=1)`,
    'info.wait_for_publish()',
    'client.disconnect()',
    'client.loop_stop()',
  ].join('\n');
  const mqttjs = [
    "import mqtt from 'mqtt';",
    '',
    `const client = await mqtt.connectAsync(${JSON.stringify(c.mqttUrl)}, {`,
    `  clientId: ${JSON.stringify(`${c.username}-mqttjs`)},`,
    `  username: ${JSON.stringify(c.username)},`,
    `  password: ${JSON.stringify(c.password)},`,
    '});',
    `await client.publishAsync(${JSON.stringify(c.topic)}, JSON.stringify({ temperature: 21.5 }), { qos: 1 });`,
    'await client.endAsync();',
  ].join('\n');
  const curl = [
    `curl -s -u ${q(`${c.username}:${c.password}`)} -X POST \\`,
    `  ${q(`${apiOrigin}/v1/devices/${c.username}/telemetry`)} \\`,
    `  -H 'content-type: application/json' -d ${q(SAMPLE)}`,
  ].join('\n');
  return [
    { id: 'mosquitto', label: 'mosquitto_pub', code: mosquitto },
    { id: 'python', label: 'Python (paho-mqtt)', code: python },
    { id: 'mqttjs', label: 'Node.js (mqtt.js)', code: mqttjs },
    { id: 'curl', label: 'curl (HTTP)', code: curl },
  ];
}
