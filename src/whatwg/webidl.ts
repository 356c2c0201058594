import { toUSVString, types } from 'node:util';
/**
 * Gives a class the property shape WebIDL gives an interface (WebIDL §3.7): attributes and
 * operations are enumerable (class members are not), constants are read-only and not
 * configurable on the interface object and its prototype, `length` counts the required
 * arguments, and the class string is a data property of the prototype.
 */
export function defineInterface(
  ctor: abstract new (...args: never[]) => unknown,
  shape: {
    name: string;
    length: number;
    /** Attributes and operations on the prototype, with each operation's `length`. */
    members: Record<string, number | null>;
    constants?: Record<string, number>;
  },
): void {
  const proto = ctor.prototype as object;
  Object.defineProperty(ctor, 'length', { value: shape.length });
  for (const [name, length] of Object.entries(shape.members)) {
    const descriptor = Object.getOwnPropertyDescriptor(proto, name);
    if (descriptor === undefined) throw new Error(`${shape.name}.prototype.${name} is missing`);
    descriptor.enumerable = true;
    Object.defineProperty(proto, name, descriptor);
    if (length !== null && typeof descriptor.value === 'function') {
      Object.defineProperty(descriptor.value, 'length', { value: length });
    }
  }
  for (const [name, value] of Object.entries(shape.constants ?? {})) {
    Object.defineProperty(ctor, name, { enumerable: true, value });
    Object.defineProperty(proto, name, { enumerable: true, value });
  }
  Object.defineProperty(proto, Symbol.toStringTag, { value: shape.name, configurable: true });
}

/** WebIDL [Clamp] unsigned short (§3.2.4.9): clamp to 0-65535, round to nearest, ties to even. */
export function clampUnsignedShort(value: unknown): number {
  const n = toNumber(value);
  if (Number.isNaN(n)) return 0;
  const clamped = Math.min(Math.max(n, 0), 65535);
  const floor = Math.floor(clamped);
  const diff = clamped - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** ECMAScript ToNumber as WebIDL's integer conversions use it: a BigInt is a TypeError too. */
function toNumber(value: unknown): number {
  if (typeof value === 'bigint') throw new TypeError('Cannot convert a BigInt value to a number');
  return Number(value);
}

/**
 * A dictionary argument (WebIDL §3.2.19): undefined and null are an empty dictionary, other
 * non-objects a TypeError.
 */
export function toDictionary(value: unknown, context: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' && typeof value !== 'function') {
    throw new TypeError(`${context}: The provided value is not of type 'object'.`);
  }
  return value as Record<string, unknown>;
}

/**
 * Chromium's conversion of `WebSocketCloseInfo.closeCode` (WebSocketStream, WebSocketError): the
 * value is clamped to 0-65535 and truncated (NaN is 0), and validation comes after. The
 * interface is only a proposal (whatwg/websockets#48, not in the published standard), so tsws
 * follows what Chromium, which ships it, does: 70000 → 65535, -1 → 0, 2999.9 → 2999.
 */
export function clampTruncateUnsignedShort(value: unknown): number {
  const n = toNumber(value);
  if (Number.isNaN(n)) return 0;
  return Math.trunc(Math.min(Math.max(n, 0), 65535));
}

/** WebIDL DOMString (§3.2.10): ToString, which refuses a Symbol with a TypeError. */
export function toDOMString(value: unknown, context: string): string {
  if (typeof value === 'symbol') {
    throw new TypeError(`${context}: Cannot convert a Symbol value to a string.`);
  }
  return String(value);
}

/** WebIDL USVString (§3.2.12): a DOMString whose lone surrogates become U+FFFD. */
export function toUSVStringValue(value: unknown, context: string): string {
  return toUSVString(toDOMString(value, context));
}

/**
 * WebIDL BufferSource without [AllowShared] or [AllowResizable] (§3.2.26-28): a view or buffer
 * over a SharedArrayBuffer, or a resizable one, is a TypeError. Returns a copy of the bytes
 * ("get a copy of the bytes held by the buffer source"): a detached buffer gives none.
 * Returns undefined when `value` is not a buffer source.
 */
export function copyBufferSource(value: unknown, context: string): Uint8Array | undefined {
  let buffer: ArrayBufferLike;
  let offset = 0;
  let length: number;
  if (ArrayBuffer.isView(value)) {
    buffer = value.buffer;
    offset = value.byteOffset;
    length = value.byteLength;
  } else if (types.isAnyArrayBuffer(value)) {
    buffer = value;
    length = value.byteLength;
  } else {
    return undefined;
  }
  if (types.isSharedArrayBuffer(buffer)) {
    throw new TypeError(`${context}: The provided ArrayBuffer value must not be shared.`);
  }
  if ((buffer as { resizable?: boolean }).resizable === true) {
    throw new TypeError(`${context}: The provided ArrayBuffer value must not be resizable.`);
  }
  // A detached buffer (and every view of it) holds no bytes.
  if (buffer.byteLength === 0) return new Uint8Array(0);
  return new Uint8Array(buffer, offset, length).slice();
}
