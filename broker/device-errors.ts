/**
 * Refused device publishes become device errors (readable through the API), written in batches:
 * one registry transaction per second, never one per message. A device that floods refused
 * messages gets at most `perDevicePerFlush` records per flush plus one line saying how many more
 * were not recorded; the drop counters in the metrics still count every one.
 */
import type { Logger } from '../core/log.js';
import type { DeviceErrorLog } from '../core/registry/types.js';

const PAYLOAD_PREFIX_BYTES = 256;

type DeviceError = { deviceId: string; at: number; reason: string; payloadPrefix: string };

export class DeviceErrorBuffer {
  private pending: DeviceError[] = [];
  private readonly perDevice = new Map<string, number>();
  private readonly suppressed = new Map<string, number>();

  constructor(
    private readonly log: DeviceErrorLog,
    private readonly logger: Logger,
    private readonly now: () => number,
    private readonly perDevicePerFlush = 10,
  ) {}

  add(deviceId: string, reason: string, payload: Buffer | string): void {
    const count = this.perDevice.get(deviceId) ?? 0;
    if (count >= this.perDevicePerFlush) {
      this.suppressed.set(deviceId, (this.suppressed.get(deviceId) ?? 0) + 1);
      return;
    }
    this.perDevice.set(deviceId, count + 1);
    const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
    this.pending.push({
      deviceId,
      at: this.now(),
      reason,
      payloadPrefix: bytes.subarray(0, PAYLOAD_PREFIX_BYTES).toString('utf8'),
    });
  }

  async flush(): Promise<void> {
    const at = this.now();
    for (const [deviceId, n] of this.suppressed) {
      this.pending.push({
        deviceId,
        at,
        reason: `${n} more refused messages were not recorded individually (rate of errors too high)`,
        payloadPrefix: '',
      });
    }
    this.suppressed.clear();
    this.perDevice.clear();
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    try {
      await this.log.recordDeviceErrors(batch);
    } catch (err) {
      // The registry may be busy (another process holds the write lock past busy_timeout); device
      // errors are diagnostics, so they are dropped with a log line rather than retried forever.
      this.logger.warn({ err, count: batch.length }, 'could not record device errors');
    }
  }
}
