/** URLs of our own listeners, built one way: an IPv6 host goes in brackets (RFC 3986 section 3.2.2). */
export function listenerUrl(scheme: 'mqtt' | 'http', host: string, port: number): string {
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Where a component reaches the broker of an `mqtt` config section. */
export const brokerUrl = (mqtt: { host: string; port: number }) => listenerUrl('mqtt', mqtt.host, mqtt.port);
