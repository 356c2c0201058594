// The request-target and Host checks of the request-head parser (http-request-parser.ts).

// RFC 9110 §7.2, RFC 3986 §3.2.2: uri-host [ ":" port ]; uri-host an IP-literal or a reg-name
// (an IPv4 address is one); empty when the target has no authority (RFC 9112 §3.2).
export const HOST =
  /^(?:\[[0-9A-Fa-f:.]+\]|\[v[0-9A-Fa-f]+\.[\w.~!$&'()*+,;=:-]+\]|[\w.~!$&'()*+,;=%-]*)(?::\d*)?$/;
// RFC 9112 §3.2.2: absolute-form is an absolute-URI, a scheme (RFC 3986 §3.1) and a colon.
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]/;

/**
 * RFC 9112 §3.2: origin-form (`/path?query`) or absolute-form for any method but CONNECT,
 * authority-form for CONNECT only, asterisk-form for OPTIONS only. Anything else (`@p`, `..`,
 * `evil.example:80` on a GET) is a 400, as llhttp answers.
 */
export function isRequestTarget(method: string, url: string): boolean {
  // RFC 9112 §3.2.3: CONNECT takes the authority-form only.
  if (method === 'CONNECT') return HOST.test(url) && url.includes(':');
  if (url.charCodeAt(0) === 0x2f) return true;
  if (url === '*') return method === 'OPTIONS';
  return ABSOLUTE_FORM.test(url);
}
