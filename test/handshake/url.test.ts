import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HandshakeError, parseWebSocketUrl, type WebSocketUrl } from '../../src/handshake/index.js';

function parse(input: string | URL): WebSocketUrl {
  const result = parseWebSocketUrl(input);
  if (result instanceof HandshakeError) assert.fail(`${String(input)}: ${result.message}`);
  return result;
}

function assertInvalid(input: string | URL, message: RegExp): void {
  const result = parseWebSocketUrl(input);
  assert.ok(result instanceof HandshakeError, `${String(input)} should be refused`);
  assert.equal(result.code, 'WS_ERR_INVALID_URL');
  assert.match(result.message, message);
}

describe('parseWebSocketUrl', () => {
  it('reads a ws URL with the default port 80 and path /', () => {
    const { url, ...rest } = parse('ws://example.com');
    assert.equal(url.href, 'ws://example.com/');
    assert.deepEqual(rest, { secure: false, host: 'example.com', port: 80, path: '/' });
  });

  it('reads a wss URL with the default port 443', () => {
    const { url, ...rest } = parse('wss://example.com/chat');
    assert.equal(url.href, 'wss://example.com/chat');
    assert.deepEqual(rest, { secure: true, host: 'example.com', port: 443, path: '/chat' });
  });

  it('maps http to ws and https to wss', () => {
    const ws = parse('http://example.com:8080/a');
    assert.equal(ws.url.href, 'ws://example.com:8080/a');
    assert.equal(ws.secure, false);
    assert.equal(ws.port, 8080);
    const wss = parse('https://example.com/a');
    assert.equal(wss.url.href, 'wss://example.com/a');
    assert.equal(wss.secure, true);
    assert.equal(wss.port, 443);
  });

  it('reads the scheme in any case', () => {
    assert.equal(parse('WSS://Example.COM/').url.href, 'wss://example.com/');
    assert.equal(parse('HTTP://a/').url.protocol, 'ws:');
  });

  it('keeps explicit ports, also the other scheme default', () => {
    assert.equal(parse('ws://a:8080').port, 8080);
    assert.equal(parse('ws://a:443').port, 443);
    assert.equal(parse('wss://a:80').port, 80);
    assert.equal(parse('ws://a:80').port, 80);
    assert.equal(parse('wss://a:443').port, 443);
    assert.equal(parse('https://a:443').url.href, 'wss://a/');
    assert.equal(parse('http://a:443').url.href, 'ws://a:443/');
  });

  it('gives the path with the query as the request target', () => {
    assert.equal(parse('ws://a/chat?room=1&x').path, '/chat?room=1&x');
    assert.equal(parse('ws://a?x=1').path, '/?x=1');
    assert.equal(parse('ws://a/?').path, '/');
    assert.equal(parse('ws://a/a%20b/%23').path, '/a%20b/%23');
    assert.equal(parse('ws://a/a b').path, '/a%20b');
  });

  it('strips the brackets of an IPv6 host for net.connect', () => {
    const result = parse('ws://[::1]:9000/x');
    assert.equal(result.host, '::1');
    assert.equal(result.port, 9000);
    assert.equal(result.url.host, '[::1]:9000');
    assert.equal(parse('wss://[2001:db8::1]').host, '2001:db8::1');
  });

  it('gives IPv4 and international host names in their ASCII form', () => {
    assert.equal(parse('ws://127.0.0.1:1/').host, '127.0.0.1');
    assert.equal(parse('ws://bücher.example/').host, 'xn--bcher-kva.example');
  });

  it('keeps credentials in the URL', () => {
    const { url } = parse('wss://user:pa%20ss@a.example/');
    assert.equal(url.username, 'user');
    assert.equal(url.password, 'pa%20ss');
  });

  it('accepts a URL object without changing it', () => {
    const input = new URL('https://a.example/x');
    const result = parse(input);
    assert.equal(result.url.protocol, 'wss:');
    assert.notEqual(result.url, input);
    assert.equal(input.href, 'https://a.example/x');
  });

  it('refuses a fragment, even an empty one (RFC 6455 §3)', () => {
    for (const input of [
      'ws://a/#x',
      'ws://a/#',
      'ws://a#',
      'wss://a/?q=1#',
      new URL('ws://a/#'),
    ]) {
      assertInvalid(input, /^The URL must not contain a fragment$/);
    }
  });

  it('refuses other schemes', () => {
    for (const input of [
      'ftp://a/',
      'file:///x',
      'javascript:alert(1)',
      'mailto:a@b',
      'ws+unix:/x',
    ]) {
      assertInvalid(input, /protocol must be one of "ws:", "wss:", "http:" or "https:"/);
    }
  });

  it('refuses strings that are not URLs', () => {
    for (const input of [
      '',
      'example.com',
      '/path',
      'ws://',
      'ws://a b/',
      'ws://[::1/',
      'http://:80',
    ]) {
      assertInvalid(input, /^Invalid URL: /);
    }
  });
});
