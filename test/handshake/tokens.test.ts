import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasToken, isToken, parseTokenList } from '../../src/handshake/index.js';
import { isTokenChar, trimOws } from '../../src/handshake/tokens.js';

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

describe('isToken', () => {
  it('accepts every tchar of RFC 7230 §3.2.6', () => {
    assert.ok(isToken(TCHARS));
    for (const ch of TCHARS) assert.ok(isToken(ch), ch);
  });

  it('refuses the empty string, separators, controls and non-ASCII characters', () => {
    assert.equal(isToken(''), false);
    for (let c = 0; c < 0x100; c++) {
      const ch = String.fromCharCode(c);
      if (!TCHARS.includes(ch)) assert.equal(isToken(`a${ch}b`), false, `U+${c.toString(16)}`);
    }
    assert.equal(isToken('chat\u212A'), false);
  });

  it('agrees with the character test used by the extension parser', () => {
    for (let c = 0; c < 0x200; c++) {
      assert.equal(isTokenChar(c), isToken(String.fromCharCode(c)), `U+${c.toString(16)}`);
    }
    assert.equal(isTokenChar(-1), false);
  });
});

describe('trimOws', () => {
  it('trims only SP and HTAB', () => {
    assert.equal(trimOws(' \t a b \t '), 'a b');
    assert.equal(trimOws('\u00a0a\n'), '\u00a0a\n');
    assert.equal(trimOws('   '), '');
  });
});

describe('parseTokenList', () => {
  it('gives [] for a missing or empty value', () => {
    assert.deepEqual(parseTokenList(undefined), []);
    assert.deepEqual(parseTokenList(''), []);
    assert.deepEqual(parseTokenList(' \t '), []);
    assert.deepEqual(parseTokenList([]), []);
  });

  it('splits at commas and trims optional whitespace', () => {
    assert.deepEqual(parseTokenList('a'), ['a']);
    assert.deepEqual(parseTokenList('a,b'), ['a', 'b']);
    assert.deepEqual(parseTokenList(' a , b\t,\tc '), ['a', 'b', 'c']);
  });

  it('skips empty elements (RFC 7230 §7)', () => {
    assert.deepEqual(parseTokenList(',a,,b,'), ['a', 'b']);
    assert.deepEqual(parseTokenList(' , ,'), []);
  });

  it('joins repeated header lines', () => {
    assert.deepEqual(parseTokenList(['a, b', 'c', '', 'd']), ['a', 'b', 'c', 'd']);
    assert.deepEqual(parseTokenList(['', ' \t']), []);
  });

  it('keeps case and non-token elements such as protocol/version', () => {
    assert.deepEqual(parseTokenList('HTTP/2.0, WebSocket'), ['HTTP/2.0', 'WebSocket']);
  });
});

describe('hasToken', () => {
  it('finds a token in a list, ASCII case-insensitively', () => {
    assert.ok(hasToken('Upgrade', 'upgrade'));
    assert.ok(hasToken('UPGRADE', 'upgrade'));
    assert.ok(hasToken('keep-alive, Upgrade', 'upgrade'));
    assert.ok(hasToken('foo, WebSocket', 'websocket'));
    assert.ok(hasToken('websocket', 'WebSocket'));
    assert.ok(hasToken(' \twebsocket\t ', 'websocket'));
    assert.ok(hasToken(['keep-alive', 'upgrade'], 'upgrade'));
  });

  it('matches whole elements, not substrings', () => {
    assert.equal(hasToken('upgrades', 'upgrade'), false);
    assert.equal(hasToken('not-upgrade', 'upgrade'), false);
    assert.equal(hasToken('websocket/13', 'websocket'), false);
    assert.equal(hasToken('web socket', 'websocket'), false);
    assert.equal(hasToken('"websocket"', 'websocket'), false);
  });

  it('folds ASCII letters only (no Unicode case mapping)', () => {
    // U+212A KELVIN SIGN lower-cases to "k" with toLowerCase.
    assert.equal(hasToken('websoc\u212Aet', 'websocket'), false);
    assert.equal(hasToken('websocket', 'websoc\u212Aet'), false);
    // U+0130 lower-cases to "i̇".
    assert.equal(hasToken('\u0130', 'i\u0307'), false);
  });

  it('is false for a missing or empty value', () => {
    assert.equal(hasToken(undefined, 'upgrade'), false);
    assert.equal(hasToken('', 'upgrade'), false);
    assert.equal(hasToken([], 'upgrade'), false);
  });
});
