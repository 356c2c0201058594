import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type ExtensionOffer,
  formatExtensionHeader,
  HandshakeError,
  parseExtensionHeader,
} from '../../src/handshake/index.js';

function parse(value: string | string[] | undefined): ExtensionOffer[] {
  const result = parseExtensionHeader(value);
  if (result instanceof HandshakeError) assert.fail(`${JSON.stringify(value)}: ${result.message}`);
  return result;
}

function assertInvalid(value: string | string[], expected?: RegExp): void {
  const result = parseExtensionHeader(value);
  assert.ok(result instanceof HandshakeError, `${JSON.stringify(value)} should be refused`);
  assert.equal(result.code, 'WS_ERR_INVALID_EXTENSION_HEADER');
  assert.match(result.message, /^Invalid Sec-WebSocket-Extensions header: expected /);
  if (expected) assert.match(result.message, expected);
}

const PMD = 'permessage-deflate';

describe('parseExtensionHeader', () => {
  it('gives [] for a missing or blank header', () => {
    assert.deepEqual(parse(undefined), []);
    assert.deepEqual(parse(''), []);
    assert.deepEqual(parse(' \t '), []);
    assert.deepEqual(parse([]), []);
    assert.deepEqual(parse(['', ' ']), []);
  });

  it('reads an extension without parameters', () => {
    assert.deepEqual(parse(PMD), [{ name: PMD, params: [] }]);
  });

  it('reads parameters with and without values', () => {
    assert.deepEqual(parse(`${PMD}; client_max_window_bits; server_max_window_bits=10`), [
      {
        name: PMD,
        params: [
          ['client_max_window_bits', true],
          ['server_max_window_bits', '10'],
        ],
      },
    ]);
  });

  it('reads several extensions in order', () => {
    assert.deepEqual(parse('foo, bar; baz=2, qux'), [
      { name: 'foo', params: [] },
      { name: 'bar', params: [['baz', '2']] },
      { name: 'qux', params: [] },
    ]);
  });

  it('keeps several offers of the same extension (RFC 7692 §5: fallbacks)', () => {
    assert.deepEqual(parse(`${PMD}; client_max_window_bits=10, ${PMD}`), [
      { name: PMD, params: [['client_max_window_bits', '10']] },
      { name: PMD, params: [] },
    ]);
  });

  it('keeps a repeated parameter, in order, for the negotiator to refuse', () => {
    assert.deepEqual(parse('x; a=1; a=2; a'), [
      {
        name: 'x',
        params: [
          ['a', '1'],
          ['a', '2'],
          ['a', true],
        ],
      },
    ]);
  });

  it('keeps the case of names and values', () => {
    assert.deepEqual(parse('X-Foo; Bar=BaZ'), [{ name: 'X-Foo', params: [['Bar', 'BaZ']] }]);
  });

  it('accepts optional whitespace around every separator', () => {
    const expected = [
      { name: 'a', params: [['b', '1'] as [string, string], ['c', true] as [string, true]] },
      { name: 'd', params: [] },
    ];
    for (const value of [
      'a;b=1;c,d',
      'a; b=1; c, d',
      'a ; b = 1 ; c , d',
      '  a;b=1;c,d  ',
      '\ta\t;\tb\t=\t1\t;\tc\t,\td\t',
      'a; b="1"; c, d',
      'a; b = "1" ;c ,d',
    ]) {
      assert.deepEqual(parse(value), expected, JSON.stringify(value));
    }
  });

  it('joins repeated header lines into one list (RFC 6455 §9.1)', () => {
    assert.deepEqual(parse(['a; x=1', 'b', '']), [
      { name: 'a', params: [['x', '1']] },
      { name: 'b', params: [] },
    ]);
  });

  it('skips empty list elements, leading and trailing commas (RFC 2616 §2.1)', () => {
    const ab = [
      { name: 'a', params: [] },
      { name: 'b', params: [] },
    ];
    assert.deepEqual(parse('a,'), [ab[0]]);
    assert.deepEqual(parse('a, '), [ab[0]]);
    assert.deepEqual(parse(', a'), [ab[0]]);
    assert.deepEqual(parse('a,,b'), ab);
    assert.deepEqual(parse(' , a , , b , '), ab);
    assert.deepEqual(parse('a; x=1,'), [{ name: 'a', params: [['x', '1']] }]);
  });

  it('refuses a value of commas only: 1#extension needs one element', () => {
    assertInvalid(',', /an extension name at index 1, found the end/);
    assertInvalid(' , , ');
    assertInvalid(['', ',']);
  });

  it('unquotes quoted values and their escapes', () => {
    assert.deepEqual(parse('x; a="10"'), [{ name: 'x', params: [['a', '10']] }]);
    assert.deepEqual(parse('x; a="1\\0"'), [{ name: 'x', params: [['a', '10']] }]);
    assert.deepEqual(parse('x; a="\\a\\b"'), [{ name: 'x', params: [['a', 'ab']] }]);
    assert.deepEqual(parse('x; a="~!#"'), [{ name: 'x', params: [['a', '~!#']] }]);
  });

  it('refuses quoted values that are not tokens once unquoted (RFC 6455 §9.1)', () => {
    for (const value of [
      'x; a=""',
      'x; a="a b"',
      'x; a="a,b"',
      'x; a="a;b"',
      'x; a="1\\"2"',
      'x; a="\\\\"',
      'x; a="caf\u00e9"',
      'x; a="\t1"',
    ]) {
      assertInvalid(value, /a token inside the quoted parameter value at index 5/);
    }
  });

  it('refuses an unterminated quoted value', () => {
    assertInvalid('x; a="10', /a closing quote at index 8, found the end/);
    assertInvalid('x; a="10\\', /a closing quote/);
    assertInvalid('x; a="10\\"', /a closing quote/);
    assertInvalid('x; a="10, y', /a closing quote/);
  });

  it('refuses text after a quoted value', () => {
    assertInvalid('x; a="1"0', /";" or "," at index 8, found "0"/);
    assertInvalid('x; a="1""2"');
  });

  it('refuses a missing extension name', () => {
    for (const value of [';', '; a', ';a=1', ', ;', '=1', '"x"', 'a, ;b']) {
      assertInvalid(value, /an extension name/);
    }
  });

  it('refuses a ";" without a parameter name', () => {
    for (const value of ['a;', 'a; ', 'a;;b', 'a; ;b', 'a;=1', 'a;, b', 'a; "b"=1', 'a;\r\n b']) {
      assertInvalid(value, /a parameter name/);
    }
  });

  it('refuses an "=" without a value', () => {
    for (const value of ['a; b=', 'a; b= ', 'a; b=, c', 'a; b=;c', 'a; b==1', 'a; b=@']) {
      assertInvalid(value, /a parameter value/);
    }
  });

  it('refuses characters outside the grammar', () => {
    for (const value of [
      'a b',
      'a@b',
      'a/b',
      'a; b c',
      'a; b=1 2',
      'a; b@=1',
      'a; b=1@',
      'caf\u00e9',
      'a\u0000',
      'a\r\n b',
      'a\u00a0',
      'a; b=1.5=2',
    ]) {
      assertInvalid(value, /";" or ","/);
    }
  });

  it('reports the position and the character found', () => {
    assertInvalid('abc; d=1 {', /at index 9, found "\{"/);
  });

  it('keeps names like __proto__ and constructor as plain data', () => {
    const offers = parse('__proto__; constructor=1; __proto__; toString');
    assert.deepEqual(offers, [
      {
        name: '__proto__',
        params: [
          ['constructor', '1'],
          ['__proto__', true],
          ['toString', true],
        ],
      },
    ]);
    assert.equal(Object.getPrototypeOf(offers[0]), Object.prototype);
    assert.ok(Array.isArray(offers[0]!.params));
  });
});

describe('formatExtensionHeader', () => {
  it('gives "" for no extension', () => {
    assert.equal(formatExtensionHeader([]), '');
  });

  it('writes names, bare parameters and token values', () => {
    assert.equal(
      formatExtensionHeader([
        { name: PMD, params: [['client_max_window_bits', true]] },
        { name: PMD, params: [] },
        {
          name: 'x',
          params: [
            ['a', '1'],
            ['a', '2'],
          ],
        },
      ]),
      `${PMD}; client_max_window_bits, ${PMD}, x; a=1; a=2`,
    );
  });

  it('round-trips through the parser', () => {
    const offers: ExtensionOffer[] = [
      {
        name: PMD,
        params: [
          ['server_no_context_takeover', true],
          ['server_max_window_bits', '9'],
        ],
      },
      { name: 'x-custom', params: [['k', "!#$%&'*+-.^_`|~"]] },
    ];
    assert.deepEqual(parse(formatExtensionHeader(offers)), offers);
  });

  it('throws for names and values that are not tokens (nothing to quote, no injection)', () => {
    const bad: ExtensionOffer[][] = [
      [{ name: '', params: [] }],
      [{ name: 'a b', params: [] }],
      [{ name: 'a', params: [['', true]] }],
      [{ name: 'a', params: [['b;c', true]] }],
      [{ name: 'a', params: [['b', '']] }],
      [{ name: 'a', params: [['b', 'x y']] }],
      [{ name: 'a', params: [['b', '"1"']] }],
      [{ name: 'a', params: [['b', '1\r\nSet-Cookie: x=1']] }],
      [
        { name: 'ok', params: [] },
        { name: 'a\n', params: [] },
      ],
    ];
    for (const offers of bad) {
      assert.throws(
        () => formatExtensionHeader(offers),
        (err: unknown) =>
          err instanceof HandshakeError &&
          err.code === 'WS_ERR_INVALID_EXTENSION_HEADER' &&
          /^Invalid extension (name|parameter name|parameter value): /.test(err.message),
        JSON.stringify(offers),
      );
    }
  });
});
