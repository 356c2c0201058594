import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  acceptServerResponse,
  clientOffer,
  type DeflateParams,
  negotiateServer,
  type PerMessageDeflateOptions,
  type ResolvedDeflateOptions,
  resolveDeflateOptions,
} from '../../src/extensions/index.js';
import {
  type ExtensionOffer,
  formatExtensionHeader,
  HandshakeError,
  parseExtensionHeader,
} from '../../src/handshake/index.js';
import { runs } from '../helpers/fuzz.js';

const PMD = 'permessage-deflate';
const DEFAULT_PARAMS: DeflateParams = {
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
};
const VALID_BITS = ['8', '9', '10', '11', '12', '13', '14', '15'];
const INVALID_BITS = [
  '0',
  '1',
  '7',
  '16',
  '99',
  '08',
  '010',
  '015',
  '+9',
  '-9',
  '9.0',
  '1e1',
  '0x9',
  'abc',
  'fifteen',
  '٩', // An Arabic-Indic digit: not a DIGIT of RFC 5234.
  '',
  ' 10',
  '10 ',
  '1\n0',
];
const FLAGS = ['server_no_context_takeover', 'client_no_context_takeover'] as const;
const BITS = ['server_max_window_bits', 'client_max_window_bits'] as const;

function parse(value: string): ExtensionOffer[] {
  const result = parseExtensionHeader(value);
  if (result instanceof HandshakeError) assert.fail(`${JSON.stringify(value)}: ${result.message}`);
  return result;
}

function opts(options: PerMessageDeflateOptions | true = true): ResolvedDeflateOptions {
  return resolveDeflateOptions(options);
}

function server(header: string, options?: PerMessageDeflateOptions) {
  return negotiateServer(parse(header), opts(options));
}

/** The server's response to `header`, or `undefined` when it declined. */
function response(header: string, options?: PerMessageDeflateOptions): string | undefined {
  return server(header, options)?.response;
}

function client(header: string, options?: PerMessageDeflateOptions) {
  return acceptServerResponse(header === '' ? [] : parse(header), opts(options));
}

function clientOk(header: string, options?: PerMessageDeflateOptions): DeflateParams {
  const result = client(header, options);
  if (result instanceof HandshakeError) assert.fail(`${header}: ${result.message}`);
  assert.ok(result !== undefined, `${header}: declined`);
  return result;
}

function clientFails(header: string, options?: PerMessageDeflateOptions, expected?: RegExp): void {
  const result = client(header, options);
  assert.ok(result instanceof HandshakeError, `${JSON.stringify(header)} should fail`);
  assert.equal(result.code, 'WS_ERR_INVALID_EXTENSION_HEADER');
  assert.match(result.message, /^Invalid permessage-deflate response: /);
  if (expected) assert.match(result.message, expected);
}

describe('resolveDeflateOptions', () => {
  it('fills the defaults for true and for {}', () => {
    const expected = {
      serverNoContextTakeover: false,
      clientNoContextTakeover: false,
      serverMaxWindowBits: 15,
      clientMaxWindowBits: true,
      threshold: 1024,
      level: 6,
      memLevel: 8,
      // Not given: the process-wide default applies (limiter.ts).
      concurrencyLimit: undefined,
    };
    assert.deepEqual({ ...resolveDeflateOptions(true) }, expected);
    assert.deepEqual({ ...resolveDeflateOptions({}) }, expected);
    assert.ok(Object.isFrozen(resolveDeflateOptions(true)));
  });

  it('keeps every valid value given', () => {
    const given = {
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
      serverMaxWindowBits: 8,
      clientMaxWindowBits: 12,
      threshold: 0,
      level: 9,
      memLevel: 1,
      concurrencyLimit: 1,
    };
    assert.deepEqual({ ...resolveDeflateOptions(given) }, given);
    assert.equal(resolveDeflateOptions({ clientMaxWindowBits: true }).clientMaxWindowBits, true);
    assert.equal(resolveDeflateOptions({ level: 0 }).level, 0);
    assert.equal(
      resolveDeflateOptions({ concurrencyLimit: Number.POSITIVE_INFINITY }).concurrencyLimit,
      Number.POSITIVE_INFINITY,
    );
    // An explicit undefined is an option not given.
    assert.equal(resolveDeflateOptions({ threshold: undefined }).threshold, 1024);
  });

  it('accepts every window size from 8 to 15', () => {
    for (let bits = 8; bits <= 15; bits++) {
      assert.equal(resolveDeflateOptions({ serverMaxWindowBits: bits }).serverMaxWindowBits, bits);
      assert.equal(resolveDeflateOptions({ clientMaxWindowBits: bits }).clientMaxWindowBits, bits);
    }
  });

  const rangeErrors: Array<[keyof PerMessageDeflateOptions, unknown]> = [
    ['serverMaxWindowBits', 7],
    ['serverMaxWindowBits', 16],
    ['serverMaxWindowBits', 9.5],
    ['serverMaxWindowBits', Number.POSITIVE_INFINITY],
    ['clientMaxWindowBits', 7],
    ['clientMaxWindowBits', 16],
    ['clientMaxWindowBits', 10.5],
    ['threshold', -1],
    ['threshold', 1.5],
    ['threshold', Number.POSITIVE_INFINITY],
    ['level', -1],
    ['level', 10],
    ['level', 2.5],
    ['memLevel', 0],
    ['memLevel', 10],
    ['concurrencyLimit', 0],
    ['concurrencyLimit', -3],
    ['concurrencyLimit', 1.5],
  ];
  for (const [key, value] of rangeErrors) {
    it(`refuses ${key}: ${value} with a RangeError`, () => {
      assert.throws(() => resolveDeflateOptions({ [key]: value }), RangeError);
    });
  }

  const typeErrors: Array<[keyof PerMessageDeflateOptions, unknown]> = [
    ['serverNoContextTakeover', 1],
    ['serverNoContextTakeover', 'true'],
    ['clientNoContextTakeover', null],
    ['serverMaxWindowBits', '10'],
    ['serverMaxWindowBits', true],
    ['serverMaxWindowBits', Number.NaN],
    ['clientMaxWindowBits', false],
    ['clientMaxWindowBits', '10'],
    ['threshold', '1024'],
    ['level', null],
    ['memLevel', {}],
    ['concurrencyLimit', Number.NaN],
  ];
  for (const [key, value] of typeErrors) {
    it(`refuses ${key}: ${String(value)} with a TypeError`, () => {
      assert.throws(() => resolveDeflateOptions({ [key]: value } as never), TypeError);
    });
  }

  it('refuses an unknown option (such as ws’s zlibDeflateOptions)', () => {
    assert.throws(
      () => resolveDeflateOptions({ zlibDeflateOptions: { level: 1 } } as never),
      /Unknown perMessageDeflate option: "zlibDeflateOptions"/,
    );
    assert.throws(() => resolveDeflateOptions({ serverMaxWindowbits: 10 } as never), TypeError);
  });

  it('refuses what is neither true nor an object', () => {
    for (const value of [false, null, undefined, 1, 'yes', []]) {
      assert.throws(() => resolveDeflateOptions(value as never), TypeError);
    }
  });
});

describe('clientOffer', () => {
  it('offers client_max_window_bits without a value by default, as browsers do', () => {
    assert.equal(clientOffer(opts()), 'permessage-deflate; client_max_window_bits');
  });

  it('offers each option', () => {
    assert.equal(
      clientOffer(opts({ serverNoContextTakeover: true })),
      'permessage-deflate; server_no_context_takeover; client_max_window_bits',
    );
    assert.equal(
      clientOffer(opts({ clientNoContextTakeover: true })),
      'permessage-deflate; client_no_context_takeover; client_max_window_bits',
    );
    assert.equal(
      clientOffer(opts({ serverMaxWindowBits: 10 })),
      'permessage-deflate; server_max_window_bits=10; client_max_window_bits',
    );
    assert.equal(
      clientOffer(opts({ clientMaxWindowBits: 9 })),
      'permessage-deflate; client_max_window_bits=9',
    );
  });

  it('does not ask for server_max_window_bits=15 (no limit)', () => {
    assert.equal(
      clientOffer(opts({ serverMaxWindowBits: 15 })),
      'permessage-deflate; client_max_window_bits',
    );
  });

  it('offers every option together, in ws’s order', () => {
    assert.equal(
      clientOffer(
        opts({
          serverNoContextTakeover: true,
          clientNoContextTakeover: true,
          serverMaxWindowBits: 8,
          clientMaxWindowBits: 15,
          level: 1,
          threshold: 0,
        }),
      ),
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; ' +
        'server_max_window_bits=8; client_max_window_bits=15',
    );
  });
});

describe('negotiateServer: offers of real clients', () => {
  const browsers: Array<[string, string]> = [
    ['Chromium', 'permessage-deflate; client_max_window_bits'],
    ['Firefox', 'permessage-deflate; client_max_window_bits'],
    ['python-websockets (default)', 'permessage-deflate; client_max_window_bits'],
    ['ws (default)', 'permessage-deflate; client_max_window_bits'],
    ['Safari (no parameter)', 'permessage-deflate'],
  ];
  for (const [who, header] of browsers) {
    it(`accepts ${who}: ${header}`, () => {
      assert.deepEqual(server(header), { response: PMD, params: DEFAULT_PARAMS });
      // A server with every limit answers with all of them.
      const limited = server(header, {
        serverNoContextTakeover: true,
        clientNoContextTakeover: true,
        serverMaxWindowBits: 10,
      });
      assert.deepEqual(limited, {
        response:
          'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10',
        params: {
          serverNoContextTakeover: true,
          clientNoContextTakeover: true,
          serverMaxWindowBits: 10,
          clientMaxWindowBits: 15,
        },
      });
    });
  }

  it('limits the window of browsers that offer client_max_window_bits', () => {
    assert.deepEqual(
      server('permessage-deflate; client_max_window_bits', { clientMaxWindowBits: 10 }),
      {
        response: 'permessage-deflate; client_max_window_bits=10',
        params: { ...DEFAULT_PARAMS, clientMaxWindowBits: 10 },
      },
    );
  });

  it('accepts ws with every option (and a preferred offer before a fallback)', () => {
    const header =
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; ' +
      'server_max_window_bits=10; client_max_window_bits=10, permessage-deflate';
    assert.deepEqual(server(header), {
      response:
        'permessage-deflate; server_no_context_takeover; client_no_context_takeover; ' +
        'server_max_window_bits=10; client_max_window_bits=10',
      params: {
        serverNoContextTakeover: true,
        clientNoContextTakeover: true,
        serverMaxWindowBits: 10,
        clientMaxWindowBits: 10,
      },
    });
  });

  it('accepts the offer of an old Chromium (x-webkit-deflate-frame first)', () => {
    assert.equal(
      response('x-webkit-deflate-frame, permessage-deflate; client_max_window_bits'),
      PMD,
    );
  });
});

describe('negotiateServer: each parameter of an offer', () => {
  for (const flag of FLAGS) {
    it(`accepts ${flag} without a value and echoes it`, () => {
      assert.equal(response(`${PMD}; ${flag}`), `${PMD}; ${flag}`);
      const params = server(`${PMD}; ${flag}`)!.params;
      assert.equal(
        params[flag === FLAGS[0] ? 'serverNoContextTakeover' : 'clientNoContextTakeover'],
        true,
      );
    });

    for (const value of ['1', 'true', '"x"', '15']) {
      it(`declines ${flag}=${value} (no value allowed, RFC 7692 §7.1.1)`, () => {
        assert.equal(response(`${PMD}; ${flag}=${value}`), undefined);
      });
    }
  }

  for (const bits of VALID_BITS) {
    it(`accepts server_max_window_bits=${bits} and answers the same value`, () => {
      assert.deepEqual(server(`${PMD}; server_max_window_bits=${bits}`), {
        response: `${PMD}; server_max_window_bits=${bits}`,
        params: { ...DEFAULT_PARAMS, serverMaxWindowBits: Number(bits) },
      });
    });
    it(`accepts client_max_window_bits=${bits} and echoes it`, () => {
      assert.deepEqual(server(`${PMD}; client_max_window_bits=${bits}`), {
        response: `${PMD}; client_max_window_bits=${bits}`,
        params: { ...DEFAULT_PARAMS, clientMaxWindowBits: Number(bits) },
      });
    });
  }

  for (const name of BITS) {
    for (const bad of INVALID_BITS) {
      it(`declines ${name}=${JSON.stringify(bad)}`, () => {
        // Given directly: some of these values never come out of the header parser.
        assert.equal(negotiateServer([{ name: PMD, params: [[name, bad]] }], opts()), undefined);
        if (/^[!-~]+$/.test(bad)) assert.equal(response(`${PMD}; ${name}="${bad}"`), undefined);
      });
    }
    it(`accepts a quoted value of ${name} ("10" is 10 once unquoted)`, () => {
      assert.ok(response(`${PMD}; ${name}="10"`)?.endsWith(`${name}=10`));
    });
  }

  it('declines server_max_window_bits without a value (RFC 7692 §7.1.2.1 requires one)', () => {
    assert.equal(response(`${PMD}; server_max_window_bits`), undefined);
  });

  it('declines an unknown parameter', () => {
    assert.equal(response(`${PMD}; foo`), undefined);
    assert.equal(response(`${PMD}; client_max_window_bits; foo=1`), undefined);
    assert.equal(response(`${PMD}; __proto__`), undefined);
    assert.equal(response(`${PMD}; max_window_bits=10`), undefined);
  });

  it('compares parameter and extension names exactly', () => {
    assert.equal(response(`${PMD}; Server_No_Context_Takeover`), undefined);
    assert.equal(response('Permessage-Deflate'), undefined);
  });

  for (const [name, value] of [
    ['server_no_context_takeover', ''],
    ['client_no_context_takeover', ''],
    ['server_max_window_bits', '=10'],
    ['client_max_window_bits', ''],
    ['client_max_window_bits', '=10'],
  ] as const) {
    it(`declines ${name}${value} given twice`, () => {
      assert.equal(response(`${PMD}; ${name}${value}; ${name}${value}`), undefined);
    });
  }

  it('declines client_max_window_bits given with and without a value', () => {
    assert.equal(response(`${PMD}; client_max_window_bits; client_max_window_bits=10`), undefined);
  });
});

describe('negotiateServer: several offers', () => {
  it('takes the first acceptable offer', () => {
    assert.equal(
      response(`${PMD}; client_max_window_bits=10, ${PMD}; server_no_context_takeover`),
      `${PMD}; client_max_window_bits=10`,
    );
  });

  it('skips invalid offers and takes the next valid one', () => {
    const header = [
      `${PMD}; server_max_window_bits=7`,
      `${PMD}; foo`,
      `${PMD}; server_no_context_takeover; server_no_context_takeover`,
      `${PMD}; client_max_window_bits=09`,
      `${PMD}; server_max_window_bits=12`,
      PMD,
    ].join(', ');
    assert.equal(response(header), `${PMD}; server_max_window_bits=12`);
  });

  it('skips other extensions', () => {
    assert.equal(
      response(`foo; bar=1, ${PMD}; server_no_context_takeover, baz`),
      `${PMD}; server_no_context_takeover`,
    );
  });

  it('declines when no offer is acceptable, or nothing is offered', () => {
    assert.equal(response(`${PMD}; a, ${PMD}; server_max_window_bits=16`), undefined);
    assert.equal(response('foo, bar'), undefined);
    assert.equal(negotiateServer([], opts()), undefined);
  });

  it('skips an offer without client_max_window_bits when our limit cannot be announced', () => {
    // RFC 7692 §7.1.2.2: the response must not limit a client that did not offer the parameter.
    assert.equal(response(PMD, { clientMaxWindowBits: 10 }), undefined);
    assert.equal(
      response(`${PMD}, ${PMD}; client_max_window_bits`, { clientMaxWindowBits: 10 }),
      `${PMD}; client_max_window_bits=10`,
    );
    // With no limit of ours, the offer is fine.
    assert.equal(response(PMD, { clientMaxWindowBits: 15 }), PMD);
    assert.equal(response(PMD, { clientMaxWindowBits: true }), PMD);
  });

  it('never throws on odd offers given directly (not from the parser)', () => {
    const odd: ExtensionOffer[] = [
      { name: PMD, params: [['server_max_window_bits', '10\r\nX-Injected: 1']] },
      { name: PMD, params: [['client_max_window_bits', ' 10']] },
      { name: 'bad name', params: [] },
      { name: PMD, params: [['constructor', true]] },
    ];
    assert.equal(negotiateServer(odd, opts()), undefined);
  });
});

describe('negotiateServer: our options against the offer', () => {
  const cases: Array<{
    offer: string;
    options: PerMessageDeflateOptions;
    response: string;
    params: Partial<DeflateParams>;
  }> = [
    {
      offer: `${PMD}; client_max_window_bits`,
      options: { serverNoContextTakeover: true, clientMaxWindowBits: 10 },
      response: `${PMD}; server_no_context_takeover; client_max_window_bits=10`,
      params: { serverNoContextTakeover: true, clientMaxWindowBits: 10 },
    },
    {
      // RFC 7692 §7.1.2.1: the smaller of the two limits.
      offer: `${PMD}; server_max_window_bits=12`,
      options: { serverMaxWindowBits: 10 },
      response: `${PMD}; server_max_window_bits=10`,
      params: { serverMaxWindowBits: 10 },
    },
    {
      offer: `${PMD}; server_max_window_bits=9`,
      options: { serverMaxWindowBits: 12 },
      response: `${PMD}; server_max_window_bits=9`,
      params: { serverMaxWindowBits: 9 },
    },
    {
      // The server may announce its own limit unasked.
      offer: PMD,
      options: { serverMaxWindowBits: 11 },
      response: `${PMD}; server_max_window_bits=11`,
      params: { serverMaxWindowBits: 11 },
    },
    {
      // An 8-bit server window is agreed faithfully (the codec keeps within it: codec.test.ts).
      offer: `${PMD}; server_max_window_bits=8; client_max_window_bits`,
      options: {},
      response: `${PMD}; server_max_window_bits=8`,
      params: { serverMaxWindowBits: 8 },
    },
    {
      offer: `${PMD}; client_max_window_bits=12`,
      options: { clientMaxWindowBits: 10 },
      response: `${PMD}; client_max_window_bits=10`,
      params: { clientMaxWindowBits: 10 },
    },
    {
      offer: `${PMD}; client_max_window_bits=9`,
      options: { clientMaxWindowBits: 10 },
      response: `${PMD}; client_max_window_bits=9`,
      params: { clientMaxWindowBits: 9 },
    },
    {
      // RFC 7692 §7.1.1.2: client_no_context_takeover may be required unasked.
      offer: `${PMD}; client_max_window_bits`,
      options: { clientNoContextTakeover: true },
      response: `${PMD}; client_no_context_takeover`,
      params: { clientNoContextTakeover: true },
    },
    {
      offer: `${PMD}; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15; client_max_window_bits=15`,
      options: {},
      response: `${PMD}; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15; client_max_window_bits=15`,
      params: { serverNoContextTakeover: true, clientNoContextTakeover: true },
    },
    {
      // Parameter order in the offer does not matter.
      offer: `${PMD}; client_max_window_bits=11; server_max_window_bits=9; server_no_context_takeover`,
      options: { clientNoContextTakeover: true, serverMaxWindowBits: 14, clientMaxWindowBits: 13 },
      response: `${PMD}; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=11`,
      params: {
        serverNoContextTakeover: true,
        clientNoContextTakeover: true,
        serverMaxWindowBits: 9,
        clientMaxWindowBits: 11,
      },
    },
  ];
  for (const c of cases) {
    it(`${c.offer} with ${JSON.stringify(c.options)}`, () => {
      assert.deepEqual(server(c.offer, c.options), {
        response: c.response,
        params: { ...DEFAULT_PARAMS, ...c.params },
      });
    });
  }
});

describe('acceptServerResponse', () => {
  it('gives undefined when the server declined (no header)', () => {
    assert.equal(client(''), undefined);
  });

  it('accepts a bare permessage-deflate', () => {
    assert.deepEqual(clientOk(PMD), DEFAULT_PARAMS);
  });

  it('fails on an extension that was not offered', () => {
    clientFails('foo', undefined, /"foo", which was not offered/);
    clientFails(`${PMD}, foo`, undefined, /"foo"/);
    clientFails(`foo, ${PMD}`);
    clientFails('Permessage-Deflate');
  });

  it('fails on permessage-deflate accepted twice', () => {
    clientFails(`${PMD}, ${PMD}`, undefined, /more than once/);
  });

  it('fails on an unknown parameter', () => {
    clientFails(`${PMD}; foo`, undefined, /"foo" is unknown/);
    clientFails(`${PMD}; __proto__=1`);
  });

  for (const [name, value] of [
    ['server_no_context_takeover', ''],
    ['client_no_context_takeover', ''],
    ['server_max_window_bits', '=10'],
    ['client_max_window_bits', '=10'],
  ] as const) {
    it(`fails on ${name} given twice`, () => {
      clientFails(`${PMD}; ${name}${value}; ${name}${value}`, undefined, /given twice/);
    });
  }

  for (const flag of FLAGS) {
    it(`accepts ${flag} without a value, even unasked (RFC 7692 §7.1.1)`, () => {
      const params = clientOk(`${PMD}; ${flag}`);
      assert.equal(
        params[flag === FLAGS[0] ? 'serverNoContextTakeover' : 'clientNoContextTakeover'],
        true,
      );
    });
    it(`fails on ${flag} with a value`, () => {
      clientFails(`${PMD}; ${flag}=1`, undefined, /must have no value/);
    });
  }

  for (const name of BITS) {
    for (const bits of VALID_BITS) {
      it(`accepts ${name}=${bits} (no limit offered)`, () => {
        const params = clientOk(`${PMD}; ${name}=${bits}`);
        assert.equal(
          params[name === BITS[0] ? 'serverMaxWindowBits' : 'clientMaxWindowBits'],
          Number(bits),
        );
      });
    }
    for (const bad of INVALID_BITS) {
      it(`fails on ${name}=${JSON.stringify(bad)}`, () => {
        const result = acceptServerResponse([{ name: PMD, params: [[name, bad]] }], opts());
        assert.ok(result instanceof HandshakeError);
        assert.match(result.message, /must be an integer from 8 to 15/);
        if (/^[!-~]+$/.test(bad)) clientFails(`${PMD}; ${name}=${bad}`, undefined, /from 8 to 15/);
      });
    }
    it(`fails on ${name} without a value (a response must give one)`, () => {
      clientFails(`${PMD}; ${name}`, undefined, /found no value/);
    });
  }

  it('fails when server_no_context_takeover was requested but is missing (RFC 7692 §7.1.1.1)', () => {
    const asked = { serverNoContextTakeover: true };
    clientFails(PMD, asked, /"server_no_context_takeover" was requested/);
    assert.equal(
      clientOk(`${PMD}; server_no_context_takeover`, asked).serverNoContextTakeover,
      true,
    );
  });

  it('checks server_max_window_bits against the limit requested (RFC 7692 §7.1.2.1)', () => {
    const asked = { serverMaxWindowBits: 10 };
    clientFails(PMD, asked, /"server_max_window_bits" was requested but is missing/);
    clientFails(`${PMD}; server_max_window_bits=11`, asked, /more than the 10 requested/);
    assert.equal(clientOk(`${PMD}; server_max_window_bits=10`, asked).serverMaxWindowBits, 10);
    assert.equal(clientOk(`${PMD}; server_max_window_bits=8`, asked).serverMaxWindowBits, 8);
  });

  it('checks client_max_window_bits against the value offered (RFC 7692 §7.1.2.2)', () => {
    const offered = { clientMaxWindowBits: 10 };
    clientFails(`${PMD}; client_max_window_bits=11`, offered, /more than the 10 offered/);
    assert.equal(clientOk(`${PMD}; client_max_window_bits=10`, offered).clientMaxWindowBits, 10);
    assert.equal(clientOk(`${PMD}; client_max_window_bits=9`, offered).clientMaxWindowBits, 9);
    // The value offered is a limit the client keeps when the server says nothing.
    assert.equal(clientOk(PMD, offered).clientMaxWindowBits, 10);
    // Offered without a value: any window the server picks.
    assert.equal(clientOk(`${PMD}; client_max_window_bits=15`).clientMaxWindowBits, 15);
  });

  it('keeps client_no_context_takeover when offered, echoed or not (RFC 7692 §7.1.1.2)', () => {
    assert.equal(clientOk(PMD, { clientNoContextTakeover: true }).clientNoContextTakeover, true);
  });

  it('accepts the answers of real servers to the default offer', () => {
    // ws's default server: a bare echo.
    assert.deepEqual(clientOk('permessage-deflate'), DEFAULT_PARAMS);
    // A server that turns context takeover off both ways.
    assert.deepEqual(
      clientOk('permessage-deflate; server_no_context_takeover; client_no_context_takeover'),
      {
        ...DEFAULT_PARAMS,
        serverNoContextTakeover: true,
        clientNoContextTakeover: true,
      },
    );
    // python-websockets' server default: client_max_window_bits=12.
    assert.deepEqual(
      clientOk('permessage-deflate; server_max_window_bits=12; client_max_window_bits=12'),
      {
        ...DEFAULT_PARAMS,
        serverMaxWindowBits: 12,
        clientMaxWindowBits: 12,
      },
    );
  });

  it('returns errors, never throws, on odd responses given directly', () => {
    const odd: ExtensionOffer[][] = [
      [{ name: PMD, params: [['server_max_window_bits', '10\r\n']] }],
      [{ name: PMD, params: [['constructor', true]] }],
      [{ name: '', params: [] }],
    ];
    for (const accepted of odd) {
      assert.ok(acceptServerResponse(accepted, opts()) instanceof HandshakeError);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

const bitsArb = fc.integer({ min: 8, max: 15 });
const optionsArb: fc.Arbitrary<PerMessageDeflateOptions> = fc.record(
  {
    serverNoContextTakeover: fc.boolean(),
    clientNoContextTakeover: fc.boolean(),
    serverMaxWindowBits: bitsArb,
    clientMaxWindowBits: fc.oneof(fc.constant(true as const), bitsArb),
  },
  { requiredKeys: [] },
);

function limitOf(bits: number | true): number {
  return bits === true ? 15 : bits;
}

/**
 * What a client may accept, whatever the server said: every promise kept (RFC 7692 §7.1),
 * and the parameters are those that `accepted` (one permessage-deflate element) states.
 */
function assertConsistent(
  params: DeflateParams,
  accepted: ExtensionOffer[],
  c: ResolvedDeflateOptions,
): void {
  assert.equal(accepted.length, 1);
  assert.equal(accepted[0]!.name, PMD);
  const given = new Map(accepted[0]!.params);
  assert.equal(given.size, accepted[0]!.params.length, 'no parameter twice');
  for (const name of given.keys()) {
    assert.ok([...FLAGS, ...BITS].includes(name as never), `known parameter ${name}`);
  }
  for (const [, value] of accepted[0]!.params) {
    assert.ok(value === true || VALID_BITS.includes(value), `valid value ${String(value)}`);
  }
  if (c.serverNoContextTakeover) assert.equal(params.serverNoContextTakeover, true);
  assert.ok(params.serverMaxWindowBits <= c.serverMaxWindowBits);
  assert.ok(params.clientMaxWindowBits <= limitOf(c.clientMaxWindowBits));
  if (c.clientNoContextTakeover) assert.equal(params.clientNoContextTakeover, true);
  assert.equal(params.serverNoContextTakeover, given.has('server_no_context_takeover'));
  assert.equal(
    params.clientNoContextTakeover,
    given.has('client_no_context_takeover') || c.clientNoContextTakeover,
  );
  const smwb = given.get('server_max_window_bits');
  assert.equal(params.serverMaxWindowBits, smwb === undefined ? 15 : Number(smwb));
  const cmwb = given.get('client_max_window_bits');
  assert.equal(
    params.clientMaxWindowBits,
    cmwb === undefined ? limitOf(c.clientMaxWindowBits) : Number(cmwb),
  );
}

/** Negotiates `c` against `s`: both ends must agree. Returns the response's elements. */
function negotiate(c: ResolvedDeflateOptions, s: ResolvedDeflateOptions) {
  const result = negotiateServer(parse(clientOffer(c)), s);
  assert.ok(result !== undefined, 'our own offer is always acceptable');
  const accepted = parse(result.response);
  const params = acceptServerResponse(accepted, c);
  if (params instanceof HandshakeError) assert.fail(`${result.response}: ${params.message}`);
  assert.deepEqual(params, result.params);
  return { accepted, params, response: result.response };
}

const paramArb: fc.Arbitrary<[string, string | true]> = fc.tuple(
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...FLAGS, ...BITS) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('foo', 'x', 'SERVER_NO_CONTEXT_TAKEOVER', 'client_max_window'),
    },
  ),
  fc.oneof(
    { weight: 3, arbitrary: fc.constant(true as const) },
    { weight: 4, arbitrary: fc.constantFrom(...VALID_BITS) },
    { weight: 2, arbitrary: fc.constantFrom(...INVALID_BITS.filter((v) => /^[!-~]+$/.test(v))) },
  ),
);

type Mutation =
  | { kind: 'add'; at: number; param: [string, string | true] }
  | { kind: 'remove'; at: number }
  | { kind: 'duplicate'; at: number }
  | { kind: 'value'; at: number; value: string | true }
  | { kind: 'rename'; name: string }
  | { kind: 'extra'; offer: ExtensionOffer; first: boolean };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), at: fc.nat(), param: paramArb }),
  fc.record({ kind: fc.constant('remove' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('value' as const),
    at: fc.nat(),
    value: paramArb.map(([, v]) => v),
  }),
  fc.record({
    kind: fc.constant('rename' as const),
    name: fc.constantFrom('foo', 'permessage-deflat', 'PERMESSAGE-DEFLATE'),
  }),
  fc.record({
    kind: fc.constant('extra' as const),
    offer: fc.record({
      name: fc.constantFrom(PMD, 'foo'),
      params: fc.array(paramArb, { maxLength: 3 }),
    }),
    first: fc.boolean(),
  }),
);

function mutate(accepted: ExtensionOffer[], m: Mutation): ExtensionOffer[] {
  const [{ name, params: original }] = accepted as [ExtensionOffer];
  const params = [...original];
  const at = (n: number, len: number) => (len === 0 ? 0 : n % len);
  switch (m.kind) {
    case 'add':
      params.splice(at(m.at, params.length + 1), 0, m.param);
      break;
    case 'remove':
      if (params.length > 0) params.splice(at(m.at, params.length), 1);
      break;
    case 'duplicate':
      if (params.length > 0) params.push(params[at(m.at, params.length)]!);
      break;
    case 'value':
      if (params.length > 0) {
        const i = at(m.at, params.length);
        params[i] = [params[i]![0], m.value];
      }
      break;
    case 'rename':
      return [{ name: m.name, params }];
    case 'extra':
      return m.first ? [m.offer, { name, params }] : [{ name, params }, m.offer];
  }
  return [{ name, params }];
}

describe('negotiation properties', () => {
  it('a client and a server with any options agree on the same parameters', () => {
    fc.assert(
      fc.property(optionsArb, optionsArb, (co, so) => {
        const c = opts(co);
        const s = opts(so);
        const { accepted, params } = negotiate(c, s);
        assertConsistent(params, accepted, c);
        // The server's own wishes are in force too.
        if (s.serverNoContextTakeover) assert.equal(params.serverNoContextTakeover, true);
        if (s.clientNoContextTakeover) assert.equal(params.clientNoContextTakeover, true);
        assert.ok(params.serverMaxWindowBits <= s.serverMaxWindowBits);
        assert.ok(params.clientMaxWindowBits <= limitOf(s.clientMaxWindowBits));
        // Each limit is the smaller of the two ends' (nothing is lowered more than needed).
        assert.equal(
          params.serverMaxWindowBits,
          Math.min(c.serverMaxWindowBits, s.serverMaxWindowBits),
        );
        assert.equal(
          params.clientMaxWindowBits,
          Math.min(limitOf(c.clientMaxWindowBits), limitOf(s.clientMaxWindowBits)),
        );
        assert.equal(
          params.serverNoContextTakeover,
          c.serverNoContextTakeover || s.serverNoContextTakeover,
        );
        assert.equal(
          params.clientNoContextTakeover,
          c.clientNoContextTakeover || s.clientNoContextTakeover,
        );
      }),
      { numRuns: runs(500) },
    );
  });

  it('a mutated response is either refused or accepted with parameters that keep our promises', () => {
    fc.assert(
      fc.property(
        optionsArb,
        optionsArb,
        fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
        (co, so, mutations) => {
          const c = opts(co);
          const { accepted } = negotiate(c, opts(so));
          const mutated = mutations.reduce(
            (acc, m) => (acc.length === 1 ? mutate(acc, m) : acc),
            accepted,
          );
          const result = acceptServerResponse(mutated, c);
          if (result instanceof HandshakeError) {
            assert.equal(result.code, 'WS_ERR_INVALID_EXTENSION_HEADER');
            return;
          }
          assert.ok(result !== undefined);
          assertConsistent(result, mutated, c);
        },
      ),
      { numRuns: runs(1000) },
    );
  });

  it('a response mutated as text is refused or accepted consistently, never thrown on', () => {
    fc.assert(
      fc.property(
        optionsArb,
        optionsArb,
        fc.array(fc.tuple(fc.nat(), fc.nat(2), fc.constantFrom(...'=;, "\\abc_s0189\t')), {
          minLength: 1,
          maxLength: 4,
        }),
        (co, so, edits) => {
          const c = opts(co);
          let text = negotiate(c, opts(so)).response;
          for (const [pos, op, ch] of edits) {
            const i = pos % (text.length + 1);
            if (op === 0) text = text.slice(0, i) + ch + text.slice(i);
            else if (op === 1) text = text.slice(0, i) + text.slice(i + 1);
            else text = text.slice(0, i) + ch + text.slice(i + 1);
          }
          const parsed = parseExtensionHeader(text);
          if (parsed instanceof HandshakeError) return;
          const result = acceptServerResponse(parsed, c);
          if (result instanceof HandshakeError || result === undefined) return;
          assertConsistent(result, parsed, c);
        },
      ),
      { numRuns: runs(1000) },
    );
  });

  it('the server takes the first valid offer, and its response is one the offer allows', () => {
    /** An independent oracle: the offer's parameters, or undefined when RFC 7692 §7 declines it. */
    function validOffer(offer: ExtensionOffer): Map<string, string | true> | undefined {
      if (offer.name !== PMD) return undefined;
      const map = new Map(offer.params);
      if (map.size !== offer.params.length) return undefined;
      for (const [name, value] of offer.params) {
        if ((FLAGS as readonly string[]).includes(name)) {
          if (value !== true) return undefined;
        } else if (name === 'server_max_window_bits') {
          if (value === true || !VALID_BITS.includes(value)) return undefined;
        } else if (name === 'client_max_window_bits') {
          if (value !== true && !VALID_BITS.includes(value)) return undefined;
        } else {
          return undefined;
        }
      }
      return map;
    }
    const offerArb = fc.record({
      name: fc.oneof(
        { weight: 5, arbitrary: fc.constant(PMD) },
        { weight: 1, arbitrary: fc.constant('foo') },
      ),
      params: fc.array(paramArb, { maxLength: 5 }),
    });
    fc.assert(
      fc.property(fc.array(offerArb, { maxLength: 4 }), optionsArb, (offers, so) => {
        const s = opts(so);
        const limit = limitOf(s.clientMaxWindowBits);
        const chosen = offers
          .map(validOffer)
          .find((m) => m !== undefined && (m.has('client_max_window_bits') || limit === 15));
        // Through the header text as well: what the parser gives back is the same.
        const header = offers.length === 0 ? '' : formatExtensionHeader(offers);
        assert.deepEqual(
          header === '' ? [] : parse(header),
          offers.map(({ name, params }) => ({ name, params })),
        );
        const result = negotiateServer(offers, s);
        if (chosen === undefined) {
          assert.equal(result, undefined);
          return;
        }
        assert.ok(result !== undefined);
        const accepted = parse(result.response);
        assert.equal(accepted.length, 1);
        const given = new Map(accepted[0]!.params);
        // RFC 7692 §7.1.1.1: an asked server_no_context_takeover is echoed.
        if (chosen.has('server_no_context_takeover'))
          assert.ok(given.has('server_no_context_takeover'));
        if (chosen.has('client_no_context_takeover'))
          assert.ok(given.has('client_no_context_takeover'));
        // RFC 7692 §7.1.2.1: an asked limit is answered with the same or less.
        const smwb = chosen.get('server_max_window_bits');
        if (smwb !== undefined)
          assert.ok(Number(given.get('server_max_window_bits')) <= Number(smwb));
        // RFC 7692 §7.1.2.2: never unoffered, never over the offered value.
        const cmwb = chosen.get('client_max_window_bits');
        if (cmwb === undefined) assert.ok(!given.has('client_max_window_bits'));
        else if (cmwb !== true)
          assert.ok(Number(given.get('client_max_window_bits')) <= Number(cmwb));
        assert.deepEqual(result.params, {
          serverNoContextTakeover: given.has('server_no_context_takeover'),
          clientNoContextTakeover: given.has('client_no_context_takeover'),
          serverMaxWindowBits: Number(given.get('server_max_window_bits') ?? 15),
          clientMaxWindowBits: Number(given.get('client_max_window_bits') ?? 15),
        });
      }),
      { numRuns: runs(1000) },
    );
  });
});
