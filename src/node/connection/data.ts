// The send path's error for a connection that is closing or closed (send/ is below connection/).
export { closedError } from '../send/send-errors.js';

/** A payload as the protocol core takes it: text stays a string, the rest becomes bytes (no copy). */
export function toPayload(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === 'string' || Buffer.isBuffer(data)) return data;
  if (
    data instanceof ArrayBuffer ||
    (typeof SharedArrayBuffer !== 'undefined' && data instanceof SharedArrayBuffer)
  ) {
    return new Uint8Array(data);
  }
  if (ArrayBuffer.isView(data))
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError(
    'send data must be a string, Buffer, ArrayBuffer, ArrayBufferView, Blob or number',
  );
}

export function toArrayBuffer(data: Buffer): ArrayBuffer {
  return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
}
