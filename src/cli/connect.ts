import { createInterface } from 'node:readline';
import { WebSocket } from '../node/index.js';

export interface ConnectOptions {
  url: string;
  headers: Record<string, string>;
  protocols: string[];
  /** Send this message, print the first answer, then close. */
  execute?: string;
  /** With `execute`: how long to wait for the answer, in ms. */
  wait: number;
  handshakeTimeout?: number;
  output: NodeJS.WritableStream;
  errors: NodeJS.WritableStream;
  input: NodeJS.ReadableStream;
}

/** Exit statuses of `tsws connect`. */
export const ExitStatus = {
  /** Closed normally: 1000, 1001 or no code (1005). */
  Clean: 0,
  /** Could not connect, or closed abnormally (1006) or with an error code, or no answer. */
  Failure: 1,
  Usage: 2,
} as const;

const CLEAN_CODES = new Set([1000, 1001, 1005]);

/**
 * `tsws connect <url>`: an interactive client like wscat. Every line typed is sent as a text
 * message; every message received is printed (binary as hex). End of input closes with 1000.
 * Resolves with the exit status.
 */
export function connect(options: ConnectOptions): Promise<number> {
  const { output, errors } = options;
  return new Promise((resolve) => {
    let ws: WebSocket;
    try {
      ws = new WebSocket(options.url, options.protocols, {
        headers: options.headers,
        handshakeTimeout: options.handshakeTimeout,
      });
    } catch (error) {
      errors.write(`error: ${(error as Error).message}\n`);
      resolve(ExitStatus.Usage);
      return;
    }
    let failed = false;
    let answered = false;
    let waitTimer: NodeJS.Timeout | undefined;
    const print = (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      const bytes = data as Buffer;
      output.write(
        isBinary
          ? `<binary ${bytes.length} bytes> ${bytes.toString('hex')}\n`
          : `${bytes.toString()}\n`,
      );
    };
    ws.on('error', (error: Error) => {
      failed = true;
      errors.write(`error: ${error.message}\n`);
    });
    ws.on('open', () => {
      if (ws.protocol) errors.write(`connected (subprotocol: ${ws.protocol})\n`);
      else errors.write('connected\n');
      if (options.execute !== undefined) {
        ws.send(options.execute);
        waitTimer = setTimeout(() => {
          errors.write(`no answer within ${options.wait} ms\n`);
          failed = true;
          ws.close(1000);
        }, options.wait);
        return;
      }
      const lines = createInterface({ input: options.input, terminal: false });
      lines.on('line', (line) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(line);
      });
      lines.on('close', () => ws.close(1000));
      ws.once('close', () => lines.close());
    });
    ws.on('message', (data, isBinary) => {
      if (options.execute !== undefined) {
        if (answered) return;
        answered = true;
        clearTimeout(waitTimer);
        print(data as Buffer, isBinary as boolean);
        ws.close(1000);
        return;
      }
      print(data as Buffer, isBinary as boolean);
    });
    ws.on('close', (code: number, reason: Buffer) => {
      clearTimeout(waitTimer);
      const text = reason.length > 0 ? ` ${reason.toString()}` : '';
      errors.write(`closed: ${code}${text}\n`);
      resolve(failed || !CLEAN_CODES.has(code) ? ExitStatus.Failure : ExitStatus.Clean);
    });
  });
}
