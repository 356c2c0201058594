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
  const n = Number(value);
  if (Number.isNaN(n)) return 0;
  const clamped = Math.min(Math.max(n, 0), 65535);
  const floor = Math.floor(clamped);
  const diff = clamped - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * WebIDL [EnforceRange] unsigned short (§3.2.4.9): not finite, or out of 0-65535 once
 * truncated, is a TypeError; fractions are truncated.
 */
export function enforceUnsignedShort(value: unknown, context: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) {
    throw new TypeError(`${context}: Value is not a finite number.`);
  }
  const truncated = Math.trunc(n);
  if (truncated < 0 || truncated > 65535) {
    throw new TypeError(`${context}: Value is outside the 'unsigned short' value range.`);
  }
  return truncated === 0 ? 0 : truncated;
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
