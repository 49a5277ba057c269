/**
 * A simulated device's side of commands and the twin (issue 15), as firmware would do it: subscribe
 * to `devices/{id}/commands` and `.../twin/desired` (QoS 1), answer the commands its profile declares
 * (`setInterval` changes the reading period, `reboot` drops the connection and comes back), take
 * `intervalMs` from the desired state, and report `firmwareVersion` and `intervalMs`.
 */
import type { MqttClient } from 'mqtt';
import { commandResponseTopic, commandsTopic, twinTopic } from '../core/command-topics.js';
import type { Logger } from '../core/log.js';
import type { Profile } from './profiles.js';

/** What the control needs from its device. */
export interface ControlledDevice {
  readonly id: string;
  readonly intervalMs: number;
  setIntervalMs(ms: number): void;
  /** Drops the connection and comes back after `downMs`. */
  reboot(downMs: number): void;
}

export const MIN_INTERVAL_MS = 10;
export const MAX_INTERVAL_MS = 86_400_000;

type Answer = { status: 'ok' | 'error'; result: unknown };

export class DeviceControl {
  /** Commands already answered (a QoS 1 redelivery is answered again, not run again). */
  private readonly answered = new Map<string, Answer>();

  constructor(
    private readonly device: ControlledDevice,
    private readonly profile: Profile,
    private readonly logger: Logger,
  ) {}

  /** Wires a new connection: subscribe on every connect, handle messages, report the twin. */
  attach(client: MqttClient): void {
    const id = this.device.id;
    client.on('connect', () => {
      client.subscribe([commandsTopic(id), twinTopic(id, 'desired')], { qos: 1 }, (err) => {
        if (err) this.logger.warn({ device: id, err: err.message }, 'could not subscribe to commands');
      });
      this.report(client);
    });
    client.on('message', (topic, payload) => {
      try {
        const body = JSON.parse(payload.toString()) as Record<string, unknown>;
        if (topic === commandsTopic(id)) void this.onCommand(client, body);
        else if (topic === twinTopic(id, 'desired')) this.onDesired(client, body.desired);
      } catch (err) {
        this.logger.warn({ device: id, topic, err: (err as Error).message }, 'ignoring a malformed message');
      }
    });
  }

  private report(client: MqttClient): void {
    const state = { firmwareVersion: this.profile.firmwareVersion, intervalMs: this.device.intervalMs };
    client.publish(twinTopic(this.device.id, 'reported'), JSON.stringify(state), { qos: 1 });
  }

  private onDesired(client: MqttClient, desired: unknown): void {
    const want = (desired as { intervalMs?: unknown } | undefined)?.intervalMs;
    if (typeof want === 'number' && this.validInterval(want) && want !== this.device.intervalMs) {
      this.device.setIntervalMs(want);
      this.report(client);
    }
  }

  private async onCommand(client: MqttClient, body: Record<string, unknown>): Promise<void> {
    const commandId = typeof body.commandId === 'string' ? body.commandId : undefined;
    if (!commandId) return;
    const answer = this.answered.get(commandId) ?? this.run(String(body.name), body.params);
    this.remember(commandId, answer);
    const topic = commandResponseTopic(this.device.id, commandId);
    await client.publishAsync(topic, JSON.stringify(answer), { qos: 1 }).catch(() => {});
    this.logger.debug(
      { device: this.device.id, commandId, name: body.name, status: answer.status },
      'command answered',
    );
    if (answer.status !== 'ok') return;
    if (body.name === 'setInterval') this.report(client);
    if (body.name === 'reboot') {
      const downMs = (body.params as { downMs?: unknown } | null)?.downMs;
      this.device.reboot(typeof downMs === 'number' && downMs >= 0 && downMs <= 600_000 ? downMs : 2000);
    }
  }

  private run(name: string, params: unknown): Answer {
    if (!this.profile.commands.includes(name as never)) {
      return {
        status: 'error',
        result: { error: `unknown command "${name}"`, supported: this.profile.commands },
      };
    }
    if (name === 'setInterval') {
      const ms = (params as { ms?: unknown } | null)?.ms;
      if (typeof ms !== 'number' || !this.validInterval(ms)) {
        return {
          status: 'error',
          result: { error: `params.ms: expected ${MIN_INTERVAL_MS} to ${MAX_INTERVAL_MS}` },
        };
      }
      const previous = this.device.intervalMs;
      this.device.setIntervalMs(ms);
      return { status: 'ok', result: { intervalMs: ms, previousIntervalMs: previous } };
    }
    return { status: 'ok', result: { rebooting: true } };
  }

  private validInterval(ms: number): boolean {
    return Number.isInteger(ms) && ms >= MIN_INTERVAL_MS && ms <= MAX_INTERVAL_MS;
  }

  private remember(commandId: string, answer: Answer): void {
    this.answered.set(commandId, answer);
    if (this.answered.size > 100) this.answered.delete(this.answered.keys().next().value as string);
  }
}
