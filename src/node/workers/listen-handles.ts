import { lookup } from 'node:dns/promises';
import { createServer, isIP } from 'node:net';
import { ErrorCode, UsageError } from '../../protocol/errors.js';
import {
  type SocketAddress,
  type TcpHandle,
  tcpServerHandle,
  uvError,
} from '../transport/libuv.js';

/**
 * The primary's listening sockets, one per address, bound (not listened on: the primary
 * accepts nothing) and handed to every worker that asks. Port 0 is bound once and shared.
 */
export class ListenHandles {
  private readonly handles = new Map<string, Promise<TcpHandle>>();
  private readonly bound = new Set<TcpHandle>();

  /** The socket bound to `host`:`port`, bound now if it is not yet; rejects on failure. */
  get(host: string | undefined, port: number): Promise<TcpHandle> {
    const key = keyOf(host, port);
    let handle = this.handles.get(key);
    if (handle === undefined) {
      handle = resolve(host).then(async (address) => {
        // libuv tells EADDRINUSE at listen, not bind, and the primary never listens: a port
        // another server listens on is found by a probe first.
        if (port !== 0) await probe(address, port);
        const bound = bind(address, port);
        this.bound.add(bound);
        const actual = portOf(bound);
        if (actual !== undefined) this.handles.set(keyOf(host, actual), Promise.resolve(bound));
        return bound;
      });
      this.handles.set(key, handle);
      // A failed bind may be tried again by the next request.
      handle.catch(() => this.handles.delete(key));
    }
    return handle;
  }

  close(): void {
    for (const handle of this.bound) handle.close();
    this.bound.clear();
    this.handles.clear();
  }
}

/** The port a handle is bound to. */
export function portOf(handle: TcpHandle): number | undefined {
  const out: SocketAddress = {};
  return handle.getsockname(out) === 0 ? out.port : undefined;
}

/** Rejects when `address`:`port` cannot be listened on (in use, not ours, privileged). */
function probe(address: string | undefined, port: number): Promise<void> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen({ port, host: address, exclusive: true }, () => server.close(() => done()));
  });
}

async function resolve(host: string | undefined): Promise<string | undefined> {
  if (host === undefined || isIP(host) !== 0) return host;
  return (await lookup(host)).address;
}

function keyOf(host: string | undefined, port: number): string {
  return `${host ?? '*'} ${port}`;
}

/** Binds like the standalone server: every interface is `::` (IPv4 too), else IPv4 only. */
function bind(host: string | undefined, port: number): TcpHandle {
  const make = () => {
    const handle = tcpServerHandle();
    if (handle === undefined) {
      throw new UsageError(
        ErrorCode.InvalidState,
        "WorkerPool needs Node's TCP binding (process.binding), unavailable here",
      );
    }
    return handle;
  };
  let handle = make();
  let address = host ?? '::';
  let error = isIP(address) === 6 ? handle.bind6(address, port, 0) : handle.bind(address, port);
  if (error !== 0 && host === undefined) {
    handle.close();
    handle = make();
    address = '0.0.0.0';
    error = handle.bind(address, port);
  }
  if (error !== 0) {
    handle.close();
    throw uvError(error, 'listen', address, port);
  }
  return handle;
}
