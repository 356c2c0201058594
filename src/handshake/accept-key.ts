import { createHash, randomFillSync } from 'node:crypto';

/** The GUID the server appends to the client's key (RFC 6455 §1.3, §4.2.2). */
export const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** `Sec-WebSocket-Accept` for a client key: base64(SHA-1(key + GUID)) (RFC 6455 §4.2.2). */
export function computeAcceptKey(key: string): string {
  return createHash('sha1')
    .update(key + WEBSOCKET_GUID)
    .digest('base64');
}

const KEY_BYTES = 16;
const POOL_SIZE = 1024;
const pool = Buffer.alloc(POOL_SIZE);
let poolOffset = POOL_SIZE;

/**
 * A fresh `Sec-WebSocket-Key`: 16 random bytes, base64 (RFC 6455 §4.1). The bytes come from a
 * pool refilled 64 keys at a time, so a burst of connections costs one crypto call, not many.
 */
export function generateKey(): string {
  if (poolOffset === POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const key = pool.toString('base64', poolOffset, poolOffset + KEY_BYTES);
  poolOffset += KEY_BYTES;
  return key;
}

// 22 base64 digits then '=='; the last digit carries 2 bits and 4 zero bits, so it is one of
// A, Q, g, w: exactly the encodings of 16 bytes.
const KEY_PATTERN = /^[+/0-9A-Za-z]{21}[AQgw]==$/;

/** Whether `key` is base64 that decodes to exactly 16 bytes (RFC 6455 §4.2.1 item 5). */
export function isValidKey(key: string): boolean {
  return KEY_PATTERN.test(key);
}
