import { randomBytes } from 'node:crypto';

/** A frame as a test wants to write it, including what a correct writer never produces. */
export interface RawFrame {
  opcode: number;
  payload?: Uint8Array | string;
  fin?: boolean;
  rsv1?: boolean;
  rsv2?: boolean;
  rsv3?: boolean;
  /** true: a random key; a Uint8Array: that key; false/undefined: unmasked. */
  mask?: boolean | Uint8Array;
  /** Force a length encoding ('16' or '64' give non-minimal encodings for short payloads). */
  lengthEncoding?: '7' | '16' | '64';
  /** Write this value in the length field instead of the payload's real length. */
  declaredLength?: bigint;
}

/** Encodes a frame by the RFC, independently of the library's writer. */
export function encodeFrame(frame: RawFrame): Buffer {
  const payload =
    typeof frame.payload === 'string'
      ? Buffer.from(frame.payload)
      : Buffer.from(frame.payload ?? []);
  const fin = frame.fin ?? true;
  const b0 =
    (fin ? 0x80 : 0) |
    (frame.rsv1 ? 0x40 : 0) |
    (frame.rsv2 ? 0x20 : 0) |
    (frame.rsv3 ? 0x10 : 0) |
    (frame.opcode & 0x0f);
  const length = frame.declaredLength ?? BigInt(payload.length);
  const encoding = frame.lengthEncoding ?? (length <= 125n ? '7' : length <= 0xffffn ? '16' : '64');
  const key =
    frame.mask === true
      ? randomBytes(4)
      : frame.mask instanceof Uint8Array
        ? frame.mask
        : undefined;
  const maskBit = key ? 0x80 : 0;
  const parts: Buffer[] = [];
  if (encoding === '7') {
    parts.push(Buffer.from([b0, maskBit | Number(length)]));
  } else if (encoding === '16') {
    const h = Buffer.alloc(4);
    h[0] = b0;
    h[1] = maskBit | 126;
    h.writeUInt16BE(Number(length), 2);
    parts.push(h);
  } else {
    const h = Buffer.alloc(10);
    h[0] = b0;
    h[1] = maskBit | 127;
    h.writeBigUInt64BE(length, 2);
    parts.push(h);
  }
  if (key) {
    parts.push(Buffer.from(key));
    const masked = Buffer.alloc(payload.length);
    for (let i = 0; i < payload.length; i++) masked[i] = payload[i]! ^ key[i % 4]!;
    parts.push(masked);
  } else {
    parts.push(payload);
  }
  return Buffer.concat(parts);
}

export interface DecodedFrame {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

/** Decodes complete frames from bytes (for checking what the library wrote). */
export function decodeFrames(bytes: Buffer): { frames: DecodedFrame[]; rest: Buffer } {
  const frames: DecodedFrame[] = [];
  let pos = 0;
  for (;;) {
    if (bytes.length - pos < 2) break;
    const b0 = bytes[pos]!;
    const b1 = bytes[pos + 1]!;
    let length = b1 & 0x7f;
    let p = pos + 2;
    if (length === 126) {
      if (bytes.length - p < 2) break;
      length = bytes.readUInt16BE(p);
      p += 2;
    } else if (length === 127) {
      if (bytes.length - p < 8) break;
      length = Number(bytes.readBigUInt64BE(p));
      p += 8;
    }
    const masked = (b1 & 0x80) !== 0;
    let key: Buffer | undefined;
    if (masked) {
      if (bytes.length - p < 4) break;
      key = bytes.subarray(p, p + 4);
      p += 4;
    }
    if (bytes.length - p < length) break;
    const payload = Buffer.from(bytes.subarray(p, p + length));
    if (key) for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i % 4]!;
    frames.push({
      fin: (b0 & 0x80) !== 0,
      rsv1: (b0 & 0x40) !== 0,
      opcode: b0 & 0x0f,
      masked,
      payload,
    });
    pos = p + length;
  }
  return { frames, rest: bytes.subarray(pos) };
}

export function closePayload(code: number, reason: string | Uint8Array = ''): Buffer {
  const r = typeof reason === 'string' ? Buffer.from(reason) : Buffer.from(reason);
  const b = Buffer.alloc(2 + r.length);
  b.writeUInt16BE(code, 0);
  r.copy(b, 2);
  return b;
}
