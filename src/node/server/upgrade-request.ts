import { IncomingMessage } from 'node:http';
import {
  headerList,
  type ParsedRequestHead,
  rawHeaderList,
  type UpgradeRequestHead,
} from '../../handshake/index.js';

/** The upgrade step's view of a request `http.Server` parsed (the http path, `handleUpgrade`). */
export function requestHead(req: IncomingMessage): UpgradeRequestHead {
  return {
    method: req.method ?? '',
    target: req.url ?? '/',
    httpVersion: req.httpVersion,
    headers: headerList(req),
  };
}

/** The upgrade step's view of a request head the fast path parsed itself. */
export function parsedHead(head: ParsedRequestHead): UpgradeRequestHead {
  return {
    method: head.method,
    target: head.url,
    httpVersion: head.httpVersion,
    headers: rawHeaderList(head.rawHeaders),
  };
}

/**
 * The request as `http.Server` would have given it, for the application's hooks and the
 * `connection` event only (ws's shape: method, url, headers, rawHeaders, socket...); the
 * upgrade itself reads the parsed head. Not kept by the connection.
 */
export function incomingMessage(socket: unknown, head: ParsedRequestHead): IncomingMessage {
  const req = new IncomingMessage(socket as never);
  req.method = head.method;
  req.url = head.url;
  req.httpVersion = head.httpVersion;
  req.httpVersionMajor = head.httpVersionMajor;
  req.httpVersionMinor = head.httpVersionMinor;
  req.headers = head.headers as IncomingMessage['headers'];
  req.rawHeaders = head.rawHeaders;
  req.complete = true;
  return req;
}
