/**
 * Child process: the baseline's subscriber. Subscribes at QoS 1 and only counts messages; reports
 * the moment the expected count arrives.
 */
import mqtt from 'mqtt';
import { childParams, onParent, stopOnParent, tell } from './procs.js';

const p = childParams<{ mqttUrl: string; topic: string; expected: number }>();
const client = await mqtt.connectAsync(p.mqttUrl, {
  clientId: `bench-counter-${process.pid}`,
  clean: true,
  reconnectPeriod: 0,
});
let count = 0;
let firstAt = 0;
client.on('message', () => {
  if (count === 0) firstAt = Date.now();
  count++;
  if (count === p.expected) tell({ type: 'reached', count, firstAt, at: Date.now() });
});
await client.subscribeAsync(p.topic, { qos: 1 });
const progress = setInterval(() => tell({ type: 'progress', count }), 1000);
onParent('report', () => tell({ type: 'count', count }));
stopOnParent(async () => {
  clearInterval(progress);
  await client.endAsync(true);
});
tell({ type: 'subscribed' });
