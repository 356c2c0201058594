import { createInterface } from 'node:readline';
import { WebSocket } from '../node/index.js';

export const CONNECT_USAGE = `  tsws connect <url> [options]
      An interactive client, like wscat: each line typed is sent as a text message, each
      message received is printed (binary as hex). On a terminal: a "> " prompt, and colours
      (NO_COLOR=1 turns them off). End of input (Ctrl-D) closes with 1000.
      -H, --header "Name: value"    a request header (repeatable)
      -s, --protocol NAME           offer a subprotocol (repeatable)
      -x, --execute MSG             send MSG, print the first answer and close
      -w, --wait MS                 with --execute: how long to wait for the answer (default 5000)
      --handshake-timeout MS        give up opening after MS (default 10000)
      --json                        one JSON object a line on stdout, for scripts: {"event":"open"},
                                    {"event":"message","type":"text"|"binary","data":...} (binary
                                    data in base64), {"event":"close","code":...,"reason":...}
      Exit status: 0 after a normal close (1000, 1001, 1005), 1 on a failure (cannot connect,
      abnormal close, error code, no answer), 2 on bad usage.
`;

export interface ConnectOptions {
  url: string;
  headers: Record<string, string>;
  protocols: string[];
  /** Send this message, print the first answer, then close. */
  execute?: string;
  /** With `execute`: how long to wait for the answer, in ms. */
  wait: number;
  handshakeTimeout?: number;
  /** One JSON line per event on `output` instead of text for people. */
  json?: boolean;
  /** A prompt and colours: for a person at a terminal (default: when input and output are TTYs). */
  interactive?: boolean;
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

const PROMPT = '> ';
const paint = (code: string) => (text: string) => `\x1b[${code}m${text}\x1b[0m`;
const COLOURS = { received: paint('32'), status: paint('2'), failure: paint('31') };
const PLAIN = { received: (t: string) => t, status: (t: string) => t, failure: (t: string) => t };

/**
 * `tsws connect <url>`: an interactive client like wscat. Every line typed is sent as a text
 * message; every message received is printed (binary as hex). End of input closes with 1000.
 * Resolves with the exit status.
 */
export function connect(options: ConnectOptions): Promise<number> {
  const { output, errors } = options;
  const interactive =
    options.json !== true &&
    options.execute === undefined &&
    (options.interactive ??
      ((options.input as { isTTY?: boolean }).isTTY === true &&
        (output as { isTTY?: boolean }).isTTY === true));
  const colour = interactive && process.env.NO_COLOR === undefined ? COLOURS : PLAIN;
  const json = (event: Record<string, unknown>) => output.write(`${JSON.stringify(event)}\n`);
  /** A status line: stderr for people, an event on stdout with --json. */
  const status = (text: string, event: Record<string, unknown>, failure = false) => {
    if (options.json) json(event);
    else if (interactive) above(`${(failure ? colour.failure : colour.status)(text)}\n`, output);
    else errors.write(`${text}\n`);
  };
  let lines: ReturnType<typeof createInterface> | undefined;
  /** Writes above the prompt (clears the line, writes, shows the prompt and what was typed). */
  const above = (text: string, stream: NodeJS.WritableStream) => {
    if (lines === undefined) {
      stream.write(text);
      return;
    }
    stream.write(`\r\x1b[K${text}`);
    lines.prompt(true);
  };
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
    const print = (data: Buffer, isBinary: boolean) => {
      if (options.json) {
        json({
          event: 'message',
          type: isBinary ? 'binary' : 'text',
          data: isBinary ? data.toString('base64') : data.toString(),
        });
        return;
      }
      const text = isBinary
        ? `<binary ${data.length} bytes> ${data.toString('hex')}`
        : data.toString();
      if (interactive) above(`${colour.received(`< ${text}`)}\n`, output);
      else output.write(`${text}\n`);
    };
    ws.on('error', (error: Error) => {
      failed = true;
      status(`error: ${error.message}`, { event: 'error', message: error.message }, true);
    });
    ws.on('open', () => {
      status(ws.protocol ? `connected (subprotocol: ${ws.protocol})` : 'connected', {
        event: 'open',
        protocol: ws.protocol,
      });
      if (options.execute !== undefined) {
        ws.send(options.execute);
        waitTimer = setTimeout(() => {
          status(
            `no answer within ${options.wait} ms`,
            { event: 'timeout', wait: options.wait },
            true,
          );
          failed = true;
          ws.close(1000);
        }, options.wait);
        return;
      }
      lines = interactive
        ? createInterface({ input: options.input, output, terminal: true, prompt: PROMPT })
        : createInterface({ input: options.input, terminal: false });
      const reader = lines;
      reader.on('line', (line) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(line);
        if (interactive) reader.prompt();
      });
      reader.on('close', () => {
        lines = undefined;
        ws.close(1000);
      });
      ws.once('close', () => reader.close());
      if (interactive) reader.prompt();
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
      const bad = failed || !CLEAN_CODES.has(code);
      lines?.close();
      lines = undefined;
      status(`closed: ${code}${text}`, { event: 'close', code, reason: reason.toString() }, bad);
      resolve(bad ? ExitStatus.Failure : ExitStatus.Clean);
    });
  });
}
