import { asciiLowerCase } from './tokens.js';

/** An allowed origin: exact (ASCII case-insensitive) or a pattern tested on the value as sent. */
export type OriginPattern = string | RegExp;

/**
 * The server's origin check (the `origins` and `allowMissingOrigin` options), or undefined
 * when neither is set. Browsers send `Origin` with every WebSocket handshake (RFC 6455 §4.1
 * item 8, §10.2), and cookies with it whatever the page: without this check any site a user
 * visits can open a connection with the user's credentials (cross-site WebSocket hijacking).
 * Non-browser clients usually send no Origin, hence `allowMissingOrigin` (default true).
 */
export function originCheck(
  origins: readonly OriginPattern[] | undefined,
  allowMissingOrigin: boolean | undefined,
): ((origin: string | undefined) => boolean) | undefined {
  if (origins === undefined && allowMissingOrigin === undefined) return undefined;
  if (origins !== undefined && !Array.isArray(origins)) {
    throw new TypeError('origins must be an array of strings or regular expressions');
  }
  const exact = new Set<string>();
  const patterns: RegExp[] = [];
  for (const origin of origins ?? []) {
    if (typeof origin === 'string') exact.add(asciiLowerCase(origin));
    // Without the g and y flags, test() keeps no state between calls.
    else if (origin instanceof RegExp) {
      patterns.push(new RegExp(origin.source, origin.flags.replace(/[gy]/g, '')));
    } else throw new TypeError('origins must be an array of strings or regular expressions');
  }
  const allowMissing = allowMissingOrigin ?? true;
  const any = origins === undefined;
  return (origin) => {
    if (origin === undefined) return allowMissing;
    if (any || exact.has(asciiLowerCase(origin))) return true;
    return patterns.some((pattern) => pattern.test(origin));
  };
}
