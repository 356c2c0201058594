import { HandshakeError, HandshakeErrorCode } from './handshake-error.js';
import { isToken, joinHeaderValue, parseTokenList, trimOws } from './tokens.js';

/**
 * What is wrong with a list of subprotocol names, or `undefined`: each must be a token and
 * none may repeat (RFC 6455 §4.1 item 10: "MUST all be unique strings", compared exactly).
 */
export function subprotocolListFault(protocols: readonly string[]): string | undefined {
  const seen = new Set<string>();
  for (const protocol of protocols) {
    if (!isToken(protocol)) return `invalid subprotocol name ${JSON.stringify(protocol)}`;
    if (seen.has(protocol)) return `duplicate subprotocol name ${JSON.stringify(protocol)}`;
    seen.add(protocol);
  }
  return undefined;
}

/**
 * The client's `Sec-WebSocket-Protocol` (RFC 6455 §4.3, §11.3.4: `1#token`), in the client's
 * order of preference; repeated header lines form one list. Empty list elements are skipped
 * (RFC 2616 §2.1, whose list rules §4.3 uses), but a value of commas only lists nothing and is
 * an error. A missing or blank header gives [].
 */
export function parseSubprotocolHeader(
  value: string | string[] | undefined,
): string[] | HandshakeError {
  const protocols = parseTokenList(value);
  let fault = subprotocolListFault(protocols);
  if (protocols.length === 0 && trimOws(joinHeaderValue(value)) !== '') fault = 'no subprotocol';
  if (fault === undefined) return protocols;
  return new HandshakeError(
    HandshakeErrorCode.InvalidSubprotocol,
    `Invalid Sec-WebSocket-Protocol header: ${fault}`,
  );
}
