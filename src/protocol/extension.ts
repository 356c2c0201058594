// WebSocket extensions (RFC 6455 §9): what the protocol core needs from one, and how the
// opening handshake agrees on it. Modelled on python-websockets' extensions/base.py.

/** One parameter of an extension offer or answer: `true` when it has no value (RFC 6455 §9.1). */
export type ExtensionParam = [name: string, value: string | true];

/** One element of `Sec-WebSocket-Extensions`: an extension's name and its parameters. */
export interface ExtensionOffer {
  name: string;
  params: ExtensionParam[];
}

/** What a decode's budget answers when more output is produced: go on, wait, or refuse (1009). */
export const BUDGET_OK = 0;
export const BUDGET_WAIT = 1;
export const BUDGET_REFUSE = 2;
export type BudgetVerdict = typeof BUDGET_OK | typeof BUDGET_WAIT | typeof BUDGET_REFUSE;

/**
 * A memory budget a decode charges its output to (the binding's process-wide one). On
 * `BUDGET_WAIT` the extension stops producing output until its `resumeDecoding()` is called;
 * on `BUDGET_REFUSE` it fails the message (a PeerError with 1009).
 */
export interface DecodeBudget {
  /** The decode has its turn (it may have waited for a process-wide limiter). */
  started(): void;
  grow(bytes: number): BudgetVerdict;
  /** Called by the core once the decode is over (delivered or failed): its charge is released. */
  end(): void;
}

export type ExtensionCallback = (error: Error | null, data?: Buffer) => void;

/**
 * An extension agreed for one connection. The core calls `decode` for every message whose
 * first frame has RSV1 set (the one RSV bit it lets an extension use, RFC 6455 §5.2), holds
 * later input while it runs, and checks the decoded text for UTF-8. The binding's send path
 * calls `encode`. Calls of each kind never overlap on one connection.
 */
export interface Extension {
  /** The registered name (RFC 6455 §11.4), e.g. `permessage-deflate`. */
  readonly name: string;
  /** Whether the extension marks its messages with RSV1 (RFC 7692 §6). */
  readonly rsv1: boolean;
  /**
   * Decodes a whole message (the payloads of its frames, joined). Errors should be PeerErrors
   * with the close code to fail with (1007 bad data, 1009 too big); any other error fails the
   * connection with 1011.
   */
  decode(data: Buffer, callback: ExtensionCallback, budget?: DecodeBudget): void;
  /** A decode held by its budget (`BUDGET_WAIT`) goes on. */
  resumeDecoding(): void;
  /** Encodes a message, or one fragment of it (`fin` false: more follows). */
  encode(data: Uint8Array, fin: boolean, callback: ExtensionCallback): void;
  /** Frees its resources (the connection is over); a job running ends with an error. */
  close(): void;
}

/** A server's side of agreeing on one extension (RFC 6455 §9.1). */
export interface ServerExtensionFactory {
  readonly name: string;
  /**
   * Picks one of the client's offers (all of them, in its order of preference; others' are
   * skipped), or `undefined` to decline. Never throws on what the client sent.
   */
  accept(
    offers: readonly ExtensionOffer[],
  ): { answer: ExtensionOffer; extension: Extension } | undefined;
}

/** A client's side of agreeing on one extension. */
export interface ClientExtensionFactory {
  readonly name: string;
  /** What to offer in `Sec-WebSocket-Extensions`. */
  offer(): ExtensionOffer;
  /**
   * The server's answer naming this extension: the extension, or an Error (the handshake
   * fails, RFC 6455 §4.1 client step 5).
   */
  accept(answer: ExtensionOffer): Extension | Error;
}
