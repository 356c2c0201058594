import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClientOptions } from '../../../src/node/client/client-options.js';
import {
  PASS_THROUGH_OPTIONS,
  type PassThroughOption,
  requestOptions,
} from '../../../src/node/client/client-request-options.js';

/**
 * Every tsws-only client option, set. A Record over the option type's own names, so tsc fails
 * here when a new option is added to ClientOptions without being decided on.
 */
const own: Required<Pick<ClientOptions, Exclude<keyof ClientOptions, PassThroughOption>>> = {
  maxPayload: 1,
  maxFragments: 1,
  skipUTF8Validation: true,
  autoPong: false,
  closeTimeout: 1,
  heartbeat: false,
  maxBackpressure: 1,
  backpressurePolicy: 'close',
  rateLimit: { messages: 1 },
  memoryBudget: 1,
  memoryBudgetPolicy: 'refuse',
  headers: { 'x-a': 'b' },
  handshakeTimeout: 1,
  origin: 'http://example',
  followRedirects: true,
  maxRedirects: 1,
  perMessageDeflate: false,
};

describe('client options handed to http.request', () => {
  it('keep every tsws-only option out', () => {
    const passed = requestOptions(own as ClientOptions);
    assert.deepEqual(passed, {});
  });

  it('keep names outside the allow-list out (options from JavaScript are not type-checked)', () => {
    const passed = requestOptions({ bogus: 1, host: 'evil', path: '/x' } as ClientOptions);
    assert.deepEqual(passed, {});
  });

  it('pass the http and TLS options through, and only those', () => {
    const checkServerIdentity = () => undefined;
    const options: ClientOptions = {
      ...own,
      ca: 'CA',
      servername: 'example.com',
      rejectUnauthorized: false,
      checkServerIdentity,
      family: 4,
      localAddress: '127.0.0.1',
      ALPNProtocols: ['http/1.1'],
      auth: undefined, // given as undefined: left out
    };
    assert.deepEqual(requestOptions(options), {
      ca: 'CA',
      servername: 'example.com',
      rejectUnauthorized: false,
      checkServerIdentity,
      family: 4,
      localAddress: '127.0.0.1',
      ALPNProtocols: ['http/1.1'],
    });
  });

  it('the allow-list names no tsws option', () => {
    for (const name of Object.keys(own)) {
      assert.ok(!(PASS_THROUGH_OPTIONS as readonly string[]).includes(name), name);
    }
  });
});
