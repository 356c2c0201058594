import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  acceptExtensions,
  type ExtensionOffer,
  HandshakeError,
  negotiateExtensions,
} from '../../src/handshake/index.js';
import type {
  ClientExtensionFactory,
  Extension,
  ServerExtensionFactory,
} from '../../src/protocol/index.js';

/** An extension that only carries its name (negotiation never runs it). */
function named(name: string): Extension {
  return {
    name,
    rsv1: true,
    decode: () => {},
    resumeDecoding: () => {},
    encode: () => {},
    close: () => {},
  };
}

/** A server factory that agrees to the first offer of its name whose params include `ok`. */
function serverFactory(name: string, created: string[]): ServerExtensionFactory {
  return {
    name,
    accept(offers) {
      const offer = offers.find((o) => o.name === name && o.params.some(([p]) => p === 'ok'));
      if (offer === undefined) return undefined;
      return {
        answer: { name, params: [['ok', true]] },
        create: () => {
          created.push(name);
          return named(name);
        },
      };
    },
  };
}

function clientFactory(name: string): ClientExtensionFactory {
  return {
    name,
    offer: () => ({ name, params: [['ok', true]] }),
    accept: (answer) =>
      answer.params.some(([p]) => p === 'ok') ? named(name) : new Error(`${name}: bad answer`),
  };
}

const offer = (name: string, ...params: string[]): ExtensionOffer => ({
  name,
  params: params.map((p) => [p, true]),
});

describe('negotiateExtensions (server, RFC 6455 §9.1)', () => {
  it('no factories: no negotiation at all', () => {
    assert.equal(negotiateExtensions([]), undefined);
  });

  it("the first of the server's factories that agrees answers; the extension is made only on demand", () => {
    const created: string[] = [];
    const negotiate = negotiateExtensions([
      serverFactory('x-a', created),
      serverFactory('x-b', created),
    ])!;
    const result = negotiate([offer('x-b', 'ok'), offer('x-a', 'ok')])!;
    assert.equal(result.response, 'x-a; ok');
    assert.deepEqual(created, [], 'nothing made before the answer is out');
    assert.equal(result.agreed.create().name, 'x-a');
    assert.deepEqual(created, ['x-a']);
  });

  it('falls through to the next factory, and declines when none agrees', () => {
    const negotiate = negotiateExtensions([serverFactory('x-a', []), serverFactory('x-b', [])])!;
    assert.equal(negotiate([offer('x-a'), offer('x-b', 'ok')])!.response, 'x-b; ok');
    assert.equal(negotiate([offer('x-a'), offer('x-c', 'ok')]), undefined);
    assert.equal(negotiate([]), undefined);
  });
});

describe('acceptExtensions (client, RFC 6455 §4.1 step 5)', () => {
  const factories = [clientFactory('x-a'), clientFactory('x-b')];

  it('none accepted: no extension', () => {
    assert.equal(acceptExtensions([], factories), undefined);
  });

  it("an accepted offer gives that factory's extension", () => {
    const result = acceptExtensions([offer('x-b', 'ok')], factories);
    assert.ok(!(result instanceof Error));
    assert.equal(result?.name, 'x-b');
  });

  it('an extension that was not offered fails the handshake', () => {
    const result = acceptExtensions([offer('x-c', 'ok')], factories);
    assert.ok(result instanceof HandshakeError);
    assert.equal(result.code, 'WS_ERR_INVALID_EXTENSION_HEADER');
    assert.match(result.message, /"x-c", which was not offered/);
  });

  it('more than one accepted fails (one extension per connection)', () => {
    const result = acceptExtensions([offer('x-a', 'ok'), offer('x-a', 'ok')], factories);
    assert.ok(result instanceof HandshakeError);
    assert.match(result.message, /more than one/);
  });

  it("a factory's refusal of its answer fails the handshake with its reason", () => {
    const result = acceptExtensions([offer('x-a')], factories);
    assert.ok(result instanceof HandshakeError);
    assert.equal(result.code, 'WS_ERR_INVALID_EXTENSION_HEADER');
    assert.match(result.message, /x-a: bad answer/);
  });
});
