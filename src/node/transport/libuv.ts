import { getSystemErrorMap } from 'node:util';

/**
 * Node's libuv TCP handles, used directly by the standalone server's fast path: no net.Socket,
 * no stream machinery, one shared read buffer. These are Node internals reached through
 * `process.binding` (stable in shape since Node 12, and what `net` itself is built on); they are
 * feature-detected, and every caller falls back to `net`/`http` when they are missing or when
 * `TSWS_NO_FAST_PATH=1` is set.
 */

export interface WriteReq {
  handle: TcpHandle;
  oncomplete: (this: WriteReq, status: number) => void;
  async: boolean;
  /** What the request keeps alive until it completes. */
  chunks?: Buffer[];
  owner?: unknown;
  callback?: ((error?: Error | null) => void) | undefined;
}

export interface ShutdownReq {
  handle: TcpHandle;
  oncomplete: (this: ShutdownReq, status: number) => void;
  owner?: unknown;
}

export interface SocketAddress {
  address?: string;
  family?: string;
  port?: number;
}

export interface TcpHandle {
  onread: (this: TcpHandle, arrayBuffer?: ArrayBuffer) => unknown;
  onconnection: ((this: TcpHandle, status: number, client?: TcpHandle) => void) | null;
  readStart(): number;
  readStop(): number;
  useUserBuffer(buffer: Uint8Array): void;
  writeBuffer(req: WriteReq, buffer: Uint8Array): number;
  writev(req: WriteReq, chunks: Uint8Array[], allBuffers: true): number;
  shutdown(req: ShutdownReq): number;
  close(callback?: () => void): void;
  setNoDelay(noDelay: boolean): number;
  getpeername(out: SocketAddress): number;
  getsockname(out: SocketAddress): number;
  bind(address: string, port: number): number;
  bind6(address: string, port: number, flags: number): number;
  listen(backlog: number): number;
  ref(): void;
  unref(): void;
  readonly writeQueueSize: number;
  /** The JS object that owns this handle (set by tsws). */
  owner?: unknown;
}

export interface Libuv {
  createServerHandle(): TcpHandle;
  newWriteReq(): WriteReq;
  newShutdownReq(): ShutdownReq;
  /** Bytes read (or a negative error) of the read being reported to `onread`. */
  readBytes(): number;
  /** Whether the last write was queued (true) rather than written at once. */
  lastWriteWasAsync(): boolean;
  readonly UV_EOF: number;
}

interface Bindings {
  TCP: new (type: number) => TcpHandle;
  constants: { SERVER: number };
}
interface StreamBindings {
  WriteWrap: new () => WriteReq;
  ShutdownWrap: new () => ShutdownReq;
  streamBaseState: Int32Array;
  kReadBytesOrError: number;
  kLastWriteWasAsync: number;
}

const UV_EOF_DEFAULT = -4095;

function load(): Libuv | undefined {
  if (process.env.TSWS_NO_FAST_PATH === '1') return undefined;
  // A cluster worker shares its listening socket through the primary: leave that to `net`.
  if (process.env.NODE_UNIQUE_ID !== undefined) return undefined;
  const binding = (process as unknown as { binding?: (name: string) => unknown }).binding;
  if (typeof binding !== 'function') return undefined;
  try {
    const tcp = binding('tcp_wrap') as Bindings;
    const stream = binding('stream_wrap') as StreamBindings;
    const { TCP, constants } = tcp;
    const { WriteWrap, ShutdownWrap, streamBaseState, kReadBytesOrError, kLastWriteWasAsync } =
      stream;
    if (
      typeof TCP !== 'function' ||
      typeof WriteWrap !== 'function' ||
      typeof ShutdownWrap !== 'function' ||
      !(streamBaseState instanceof Int32Array) ||
      typeof kReadBytesOrError !== 'number' ||
      typeof kLastWriteWasAsync !== 'number' ||
      typeof constants?.SERVER !== 'number'
    ) {
      return undefined;
    }
    const proto = TCP.prototype as Partial<TcpHandle>;
    for (const method of [
      'readStart',
      'useUserBuffer',
      'writev',
      'writeBuffer',
      'shutdown',
    ] as const) {
      if (typeof proto[method] !== 'function') return undefined;
    }
    return {
      createServerHandle: () => new TCP(constants.SERVER),
      newWriteReq: () => new WriteWrap(),
      newShutdownReq: () => new ShutdownWrap(),
      readBytes: () => streamBaseState[kReadBytesOrError]!,
      lastWriteWasAsync: () => streamBaseState[kLastWriteWasAsync] !== 0,
      UV_EOF: (binding('uv') as { UV_EOF?: number }).UV_EOF ?? UV_EOF_DEFAULT,
    };
  } catch {
    return undefined;
  }
}

/**
 * Whether touching Node internals could warn or crash: `process.binding` is deprecated
 * (DEP0111, printed under `--pending-deprecation`), so it is not called at all when deprecations
 * throw, nor under the permission model (which forbids it).
 */
function internalsUnsafe(): boolean {
  const proc = process as unknown as { throwDeprecation?: boolean; permission?: unknown };
  if (proc.throwDeprecation === true || proc.permission !== undefined) return true;
  const flags = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');
  return /--throw-deprecation|--experimental-permission|--permission\b/.test(flags);
}

/**
 * The bindings, or undefined when this Node.js does not offer them (use `net` then). Loaded by
 * `loadLibuv()` when a standalone server is created, never on import: a client-only program
 * touches no internals. A live binding, so the transports read what was loaded.
 */
export let libuv: Libuv | undefined;
let loaded = false;

/** Loads the bindings once (undefined: use `net`/`http`). */
export function loadLibuv(): Libuv | undefined {
  if (!loaded) {
    loaded = true;
    libuv = internalsUnsafe() ? undefined : load();
  }
  return libuv;
}

/** An Error like Node's own for a libuv error code, e.g. `listen EADDRINUSE: address already in use 127.0.0.1:80`. */
export function uvError(errno: number, syscall: string, address?: string, port?: number): Error {
  const [name, description] = uvErrorName(errno);
  const where =
    address === undefined ? '' : port === undefined ? ` ${address}` : ` ${address}:${port}`;
  const error = new Error(`${syscall} ${name}: ${description}${where}`) as Error & {
    code: string;
    errno: number;
    syscall: string;
    address?: string;
    port?: number;
  };
  error.code = name;
  error.errno = errno;
  error.syscall = syscall;
  if (address !== undefined) error.address = address;
  if (port !== undefined) error.port = port;
  return error;
}

/** libuv's EALREADY (its number differs between systems): e.g. reading a handle that reads. */
export function isAlreadyError(errno: number): boolean {
  return errno < 0 && uvErrorName(errno)[0] === 'EALREADY';
}

/** Node builds the whole map on each call: kept (an upgrade asks for EALREADY each time). */
let systemErrors: Map<number, [string, string]> | undefined;

function uvErrorName(errno: number): [string, string] {
  systemErrors ??= getSystemErrorMap();
  return systemErrors.get(errno) ?? [`E${-errno}`, 'unknown error'];
}

/**
 * A TCP server handle for a WorkerPool's primary, which binds the sockets its workers listen
 * on: the binding alone, whatever TSWS_NO_FAST_PATH says (the workers decide their path).
 * Undefined where Node's internals are unavailable.
 */
export function tcpServerHandle(): TcpHandle | undefined {
  if (internalsUnsafe()) return undefined;
  const binding = (process as unknown as { binding?: (name: string) => unknown }).binding;
  try {
    const { TCP, constants } = binding!('tcp_wrap') as Bindings;
    return new TCP(constants.SERVER);
  } catch {
    return undefined;
  }
}
