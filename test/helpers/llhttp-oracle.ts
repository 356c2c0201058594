import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';

/** How Node's HTTP parser (llhttp) read a request head, or why it refused it. */
export type LlhttpOutcome =
  | { ok: true; method: string | undefined; url: string | undefined; httpVersion: string }
  | { ok: false; error: string };

/**
 * A Node HTTP server on 127.0.0.1 that reports how llhttp parsed each raw request sent to it.
 * An `Expect` header is HTTP semantics, not parsing: Node's checkContinue/checkExpectation
 * count as accepted. Node's own Host requirement is off (the handshake checks Host).
 */
export class LlhttpOracle {
  readonly #server = http.createServer({ requireHostHeader: false });
  readonly #pending = new Map<number, (outcome: LlhttpOutcome) => void>();
  #port = 0;

  async start(): Promise<void> {
    const accepted = (req: http.IncomingMessage) => {
      this.#settle(req.socket.remotePort, {
        ok: true,
        method: req.method,
        url: req.url,
        httpVersion: req.httpVersion,
      });
      req.socket.destroy();
    };
    this.#server.on('request', accepted);
    this.#server.on('checkContinue', accepted);
    this.#server.on('checkExpectation', accepted);
    this.#server.on('upgrade', accepted);
    this.#server.on('connect', accepted);
    this.#server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
      this.#settle(socket.remotePort, { ok: false, error: err.code ?? err.message });
      socket.destroy();
    });
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  #settle(port: number | undefined, outcome: LlhttpOutcome): void {
    const resolve = port === undefined ? undefined : this.#pending.get(port);
    if (resolve === undefined) return;
    this.#pending.delete(port!);
    resolve(outcome);
  }

  /** Sends `input` then ends the connection: a head llhttp still waits on is 'incomplete'. */
  async parse(input: Uint8Array): Promise<LlhttpOutcome> {
    const socket = net.connect(this.#port, '127.0.0.1');
    socket.on('error', () => {});
    await once(socket, 'connect');
    const port = socket.localPort!;
    try {
      return await new Promise<LlhttpOutcome>((resolve) => {
        const timer = setTimeout(() => this.#settle(port, { ok: false, error: 'timeout' }), 2000);
        this.#pending.set(port, (outcome) => {
          clearTimeout(timer);
          resolve(outcome);
        });
        socket.on('close', () => this.#settle(port, { ok: false, error: 'closed' }));
        socket.end(input);
      });
    } finally {
      socket.destroy();
    }
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}
