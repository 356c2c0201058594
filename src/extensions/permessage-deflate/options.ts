/**
 * Options of permessage-deflate (RFC 7692), with ws's names. The same object configures a
 * client (what to offer) and a server (what to accept and ask for): each field says both.
 */
export interface PerMessageDeflateOptions {
  /**
   * Client: ask the server not to keep its compression context between messages.
   * Server: never keep it (declared in the response even when not asked, RFC 7692 §7.1.1.1).
   * Default false.
   */
  serverNoContextTakeover?: boolean;
  /**
   * Client: promise not to keep its compression context (RFC 7692 §7.1.1.2, a hint).
   * Server: require the client not to keep it. Default false.
   */
  clientNoContextTakeover?: boolean;
  /**
   * 8..15. Client: ask the server to compress with at most this window (RFC 7692 §7.1.2.1).
   * Server: compress with at most this window. Default 15 (not limited).
   */
  serverMaxWindowBits?: number;
  /**
   * 8..15, or `true`. Client: offer `client_max_window_bits` with this value as a hint, or
   * without a value for `true` (the default, as browsers do; RFC 7692 §7.1.2.2).
   * Server: limit the client's window to this many bits; `true` (the default) does not limit.
   */
  clientMaxWindowBits?: number | true;
  /** Messages smaller than this many bytes are sent uncompressed. Default 1024. */
  threshold?: number;
  /** zlib compression level, 0..9. Default 6 (zlib's default). */
  level?: number;
  /** zlib memLevel, 1..9. Default 8. */
  memLevel?: number;
  /**
   * zlib jobs running at once, process-wide (a positive integer or Infinity). Default 10. When
   * several servers or clients of one process give a value, the smallest of those with live
   * connections applies (the limit is shared, so the strictest request holds for all).
   */
  concurrencyLimit?: number;
}

/** {@link PerMessageDeflateOptions} checked, with every default filled in. */
export interface ResolvedDeflateOptions {
  readonly serverNoContextTakeover: boolean;
  readonly clientNoContextTakeover: boolean;
  /** 8..15; 15 means not limited (a client then sends no `server_max_window_bits`). */
  readonly serverMaxWindowBits: number;
  /** 8..15, or `true`: offered without a value (client), not limited (server). */
  readonly clientMaxWindowBits: number | true;
  readonly threshold: number;
  readonly level: number;
  readonly memLevel: number;
  /** Undefined when not given: the process-wide default applies. */
  readonly concurrencyLimit: number | undefined;
}

export const DEFAULT_THRESHOLD = 1024;
export const DEFAULT_LEVEL = 6;
export const DEFAULT_MEM_LEVEL = 8;
/** zlib jobs at once, process-wide, when no connection asks for a limit. */
export const DEFAULT_CONCURRENCY_LIMIT = 10;
/** RFC 7692 §7.1.2: window bits range over 8..15; 15 (32 KiB) is DEFLATE's largest window. */
export const MIN_WINDOW_BITS = 8;
export const MAX_WINDOW_BITS = 15;

const KNOWN_KEYS: ReadonlySet<string> = new Set([
  'serverNoContextTakeover',
  'clientNoContextTakeover',
  'serverMaxWindowBits',
  'clientMaxWindowBits',
  'threshold',
  'level',
  'memLevel',
  'concurrencyLimit',
]);

function bool(name: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') {
    throw new TypeError(`perMessageDeflate.${name} must be a boolean`);
  }
  return value;
}

function integer(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`perMessageDeflate.${name} must be a number`);
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `perMessageDeflate.${name} must be an integer from ${min} to ${max}, got ${value}`,
    );
  }
  return value;
}

function windowBits(name: string, value: unknown): number {
  return integer(name, value, MAX_WINDOW_BITS, MIN_WINDOW_BITS, MAX_WINDOW_BITS);
}

/**
 * Checks permessage-deflate options and fills the defaults (`true` takes them all). Throws a
 * TypeError for a value of the wrong type or an unknown option (such as ws's
 * `zlibDeflateOptions`, which tsws does not take: silently ignoring it would change the
 * behaviour the caller asked for), and a RangeError for a number out of range.
 */
export function resolveDeflateOptions(
  options: PerMessageDeflateOptions | true,
): ResolvedDeflateOptions {
  if (options === true) options = {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError('perMessageDeflate must be true or an options object');
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_KEYS.has(key)) {
      throw new TypeError(`Unknown perMessageDeflate option: ${JSON.stringify(key)}`);
    }
  }
  const o = options as Record<keyof PerMessageDeflateOptions, unknown>;
  if (
    o.clientMaxWindowBits !== undefined &&
    o.clientMaxWindowBits !== true &&
    typeof o.clientMaxWindowBits !== 'number'
  ) {
    throw new TypeError('perMessageDeflate.clientMaxWindowBits must be true or a number');
  }
  const clientMaxWindowBits =
    o.clientMaxWindowBits === undefined || o.clientMaxWindowBits === true
      ? true
      : windowBits('clientMaxWindowBits', o.clientMaxWindowBits);
  const concurrencyLimit =
    o.concurrencyLimit === undefined || o.concurrencyLimit === Number.POSITIVE_INFINITY
      ? (o.concurrencyLimit as number | undefined)
      : integer('concurrencyLimit', o.concurrencyLimit, 0, 1, Number.MAX_SAFE_INTEGER);
  return Object.freeze({
    serverNoContextTakeover: bool('serverNoContextTakeover', o.serverNoContextTakeover),
    clientNoContextTakeover: bool('clientNoContextTakeover', o.clientNoContextTakeover),
    serverMaxWindowBits: windowBits('serverMaxWindowBits', o.serverMaxWindowBits),
    clientMaxWindowBits,
    threshold: integer('threshold', o.threshold, DEFAULT_THRESHOLD, 0, Number.MAX_SAFE_INTEGER),
    level: integer('level', o.level, DEFAULT_LEVEL, 0, 9),
    memLevel: integer('memLevel', o.memLevel, DEFAULT_MEM_LEVEL, 1, 9),
    concurrencyLimit,
  });
}
