/** What may be published: as `send` takes it. */
export type PublishData = string | Buffer | ArrayBuffer | ArrayBufferView;

/**
 * A copy of the data's bytes: the caller may reuse its buffer while the message is compressed
 * or in flight.
 */
export function publishBytes(data: PublishData): Buffer {
  if (typeof data === 'string') return Buffer.from(data);
  if (
    data instanceof ArrayBuffer ||
    (typeof SharedArrayBuffer !== 'undefined' && data instanceof SharedArrayBuffer)
  ) {
    return Buffer.from(new Uint8Array(data));
  }
  if (ArrayBuffer.isView(data)) {
    return Buffer.from(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  throw new TypeError(
    `publish data must be a string, Buffer, ArrayBuffer or ArrayBufferView, not ${typeof data}`,
  );
}
