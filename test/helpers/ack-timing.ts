/**
 * A device on a raw TCP socket that sends, byte for byte, what mqtt.js sends when it connects with a
 * persistent session and resubscribes and flushes on 'connect' (device-sim/control.ts, device.ts):
 * CONNECT; on CONNACK one write holding a SUBSCRIBE and a QoS 1 PUBLISH; then a QoS 1 PUBLISH every
 * `intervalMs`, acknowledged or not. Reports per PUBLISH whether its PUBACK came back before the next
 * PUBLISH went out. Raw bytes, so that the first write is one TCP segment every time.
 */
import type net from 'node:net';

export interface AckRunOptions {
  /** A connecting socket (net.connect or tls.connect); writes wait for the connection. */
  socket: () => net.Socket;
  clientId: string;
  username?: string;
  password?: string;
  /** Filters of the SUBSCRIBE sent with the first PUBLISH. */
  subscribe: string[];
  topic: string;
  payload: () => string;
  /** PUBLISHes after the first one. */
  count: number;
  intervalMs: number;
}

export interface AckRun {
  /** PUBLISHes (but the last) whose PUBACK arrived before the next PUBLISH was sent. */
  ackedBeforeNext: number;
  /** PUBLISHes that had a next one. */
  published: number;
  /** Median PUBACK round trip, ms (for the report; not asserted). */
  medianMs: number;
}

const str = (s: string) => {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
};
const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);

/** A packet: fixed header byte, remaining length (variable byte integer, MQTT 3.1.1 2.2.3), body. */
function frame(first: number, body: Buffer): Buffer {
  const len: number[] = [];
  let n = body.length;
  do {
    len.push((n % 128) | (n >= 128 ? 0x80 : 0));
    n = Math.floor(n / 128);
  } while (n > 0);
  return Buffer.concat([Buffer.from([first, ...len]), body]);
}

function connectPacket(o: AckRunOptions): Buffer {
  let flags = 0; // clean session off: a persistent session
  if (o.username !== undefined) flags |= 0x80;
  if (o.password !== undefined) flags |= 0x40;
  return frame(
    0x10,
    Buffer.concat([
      str('MQTT'),
      Buffer.from([4, flags, 0, 60]),
      str(o.clientId),
      ...(o.username !== undefined ? [str(o.username)] : []),
      ...(o.password !== undefined ? [str(o.password)] : []),
    ]),
  );
}

const subscribePacket = (id: number, filters: string[]) =>
  frame(0x82, Buffer.concat([u16(id), ...filters.map((f) => Buffer.concat([str(f), Buffer.from([1])]))]));
const publishPacket = (id: number, topic: string, payload: string) =>
  frame(0x32, Buffer.concat([str(topic), u16(id), Buffer.from(payload)]));
const pubackPacket = (id: number) => frame(0x40, u16(id));

/** Splits the byte stream into packets: type, message id (CONNACK: return code), flags. */
function packetReader(onPacket: (type: number, id: number, flags: number) => void) {
  let buf = Buffer.alloc(0);
  return (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      let len = 0;
      let mul = 1;
      let i = 1;
      for (; i < buf.length; i++) {
        len += (buf[i]! & 0x7f) * mul;
        mul *= 128;
        if ((buf[i]! & 0x80) === 0) break;
      }
      if (i >= buf.length || buf.length < i + 1 + len) return;
      const body = buf.subarray(i + 1, i + 1 + len);
      const type = buf[0]! >> 4;
      // PUBLISH (3): the id follows the topic, when QoS > 0
      const topicEnd = type === 3 ? 2 + body.readUInt16BE(0) : 0;
      const id = type === 2 ? body[1]! : body.length >= topicEnd + 2 ? body.readUInt16BE(topicEnd) : 0;
      onPacket(type, id, buf[0]! & 0x0f);
      buf = buf.subarray(i + 1 + len);
    }
  };
}

export function publishAndTimeAcks(o: AckRunOptions): Promise<AckRun> {
  const sentAt = new Map<number, number>();
  const ackAt = new Map<number, number>();
  return new Promise((resolve, reject) => {
    const socket = o.socket();
    // The device's own bytes leave at once: the broker's side is what is measured.
    socket.setNoDelay(true);
    let timer: NodeJS.Timeout | undefined;
    let finished = false;
    const fail = (err: Error) => {
      finished = true;
      clearInterval(timer);
      socket.destroy();
      reject(err);
    };
    const send = (id: number, bytes: Buffer) => {
      sentAt.set(id, performance.now());
      socket.write(bytes);
    };
    const finish = () => {
      finished = true;
      socket.destroy();
      const ids = [...sentAt.keys()].sort((a, b) => a - b).slice(0, -1);
      const before = ids.filter((id) => (ackAt.get(id) ?? Infinity) < sentAt.get(id + 1)!);
      const rtt = ids.map((id) => (ackAt.get(id) ?? Infinity) - sentAt.get(id)!).sort((a, b) => a - b);
      resolve({ ackedBeforeNext: before.length, published: ids.length, medianMs: rtt[rtt.length >> 1]! });
    };
    const read = packetReader((type, id, flags) => {
      if (type === 2) {
        if (id !== 0) return fail(new Error(`CONNACK ${id}`));
        // as mqtt.js on 'connect': SUBSCRIBE and a PUBLISH in one write
        sentAt.set(2, performance.now());
        socket.write(
          Buffer.concat([subscribePacket(1, o.subscribe), publishPacket(2, o.topic, o.payload())]),
        );
        let next = 3;
        timer = setInterval(() => {
          if (next > o.count + 2) {
            clearInterval(timer);
            setTimeout(finish, o.intervalMs);
            return;
          }
          send(next, publishPacket(next, o.topic, o.payload()));
          next++;
        }, o.intervalMs);
      } else if (type === 4) ackAt.set(id, performance.now());
      else if (type === 3 && (flags & 0x06) !== 0) socket.write(pubackPacket(id)); // a QoS 1 message to the device
    });
    socket.on('data', read);
    socket.on('error', fail);
    socket.on('close', () => finished || fail(new Error('the broker closed the connection')));
    socket.write(connectPacket(o));
  });
}
