/** Close status codes. RFC 6455 §7.4.1 and the IANA "WebSocket Close Code Number" registry. */
export const CloseCode = {
  NormalClosure: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  UnsupportedData: 1003,
  /** Reserved: never sent; reported when a close frame carried no code. */
  NoStatusReceived: 1005,
  /** Reserved: never sent; reported when TCP ended without a close frame. */
  AbnormalClosure: 1006,
  InvalidFramePayloadData: 1007,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  MandatoryExtension: 1010,
  InternalError: 1011,
  ServiceRestart: 1012,
  TryAgainLater: 1013,
  BadGateway: 1014,
  /** Reserved: never sent; TLS handshake failure. */
  TlsHandshake: 1015,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/**
 * Whether a close code may appear in a close frame on the wire, either direction.
 * RFC 6455 §7.4.1-§7.4.2: 1004-1006 and 1015 are reserved, 1016-2999 are for future RFCs,
 * 3000-3999 are registered with IANA, 4000-4999 are private.
 */
export function isValidCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999)
  );
}

/** The longest reason that fits a control frame: 125 bytes minus the 2-byte code. RFC 6455 §5.5. */
export const MAX_CLOSE_REASON_BYTES = 123;
