import {
  clampTruncateUnsignedShort,
  defineInterface,
  toDictionary,
  toDOMString,
  toUSVStringValue,
} from './webidl.js';

/** `WebSocketCloseInfo` (the WebSocketStream proposal, whatwg/websockets#48, as Chromium has it). */
export interface WebSocketCloseInfo {
  closeCode?: number;
  reason?: string;
}

/**
 * The error of a WebSocketStream that closed uncleanly or could not open ("The WebSocketError
 * interface" of the proposal, whatwg/websockets#48, as Chromium ships it): a DOMException with
 * the close code and reason.
 */
export class WebSocketError extends DOMException {
  readonly #closeCode: number | null;
  readonly #reason: string;

  constructor(message: string = '', init?: WebSocketCloseInfo | null) {
    // WebIDL: the DOMString message, then the WebSocketCloseInfo dictionary: closeCode (an
    // unsigned short that Chromium clamps and truncates), then reason (a USVString).
    const context = "Failed to construct 'WebSocketError'";
    const text = toDOMString(message, context);
    const info = toDictionary(init, context);
    const code = info.closeCode === undefined ? null : clampTruncateUnsignedShort(info.closeCode);
    const reason = info.reason === undefined ? '' : toUSVStringValue(info.reason, context);
    super(text, 'WebSocketError');
    const fromNetwork = networkInit;
    networkInit = undefined;
    if (fromNetwork !== undefined) {
      this.#closeCode = fromNetwork.closeCode;
      this.#reason = fromNetwork.reason;
      return;
    }
    // Constructor steps: "validate close code and reason"; a non-empty reason without a code
    // means 1000.
    validateCloseCodeAndReason(code, reason);
    this.#closeCode = code === null && reason !== '' ? 1000 : code;
    this.#reason = reason;
  }

  get closeCode(): number | null {
    return this.#closeCode;
  }
  get reason(): string {
    return this.#reason;
  }
}

defineInterface(WebSocketError, {
  name: 'WebSocketError',
  length: 0,
  members: { closeCode: null, reason: null },
});

/**
 * "Validate close code and reason" (the proposal's name for the checks of WebSocket's
 * close() steps 1-2): a code, if any, is 1000 or 3000-4999 (else InvalidAccessError), then a
 * reason is at most 123 bytes of UTF-8 (else SyntaxError).
 */
export function validateCloseCodeAndReason(code: number | null, reason: string | null): void {
  if (code !== null && code !== 1000 && (code < 3000 || code > 4999)) {
    throw new DOMException(
      `The close code must be either 1000, or between 3000 and 4999. ${code} is neither.`,
      'InvalidAccessError',
    );
  }
  if (reason !== null && Buffer.byteLength(reason) > 123) {
    throw new DOMException(
      'The close reason must not be greater than 123 UTF-8 bytes.',
      'SyntaxError',
    );
  }
}

/** Set by `networkError` for the next construction only. */
let networkInit: { closeCode: number | null; reason: string } | undefined;

/**
 * A WebSocketError for what the network reported (1006 and the like), with a code the
 * constructor refuses to take from scripts.
 */
export function networkError(
  message: string,
  closeCode: number | null,
  reason: string,
): WebSocketError {
  networkInit = { closeCode, reason };
  try {
    return new WebSocketError(message);
  } finally {
    networkInit = undefined;
  }
}
