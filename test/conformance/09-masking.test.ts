// Masking (RFC 6455 §5.1, §5.3). A client masks every frame it sends, with a fresh
// unpredictable key per frame; a server never masks. A server MUST close on an unmasked frame
// and a client on a masked one (1002). The runner checks the masking of every frame the endpoint
// writes in every case; these cases add the receive side and the keys.

import {
  binary,
  type ConformanceCase,
  close,
  conformanceSuite,
  cont,
  ping,
  pong,
  type Role,
  send,
  sendChopped,
  text,
} from '../helpers/conformance-runner.js';
import type { WireFrame } from '../helpers/conformance-wire.js';
import { patternBytes } from '../helpers/fuzz.js';

const server = ['server'] as const;
const client = ['client'] as const;
const messages = Array.from({ length: 32 }, (_, i) =>
  i % 2 === 0 ? text(`message ${i}`) : binary(patternBytes(i * 7, i)),
);

/** Every frame masked by a client has its own key; no frame of a server is masked. */
function checkKeys(frames: WireFrame[], role: Role): string[] {
  if (role === 'server') {
    return frames.some((f) => f.masked) ? ['a server frame is masked'] : [];
  }
  const keys = frames.map((f) => f.key?.toString('hex') ?? 'none');
  const distinct = new Set(keys).size;
  const problems: string[] = [];
  if (keys.includes('none')) problems.push('a client frame has no masking key');
  // 33 random 32-bit keys collide with a probability of about 1.2e-7.
  if (distinct !== keys.length) {
    problems.push(`the client reused masking keys: ${distinct} distinct for ${keys.length} frames`);
  }
  return problems;
}

const cases: ConformanceCase[] = [
  {
    id: '9.1.1',
    title: 'unmasked text frame to the server',
    roles: server,
    actions: [send(text('unmasked', { mask: false })), send(close(1000))],
    close: 1002,
  },
  {
    id: '9.1.2',
    title: 'unmasked ping to the server is not answered',
    roles: server,
    actions: [send(ping('unmasked', { mask: false })), send(close(1000))],
    close: 1002,
  },
  {
    id: '9.1.3',
    title: 'unmasked close to the server',
    roles: server,
    actions: [send(close(1000, '', { mask: false }))],
    close: 1002,
  },
  {
    id: '9.1.4',
    title: 'unmasked continuation after a masked first fragment',
    roles: server,
    actions: [send(text('masked', { fin: false }), cont('unmasked', { mask: false }))],
    close: 1002,
  },
  {
    id: '9.1.5',
    title: 'unmasked frame after a valid message: the message is echoed',
    roles: server,
    actions: [send(text('valid'), binary('unmasked', { mask: false }), ping('after'))],
    frames: [text('valid')],
    close: 1002,
  },
  {
    id: '9.1.6',
    title: 'unmasked empty text frame, in 1-byte chunks',
    roles: server,
    actions: [sendChopped({ size: 1 }, [text('', { mask: false })])],
    close: 1002,
  },
  {
    id: '9.1.7',
    title: 'a zero masking key is a valid mask',
    roles: server,
    actions: [send(text('zero key', { mask: new Uint8Array(4) })), send(close(1000))],
    frames: [text('zero key')],
    close: 1000,
  },
  {
    id: '9.2.1',
    title: 'masked text frame to the client',
    roles: client,
    actions: [send(text('masked', { mask: true })), send(close(1000))],
    close: 1002,
  },
  {
    id: '9.2.2',
    title: 'masked ping to the client is not answered',
    roles: client,
    actions: [send(ping('masked', { mask: true })), send(close(1000))],
    close: 1002,
  },
  {
    id: '9.2.3',
    title: 'masked close to the client',
    roles: client,
    actions: [send(close(1000, '', { mask: true }))],
    close: 1002,
  },
  {
    id: '9.2.4',
    title: 'masked continuation after an unmasked first fragment',
    roles: client,
    actions: [send(text('unmasked', { fin: false }), cont('masked', { mask: true }))],
    close: 1002,
  },
  {
    id: '9.2.5',
    title: 'masked frame with a zero key after a valid message: the message is echoed',
    roles: client,
    actions: [send(text('valid'), binary('masked', { mask: new Uint8Array(4) }), ping('after'))],
    frames: [text('valid')],
    close: 1002,
  },
  {
    id: '9.2.6',
    title: 'masked empty pong, in 1-byte chunks',
    roles: client,
    actions: [sendChopped({ size: 1 }, [pong('', { mask: true })])],
    close: 1002,
  },
  {
    id: '9.3.1',
    title: '32 echoes and the close: a server never masks, a client masks each with its own key',
    actions: [send(...messages), send(close(1000))],
    frames: messages,
    close: 1000,
    check: checkKeys,
  },
  {
    id: '9.3.2',
    title: 'pongs and a failure close are masked by a client, not by a server',
    actions: [send(ping('a'), ping('b'), ping(''), text('x', { rsv2: true }))],
    frames: [pong('a'), pong('b'), pong('')],
    close: 1002,
    check: checkKeys,
  },
];

conformanceSuite('Masking', cases);
