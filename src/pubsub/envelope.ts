import type { Delivery } from './adapter.js';

/**
 * The "sequenced" form of a message, for subscribers that asked for it: one JSON text message
 * that carries the topic, the sequence id, the id before it, and the data (text as it is,
 * binary in base64 with `"binary": true`), so that a client can tell where it is, notice a
 * gap, and ask for a replay after the last id it saw.
 *
 *   {"topic":"lobby","seq":"1718000000000-7","prev":"1718000000000-6","data":"hello"}
 */
export function sequencedText(delivery: Delivery): string {
  const { topic, seq, prev, data, binary } = delivery;
  return binary
    ? JSON.stringify({ topic, seq, prev, data: data.toString('base64'), binary: true })
    : JSON.stringify({ topic, seq, prev, data: data.toString('utf8') });
}
