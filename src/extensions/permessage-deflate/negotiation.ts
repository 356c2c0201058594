import { type ExtensionOffer, formatExtensionHeader } from '../../handshake/extension-header.js';
import { HandshakeError, HandshakeErrorCode } from '../../handshake/handshake-error.js';
import { MAX_WINDOW_BITS, type ResolvedDeflateOptions } from './options.js';

/** The extension's name in `Sec-WebSocket-Extensions` (RFC 7692 §7). */
export const PERMESSAGE_DEFLATE = 'permessage-deflate';

/** What both ends agreed: the window bits and context takeover for each direction. */
export interface DeflateParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  /** 8..15 (15 when not given). */
  serverMaxWindowBits: number;
  /** 8..15 (15 when not given). */
  clientMaxWindowBits: number;
}

/** What a server agreed to: its answer element and the parameters. */
export interface ServerAgreement {
  answer: ExtensionOffer;
  params: DeflateParams;
}

/** The four parameters of one offer or response, read and checked. */
interface Parameters {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number | undefined;
  /** `true`: given without a value (allowed in an offer only, RFC 7692 §7.1.2.2). */
  clientMaxWindowBits: number | true | undefined;
}

// RFC 7692 §7.1.2.1, §7.1.2.2: "a decimal integer value without leading zeroes between 8 to
// 15, inclusive" (`1*DIGIT`). A quoted value was already unquoted by the header parser (RFC
// 6455 §9.1 makes `"10"` the same value as `10`).
const WINDOW_BITS = /^(?:[89]|1[0-5])$/;

/**
 * Reads the parameters of a permessage-deflate element, or says why they are invalid (RFC
 * 7692 §7: an unknown parameter, one given twice, or a bad value).
 */
function readParameters(
  params: ExtensionOffer['params'],
  side: 'offer' | 'response',
): Parameters | string {
  const out: Parameters = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: undefined,
    clientMaxWindowBits: undefined,
  };
  const seen = new Set<string>();
  for (const [name, value] of params) {
    if (seen.has(name)) return `parameter ${JSON.stringify(name)} is given twice`;
    seen.add(name);
    switch (name) {
      // RFC 7692 §7.1.1.1, §7.1.1.2: these have no value.
      case 'server_no_context_takeover':
      case 'client_no_context_takeover':
        if (value !== true) return `parameter ${JSON.stringify(name)} must have no value`;
        if (name === 'server_no_context_takeover') out.serverNoContextTakeover = true;
        else out.clientNoContextTakeover = true;
        break;
      // RFC 7692 §7.1.2.1: a value is required, in an offer and in a response.
      case 'server_max_window_bits':
        if (value === true || !WINDOW_BITS.test(value)) return invalidBits(name, value);
        out.serverMaxWindowBits = Number(value);
        break;
      // RFC 7692 §7.1.2.2: the value is optional in an offer, required in a response.
      case 'client_max_window_bits':
        if (value === true) {
          if (side === 'response') return invalidBits(name, value);
          out.clientMaxWindowBits = true;
        } else {
          if (!WINDOW_BITS.test(value)) return invalidBits(name, value);
          out.clientMaxWindowBits = Number(value);
        }
        break;
      default:
        return `parameter ${JSON.stringify(name)} is unknown`;
    }
  }
  return out;
}

function invalidBits(name: string, value: string | true): string {
  const found = value === true ? 'no value' : JSON.stringify(value);
  return `parameter ${JSON.stringify(name)} must be an integer from 8 to 15, found ${found}`;
}

/** Our own limit on the client's window, as a server: `true` does not limit. */
function clientLimit(options: ResolvedDeflateOptions): number {
  return options.clientMaxWindowBits === true ? MAX_WINDOW_BITS : options.clientMaxWindowBits;
}

/**
 * Server: picks the first acceptable permessage-deflate offer among the client's (RFC 7692 §5:
 * the offers are in the client's order of preference), or `undefined` to decline them all.
 * Offers of other extensions are skipped. Returns the `Sec-WebSocket-Extensions` value to
 * answer with and the agreed parameters. Never throws on what the client sent.
 */
export function negotiateServer(
  offers: ExtensionOffer[],
  options: ResolvedDeflateOptions,
): { response: string; params: DeflateParams } | undefined {
  const agreed = agreeServer(offers, options);
  if (agreed === undefined) return undefined;
  return { response: formatExtensionHeader([agreed.answer]), params: agreed.params };
}

/** {@link negotiateServer} with the answer as a parsed element. */
export function agreeServer(
  offers: readonly ExtensionOffer[],
  options: ResolvedDeflateOptions,
): ServerAgreement | undefined {
  for (const offer of offers) {
    if (offer.name !== PERMESSAGE_DEFLATE) continue;
    // RFC 7692 §7: an offer with an unknown parameter, a repeated one or a bad value is
    // declined; the next offer may still be acceptable.
    const asked = readParameters(offer.params, 'offer');
    if (typeof asked === 'string') continue;
    const accepted = acceptOffer(asked, options);
    if (accepted !== undefined) return accepted;
  }
  return undefined;
}

function acceptOffer(
  asked: Parameters,
  options: ResolvedDeflateOptions,
): ServerAgreement | undefined {
  const limit = clientLimit(options);
  // RFC 7692 §7.1.2.2: without `client_max_window_bits` in the offer, the response must not
  // limit the client's window. A server configured to limit it declines such an offer (RFC
  // 7692 §7: "the server doesn't support the offered configuration"), as ws does.
  if (asked.clientMaxWindowBits === undefined && limit < MAX_WINDOW_BITS) return undefined;

  const response: ExtensionOffer['params'] = [];
  const params: DeflateParams = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: MAX_WINDOW_BITS,
    clientMaxWindowBits: MAX_WINDOW_BITS,
  };

  // RFC 7692 §7.1.1.1: accepting the offer's `server_no_context_takeover` means including it;
  // the server may also include it when not asked.
  if (asked.serverNoContextTakeover || options.serverNoContextTakeover) {
    params.serverNoContextTakeover = true;
    response.push(['server_no_context_takeover', true]);
  }
  // RFC 7692 §7.1.1.2: the server may include `client_no_context_takeover` whether offered or
  // not. An offered one is echoed, so that both ends record the same parameters.
  if (asked.clientNoContextTakeover || options.clientNoContextTakeover) {
    params.clientNoContextTakeover = true;
    response.push(['client_no_context_takeover', true]);
  }
  // RFC 7692 §7.1.2.1: an offered limit is accepted by answering the same or a smaller value;
  // the server may also announce a limit of its own when not asked.
  if (asked.serverMaxWindowBits !== undefined || options.serverMaxWindowBits < MAX_WINDOW_BITS) {
    const bits = Math.min(
      asked.serverMaxWindowBits ?? MAX_WINDOW_BITS,
      options.serverMaxWindowBits,
    );
    params.serverMaxWindowBits = bits;
    response.push(['server_max_window_bits', String(bits)]);
  }
  // RFC 7692 §7.1.2.2: only when offered; at most the offered value. Echoing a value the
  // client gave makes its hint explicit, so both ends record the same window.
  if (asked.clientMaxWindowBits !== undefined) {
    const offered =
      asked.clientMaxWindowBits === true ? MAX_WINDOW_BITS : asked.clientMaxWindowBits;
    if (asked.clientMaxWindowBits !== true || limit < MAX_WINDOW_BITS) {
      const bits = Math.min(offered, limit);
      params.clientMaxWindowBits = bits;
      response.push(['client_max_window_bits', String(bits)]);
    }
  }
  // An agreed server window of 8 bits is accepted: the codec compresses with zlib's 9-bit
  // window, whose matches reach back at most 250 bytes (src/node/extensions/zlib-port.ts).
  return { answer: { name: PERMESSAGE_DEFLATE, params: response }, params };
}

/**
 * Client: the `Sec-WebSocket-Extensions` offer to send. The default is
 * `permessage-deflate; client_max_window_bits`, as browsers, ws and python-websockets send.
 */
export function clientOffer(options: ResolvedDeflateOptions): string {
  return formatExtensionHeader([clientOfferElement(options)]);
}

/** {@link clientOffer} as a parsed element (name and parameters). */
export function clientOfferElement(options: ResolvedDeflateOptions): ExtensionOffer {
  const params: ExtensionOffer['params'] = [];
  if (options.serverNoContextTakeover) params.push(['server_no_context_takeover', true]);
  if (options.clientNoContextTakeover) params.push(['client_no_context_takeover', true]);
  if (options.serverMaxWindowBits < MAX_WINDOW_BITS) {
    params.push(['server_max_window_bits', String(options.serverMaxWindowBits)]);
  }
  // RFC 7692 §7.1.2.2: always offered, so that the server may limit our window (any limit
  // it picks is one we can honour).
  params.push([
    'client_max_window_bits',
    options.clientMaxWindowBits === true ? true : String(options.clientMaxWindowBits),
  ]);
  return { name: PERMESSAGE_DEFLATE, params };
}

function invalidResponse(reason: string): HandshakeError {
  return new HandshakeError(
    HandshakeErrorCode.InvalidExtensionHeader,
    `Invalid permessage-deflate response: ${reason}`,
  );
}

/**
 * Client: checks the server's answer to {@link clientOffer} (RFC 7692 §7: the client must
 * fail the connection on an invalid response or one it does not support). `accepted` is the
 * parsed `Sec-WebSocket-Extensions` of the 101: empty means the server declined, and gives
 * `undefined` (no compression). Returns the agreed parameters, or a HandshakeError
 * (`WS_ERR_INVALID_EXTENSION_HEADER`) to fail the connection with.
 */
export function acceptServerResponse(
  accepted: ExtensionOffer[],
  options: ResolvedDeflateOptions,
): DeflateParams | undefined | HandshakeError {
  if (accepted.length === 0) return undefined;
  for (const { name } of accepted) {
    // RFC 6455 §4.1 (client step 5): an extension that was not offered fails the connection.
    if (name !== PERMESSAGE_DEFLATE) {
      return invalidResponse(`the server accepted ${JSON.stringify(name)}, which was not offered`);
    }
  }
  // One offer was sent; RFC 7692 §5 (RSV1): at most one permessage-deflate can be in use.
  if (accepted.length > 1) return invalidResponse('the server accepted it more than once');
  const got = readParameters(accepted[0]!.params, 'response');
  if (typeof got === 'string') return invalidResponse(got);

  // RFC 7692 §7.1.1.1: the server accepts `server_no_context_takeover` by including it.
  if (options.serverNoContextTakeover && !got.serverNoContextTakeover) {
    return invalidResponse('"server_no_context_takeover" was requested but is missing');
  }
  // RFC 7692 §7.1.2.1: the server accepts `server_max_window_bits` by including it, with the
  // same or a smaller value; unasked, it may announce any value.
  if (options.serverMaxWindowBits < MAX_WINDOW_BITS) {
    if (got.serverMaxWindowBits === undefined) {
      return invalidResponse('"server_max_window_bits" was requested but is missing');
    }
    if (got.serverMaxWindowBits > options.serverMaxWindowBits) {
      return invalidResponse(
        `"server_max_window_bits=${got.serverMaxWindowBits}" is more than the ${options.serverMaxWindowBits} requested`,
      );
    }
  }
  // RFC 7692 §7.1.2.2: we always offer `client_max_window_bits`; the answer must not exceed a
  // value we offered.
  const ours = options.clientMaxWindowBits === true ? undefined : options.clientMaxWindowBits;
  const clientBits = got.clientMaxWindowBits as number | undefined;
  if (clientBits !== undefined && ours !== undefined && clientBits > ours) {
    return invalidResponse(
      `"client_max_window_bits=${clientBits}" is more than the ${ours} offered`,
    );
  }
  return {
    serverNoContextTakeover: got.serverNoContextTakeover,
    // RFC 7692 §7.1.1.2: offering it is a promise kept even when the server does not echo it.
    clientNoContextTakeover: got.clientNoContextTakeover || options.clientNoContextTakeover,
    serverMaxWindowBits: got.serverMaxWindowBits ?? MAX_WINDOW_BITS,
    // RFC 7692 §7.1.2.2: an offered value is a limit we keep even when the server omits it.
    clientMaxWindowBits: clientBits ?? ours ?? MAX_WINDOW_BITS,
  };
}
