/**
 * Model-based fuzzing of the Connection state machine: random local calls interleaved with
 * random peer input, checked after every step against a model of what RFC 6455 allows.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  Connection,
  ConnectionState,
  isValidCloseCode,
  Opcode,
  type PeerError,
  type Role,
  UsageError,
} from '../../src/protocol/index.js';
import { FakeExtension } from '../helpers/fake-extension.js';
import { closePayload, type DecodedFrame, decodeFrames, encodeFrame } from '../helpers/frames.js';
import { cutStream, keyArb, runs, splitArb, textArb } from '../helpers/fuzz.js';
import { type CoreEvent, recordingConnection } from '../helpers/recorder.js';

// ---- the real system ----

type Event = CoreEvent | { type: 'error'; code: string; closeCode: number; message: string };

interface ExpectedFrame {
  opcode: number;
  fin: boolean;
  rsv1: boolean;
  payload: Buffer;
}

class Harness {
  readonly conn: Connection;
  readonly events: Event[] = [];
  errorObjects: PeerError[] = [];
  /** Peer bytes generated but not fed yet (frames may straddle feeds). */
  backlog = Buffer.alloc(0);
  /** All bytes the connection wrote, in order, and how many were decoded already. */
  written = Buffer.alloc(0);
  decoded: DecodedFrame[] = [];
  /** Pause from inside the next event handler (a binding reacting to backpressure). */
  pauseInNextHandler = false;
  /** Index in `events` after which the handler paused, during the current step. */
  pausedAfterEvent = -1;
  /** A peer of the other role reading everything we write: it must never see a fault. */
  readonly peer: ReturnType<typeof recordingConnection>;

  constructor(
    readonly role: Role,
    readonly autoPong: boolean,
  ) {
    const onEvent = (e: Event) => {
      this.events.push(e);
      if (this.pauseInNextHandler) {
        this.pauseInNextHandler = false;
        this.conn.pause();
        this.pausedAfterEvent = this.events.length - 1;
      }
    };
    this.conn = new Connection(
      { role, autoPong },
      {
        onMessage: (data, isBinary) =>
          onEvent({ type: 'message', data: Buffer.from(data), isBinary }),
        onPing: (data) => onEvent({ type: 'ping', data: Buffer.from(data) }),
        onPong: (data) => onEvent({ type: 'pong', data: Buffer.from(data) }),
        onClose: (code, reason) => onEvent({ type: 'close', code, reason: reason.toString() }),
        onError: (error) => {
          this.errorObjects.push(error);
          onEvent({
            type: 'error',
            code: error.code,
            closeCode: error.closeCode,
            message: error.message,
          });
        },
      },
    );
    this.peer = recordingConnection(
      {
        role: role === 'server' ? 'client' : 'server',
        // The API lets text continue with sendBinary bytes and extensions set RSV1: the peer
        // checks framing, not content.
        skipUtf8Validation: true,
      },
      new FakeExtension(),
    );
  }
}

// ---- the model ----

interface Model {
  role: Role;
  autoPong: boolean;
  closeSent: boolean;
  /** abort() or receiveEof() was called. */
  closed: boolean;
  /** No event may be reported any more: terminal event, failConnection, abort, EOF. */
  stopped: boolean;
  fragmenting: boolean;
  paused: boolean;
  closeEvent: { code: number } | undefined;
  errorEvent: { closeCode: number } | undefined;
  /** Codes the connection was failed with (locally or by a peer fault). */
  failCodes: number[];
  eofExpected: boolean;
  eofTaken: boolean;
  /** Frames the connection must have written since the last dataToSend. */
  expectedOut: ExpectedFrame[];
  eventsSeen: number;
  /** Whether pings were answered (for the summary). */
  stats: Record<string, number>;
}

function newModel(role: Role, autoPong: boolean): Model {
  return {
    role,
    autoPong,
    closeSent: false,
    closed: false,
    stopped: false,
    fragmenting: false,
    paused: false,
    closeEvent: undefined,
    errorEvent: undefined,
    failCodes: [],
    eofExpected: false,
    eofTaken: false,
    expectedOut: [],
    eventsSeen: 0,
    stats: {},
  };
}

/** `text` cut to at most `max` UTF-8 bytes at a character boundary. */
function truncateReference(text: string, max: number): Buffer {
  const parts: Buffer[] = [];
  let n = 0;
  for (const ch of text) {
    const b = Buffer.from(ch);
    if (n + b.length > max) break;
    parts.push(b);
    n += b.length;
  }
  return Buffer.concat(parts);
}

function closeFrame(code: number | undefined, reason: Buffer = Buffer.alloc(0)): ExpectedFrame {
  return {
    opcode: Opcode.Close,
    fin: true,
    rsv1: false,
    payload: code === undefined ? Buffer.alloc(0) : closePayload(code, reason),
  };
}

/** The connection sent its first close frame. */
function markCloseSent(m: Model, frame: ExpectedFrame): void {
  m.expectedOut.push(frame);
  m.closeSent = true;
}

/**
 * Brings the model up to date with the events reported during a step, checking each, then
 * checks the invariants that hold after every step.
 */
function sync(m: Model, h: Harness, step: string, eventsAllowed: boolean): void {
  const fresh = h.events.slice(m.eventsSeen);
  fresh.forEach((e, i) => {
    const where = `${step}: event ${e.type}`;
    assert.ok(eventsAllowed, `${where} outside receiveData/resume`);
    assert.ok(!m.stopped, `${where} after the connection stopped reading`);
    assert.ok(!m.paused, `${where} while paused`);
    switch (e.type) {
      case 'ping':
        if (m.autoPong && !m.closeSent) {
          m.expectedOut.push({ opcode: Opcode.Pong, fin: true, rsv1: false, payload: e.data });
        }
        break;
      case 'pong':
      case 'message':
        break;
      case 'close':
        m.closeEvent = { code: e.code };
        // The echo carries the code and the reason (RFC 6455 §5.5.1; as ws and python do).
        if (!m.closeSent) {
          markCloseSent(m, closeFrame(e.code === 1005 ? undefined : e.code, Buffer.from(e.reason)));
        }
        m.stopped = true;
        if (m.role === 'server') m.eofExpected = true;
        break;
      case 'error': {
        assert.ok([1002, 1007, 1009].includes(e.closeCode), `${where}: close code ${e.closeCode}`);
        m.errorEvent = { closeCode: e.closeCode };
        m.failCodes.push(e.closeCode);
        if (!m.closeSent) {
          const message = (e as { message: string }).message;
          markCloseSent(m, closeFrame(e.closeCode, truncateReference(message, 123)));
        }
        m.stopped = true;
        if (m.role === 'server') m.eofExpected = true;
        break;
      }
    }
    m.stats[e.type] = (m.stats[e.type] ?? 0) + 1;
    if (h.pausedAfterEvent === m.eventsSeen + i) m.paused = true;
  });
  m.eventsSeen = h.events.length;
  h.pausedAfterEvent = -1;

  const c = h.conn;
  assert.equal(c.isPaused, m.paused, `${step}: isPaused`);
  assert.equal(c.closeSent, m.closeSent, `${step}: closeSent`);
  assert.equal(c.closeReceived, m.closeEvent !== undefined, `${step}: closeReceived`);
  const state = m.closed
    ? ConnectionState.Closed
    : m.closeSent
      ? ConnectionState.Closing
      : ConnectionState.Open;
  assert.equal(c.state, state, `${step}: state`);
  assert.equal(c.closeExpected(), state !== ConnectionState.Open, `${step}: closeExpected`);
  // closeCode: the peer's code, else a code the connection was failed with, else 1006.
  if (m.closeEvent) assert.equal(c.closeCode, m.closeEvent.code, `${step}: closeCode`);
  else if (m.failCodes.length > 0)
    assert.ok(m.failCodes.includes(c.closeCode), `${step}: closeCode`);
  else assert.equal(c.closeCode, 1006, `${step}: closeCode`);
  assert.equal(c.error, h.errorObjects[0], `${step}: error`);
  assert.ok(h.errorObjects.length <= 1, `${step}: one error event at most`);
}

/** Takes the output and checks it frame by frame against the model. */
function takeOutput(m: Model, h: Harness, step: string): void {
  const before = h.conn.bufferedAmount;
  const chunks = h.conn.dataToSend();
  const bytes = Buffer.concat(chunks);
  assert.equal(bytes.length, before, `${step}: bufferedAmount was the size of dataToSend()`);
  assert.equal(h.conn.bufferedAmount, 0, `${step}: bufferedAmount after dataToSend()`);
  h.written = Buffer.concat([h.written, bytes]);
  const { frames, rest } = decodeFrames(h.written);
  assert.equal(rest.length, 0, `${step}: output holds whole frames only`);
  const fresh = frames.slice(h.decoded.length);
  h.decoded = frames;
  assert.deepEqual(
    fresh.map((f) => ({ opcode: f.opcode, fin: f.fin, rsv1: f.rsv1, payload: f.payload })),
    m.expectedOut,
    `${step}: frames written`,
  );
  for (const f of fresh) assert.equal(f.masked, m.role === 'client', `${step}: masking`);
  m.expectedOut = [];
  // RFC 6455 §5.5.1: at most one close frame, and nothing after it.
  const firstClose = frames.findIndex((f) => f.opcode === Opcode.Close);
  if (firstClose >= 0) assert.equal(firstClose, frames.length - 1, `${step}: frame after close`);
  // The peer reads it all without a fault.
  if (bytes.length > 0) h.peer.conn.receiveData(Buffer.from(bytes));
  const peerErrors = h.peer.events.filter((e) => e.type === 'error');
  assert.deepEqual(peerErrors, [], `${step}: the peer found a fault in our output`);
  // EOF: a server asks once, after the closing handshake, a failure or the peer's EOF.
  const eof = h.conn.eofToSend();
  assert.equal(eof, m.eofExpected && !m.eofTaken, `${step}: eofToSend`);
  if (eof) m.eofTaken = true;
  assert.equal(h.conn.eofToSend(), false, `${step}: eofToSend twice`);
}

/** Runs a local call that throws a UsageError exactly when the model says so. */
function expectUsage(step: string, shouldThrow: boolean, call: () => void): boolean {
  let thrown: unknown;
  try {
    call();
  } catch (e) {
    thrown = e;
  }
  if (thrown !== undefined) {
    assert.ok(thrown instanceof UsageError, `${step} threw ${String(thrown)}`);
    assert.ok(shouldThrow, `${step} threw ${(thrown as Error).message}`);
    return false;
  }
  assert.ok(!shouldThrow, `${step} did not throw`);
  return true;
}

// ---- commands ----

type Cmd = fc.Command<Model, Harness>;

class SendData implements Cmd {
  constructor(
    readonly kind: 'text' | 'textBytes' | 'binary' | 'dataFrame',
    readonly text: string,
    readonly bytes: Uint8Array,
    readonly fin: boolean,
    readonly rsv1: boolean,
  ) {}
  check = () => true;
  run(m: Model, h: Harness): void {
    const step = this.toString();
    const payload = this.kind === 'text' ? Buffer.from(this.text) : Buffer.from(this.bytes);
    const binary = this.kind === 'binary' || this.kind === 'dataFrame';
    // RSV1 only on the first frame of a message (RFC 7692 §6.1): the API leaves this to callers.
    const rsv1 = this.kind === 'dataFrame' && this.rsv1 && !m.fragmenting;
    const ok = expectUsage(step, m.closeSent || m.closed, () => {
      if (this.kind === 'text') h.conn.sendText(this.text, this.fin);
      else if (this.kind === 'textBytes') h.conn.sendText(this.bytes, this.fin);
      else if (this.kind === 'binary') h.conn.sendBinary(this.bytes, this.fin);
      else h.conn.sendDataFrame(Opcode.Binary, this.bytes, this.fin, rsv1);
    });
    if (ok) {
      m.expectedOut.push({
        opcode: m.fragmenting ? Opcode.Continuation : binary ? Opcode.Binary : Opcode.Text,
        fin: this.fin,
        rsv1,
        payload,
      });
      m.fragmenting = !this.fin;
    }
    sync(m, h, step, false);
  }
  toString = () =>
    `send ${this.kind}(${this.kind === 'text' ? JSON.stringify(this.text) : `${this.bytes.length} bytes`}, fin=${this.fin}${this.rsv1 ? ', rsv1' : ''})`;
}

class SendControl implements Cmd {
  constructor(
    readonly ping: boolean,
    readonly payload: Uint8Array | string,
  ) {}
  check = () => true;
  run(m: Model, h: Harness): void {
    const step = this.toString();
    const bytes = Buffer.from(this.payload as Uint8Array);
    const ok = expectUsage(step, m.closeSent || m.closed || bytes.length > 125, () =>
      this.ping ? h.conn.sendPing(this.payload) : h.conn.sendPong(this.payload),
    );
    if (ok) {
      m.expectedOut.push({
        opcode: this.ping ? Opcode.Ping : Opcode.Pong,
        fin: true,
        rsv1: false,
        payload: bytes,
      });
    }
    sync(m, h, step, false);
  }
  toString = () =>
    `send ${this.ping ? 'ping' : 'pong'}(${Buffer.from(this.payload as Uint8Array).length} bytes)`;
}

class SendClose implements Cmd {
  constructor(
    readonly code: number | undefined,
    readonly reason: string | Uint8Array | undefined,
  ) {}
  check = () => true;
  run(m: Model, h: Harness): void {
    const step = this.toString();
    const reasonBytes =
      this.reason === undefined ? Buffer.alloc(0) : Buffer.from(this.reason as Uint8Array);
    const validArgs =
      this.code === undefined
        ? reasonBytes.length === 0
        : Number.isInteger(this.code) && isValidCloseCode(this.code) && reasonBytes.length <= 123;
    // Arguments are checked first, in any state; a valid call once closing does nothing.
    const ok = expectUsage(step, !validArgs, () => h.conn.sendClose(this.code, this.reason));
    if (ok && !m.closeSent && !m.closed) markCloseSent(m, closeFrame(this.code, reasonBytes));
    // Asked again once both close frames went (RFC 6455 §7.1.1 lets a client stop waiting for
    // the server's TCP close; ws ends TCP then too): the core asks for EOF, in either role.
    else if (ok && !m.closed && m.closeEvent !== undefined) m.eofExpected = true;
    sync(m, h, step, false);
  }
  toString = () =>
    `sendClose(${this.code}, ${this.reason === undefined ? 'undefined' : `${Buffer.from(this.reason as Uint8Array).length} bytes`})`;
}

class SendPrepared implements Cmd {
  constructor(
    readonly payload: Uint8Array,
    readonly key: Uint8Array,
  ) {}
  check = () => true;
  run(m: Model, h: Harness): void {
    const step = this.toString();
    const frame = encodeFrame({
      opcode: Opcode.Binary,
      payload: this.payload,
      mask: m.role === 'client' ? this.key : false,
    });
    const ok = expectUsage(step, m.closeSent || m.closed || m.fragmenting, () =>
      h.conn.sendPreparedFrame(frame),
    );
    if (ok) {
      m.expectedOut.push({
        opcode: Opcode.Binary,
        fin: true,
        rsv1: false,
        payload: Buffer.from(this.payload),
      });
    }
    sync(m, h, step, false);
  }
  toString = () => `sendPreparedFrame(${this.payload.length} bytes)`;
}

class FailConnection implements Cmd {
  constructor(
    readonly code: number,
    readonly reason: string,
  ) {}
  check = () => true;
  run(m: Model, h: Harness): void {
    const step = this.toString();
    expectUsage(step, false, () => h.conn.failConnection(this.code, this.reason));
    if (!m.closed) {
      if (!m.closeEvent) m.failCodes.push(this.code);
      if (!m.closeSent)
        markCloseSent(m, closeFrame(this.code, truncateReference(this.reason, 123)));
      m.stopped = true;
      if (m.role === 'server') m.eofExpected = true;
    }
    sync(m, h, step, false);
  }
  toString = () => `failConnection(${this.code}, ${JSON.stringify(this.reason)})`;
}

class Abort implements Cmd {
  check = () => true;
  run(m: Model, h: Harness): void {
    expectUsage('abort', false, () => h.conn.abort());
    m.closed = true;
    m.stopped = true;
    sync(m, h, 'abort', false);
  }
  toString = () => 'abort()';
}

class ReceiveEof implements Cmd {
  check = () => true;
  run(m: Model, h: Harness): void {
    expectUsage('receiveEof', false, () => h.conn.receiveEof());
    // The peer's EOF is answered with ours, in both roles (the core decides it once).
    if (!m.closed) m.eofExpected = true;
    m.closed = true;
    m.stopped = true;
    sync(m, h, 'receiveEof', false);
    assert.equal(h.conn.receiveBufferedAmount, 0, 'nothing held after EOF');
  }
  toString = () => 'receiveEof()';
}

class Pause implements Cmd {
  constructor(readonly inHandler: boolean) {}
  check = () => true;
  run(m: Model, h: Harness): void {
    if (this.inHandler) {
      h.pauseInNextHandler = true;
    } else {
      h.conn.pause();
      m.paused = true;
    }
    sync(m, h, this.toString(), false);
  }
  toString = () => (this.inHandler ? 'pause in the next handler' : 'pause()');
}

class Resume implements Cmd {
  check = () => true;
  run(m: Model, h: Harness): void {
    h.pauseInNextHandler = false;
    h.conn.resume();
    m.paused = false;
    sync(m, h, 'resume', true);
  }
  toString = () => 'resume()';
}

class TakeData implements Cmd {
  check = () => true;
  run(m: Model, h: Harness): void {
    sync(m, h, 'dataToSend', false);
    takeOutput(m, h, 'dataToSend');
  }
  toString = () => 'dataToSend()';
}

class PeerInput implements Cmd {
  constructor(
    readonly bytes: Buffer,
    readonly cut: number,
    readonly label: string,
  ) {}
  check = () => true;
  run(m: Model, h: Harness): void {
    const all = Buffer.concat([h.backlog, this.bytes]);
    const n = Math.floor(all.length * this.cut);
    h.backlog = Buffer.from(all.subarray(n));
    const before = h.conn.receiveBufferedAmount;
    h.conn.receiveData(Buffer.from(all.subarray(0, n)));
    if (m.paused && !m.stopped && n > 0) {
      assert.equal(h.conn.receiveBufferedAmount, before + n, 'input held while paused');
    }
    sync(m, h, this.toString(), true);
  }
  toString = () => `peer ${this.label} (${this.bytes.length} bytes, feed ${this.cut.toFixed(2)})`;
}

// ---- generators ----

const validCodeArb = fc.constantFrom(1000, 1001, 1002, 1003, 1007, 1008, 1011, 1014, 3000, 4999);
const anyCodeArb = fc.oneof(
  validCodeArb,
  fc.constantFrom(0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535, 1000.5, Number.NaN, -1),
);
const reasonArb = fc.oneof(
  fc.constant(undefined),
  fc.constant(''),
  textArb(10),
  fc.constantFrom('x'.repeat(123), 'x'.repeat(124), 'é'.repeat(61), 'é'.repeat(62)),
  // Byte reasons are UTF-8 here: the API does not check them (see connection.test.ts).
  textArb(10).map((s) => new Uint8Array(Buffer.from(s))),
  fc.constantFrom(new Uint8Array(123).fill(0x61), new Uint8Array(124).fill(0x61)),
);

/** One thing the peer may send, as bytes. Mostly valid for the role, sometimes not. */
const peerChunkArb = (role: Role): fc.Arbitrary<{ bytes: Buffer; label: string }> => {
  const mask = role === 'server';
  const frame = (label: string, f: Parameters<typeof encodeFrame>[0]) => ({
    bytes: encodeFrame(f),
    label,
  });
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .tuple(
          fc.constantFrom(Opcode.Text, Opcode.Binary, Opcode.Continuation),
          textArb(8),
          fc.boolean(),
          keyArb,
        )
        .map(([opcode, text, fin, key]) =>
          frame(`data op=${opcode} fin=${fin}`, { opcode, payload: text, fin, mask: mask && key }),
        ),
    },
    {
      weight: 3,
      arbitrary: fc
        .tuple(fc.boolean(), fc.uint8Array({ maxLength: 125 }), keyArb)
        .map(([ping, payload, key]) =>
          frame(ping ? 'ping' : 'pong', {
            opcode: ping ? Opcode.Ping : Opcode.Pong,
            payload,
            mask: mask && key,
          }),
        ),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.option(validCodeArb), fc.string({ maxLength: 10 }), keyArb)
        .map(([code, reason, key]) =>
          frame(`close ${code}`, {
            opcode: Opcode.Close,
            payload: code === null ? Buffer.alloc(0) : closePayload(code, reason),
            mask: mask && key,
          }),
        ),
    },
    {
      weight: 1,
      // Faults: bad close payloads, bad UTF-8, wrong masking, reserved bits and opcodes, big control frames.
      arbitrary: fc
        .tuple(
          fc.constantFrom(
            'close-1-byte',
            'close-1005',
            'close-bad-utf8',
            'bad-utf8',
            'wrong-mask',
            'rsv2',
            'opcode-3',
            'ping-126',
            'ping-fin-0',
          ),
          keyArb,
        )
        .map(([kind, key]) => {
          const k = mask && key;
          switch (kind) {
            case 'close-1-byte':
              return frame(kind, { opcode: Opcode.Close, payload: Buffer.from([3]), mask: k });
            case 'close-1005':
              return frame(kind, { opcode: Opcode.Close, payload: closePayload(1005), mask: k });
            case 'close-bad-utf8':
              return frame(kind, {
                opcode: Opcode.Close,
                payload: closePayload(1000, Buffer.from([0xc0])),
                mask: k,
              });
            case 'bad-utf8':
              return frame(kind, {
                opcode: Opcode.Text,
                payload: Buffer.from([0xed, 0xa0, 0x80]),
                mask: k,
              });
            case 'wrong-mask':
              return frame(kind, { opcode: Opcode.Binary, payload: 'x', mask: !mask && key });
            case 'rsv2':
              return frame(kind, { opcode: Opcode.Binary, payload: 'x', rsv2: true, mask: k });
            case 'opcode-3':
              return frame(kind, { opcode: 3, payload: 'x', mask: k });
            case 'ping-126':
              return frame(kind, { opcode: Opcode.Ping, payload: Buffer.alloc(126), mask: k });
            default:
              return frame(kind, { opcode: Opcode.Ping, payload: 'p', fin: false, mask: k });
          }
        }),
    },
    {
      weight: 1,
      arbitrary: fc.uint8Array({ minLength: 1, maxLength: 12 }).map((b) => ({
        bytes: Buffer.from(b),
        label: 'garbage',
      })),
    },
  );
};

const commandsArb = (role: Role, pauseInHandler: boolean) => {
  const peerInput = (cutArb: fc.Arbitrary<number>) =>
    fc
      .tuple(fc.array(peerChunkArb(role), { minLength: 1, maxLength: 3 }), cutArb)
      .map(
        ([chunks, cut]) =>
          new PeerInput(
            Buffer.concat(chunks.map((c) => c.bytes)),
            cut,
            chunks.map((c) => c.label).join(', '),
          ),
      );
  const sendData = fc
    .tuple(
      fc.constantFrom('text', 'textBytes', 'binary', 'dataFrame') as fc.Arbitrary<
        'text' | 'textBytes' | 'binary' | 'dataFrame'
      >,
      textArb(12),
      fc.oneof(
        { weight: 10, arbitrary: fc.uint8Array({ maxLength: 40 }) },
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            new Uint8Array(126),
            new Uint8Array(8193),
            new Uint8Array(70000),
          ),
        },
      ),
      fc.boolean(),
      fc.boolean(),
    )
    .map(([kind, text, bytes, fin, rsv1]) => {
      // sendText with bytes: the caller promises UTF-8.
      const b = kind === 'textBytes' ? Buffer.from(text) : bytes;
      return new SendData(kind, text, b, fin, rsv1);
    });
  const sendControl = fc
    .tuple(
      fc.boolean(),
      fc.oneof(
        fc.uint8Array({ maxLength: 130 }),
        fc.string({ maxLength: 10 }),
        fc.constantFrom('é'.repeat(62), 'é'.repeat(63)),
      ),
    )
    .map(([ping, payload]) => new SendControl(ping, payload));
  const sendClose = fc
    .tuple(fc.option(anyCodeArb, { freq: 5 }), reasonArb)
    .map(([code, reason]) => new SendClose(code ?? undefined, reason));
  const sendPrepared = fc
    .tuple(fc.uint8Array({ maxLength: 20 }), keyArb)
    .map(([p, k]) => new SendPrepared(p, k));
  const fail = fc
    .tuple(validCodeArb, fc.oneof(fc.constant(''), textArb(5), fc.constant('ü'.repeat(70))))
    .map(([code, reason]) => new FailConnection(code, reason));
  const pause = (pauseInHandler ? fc.boolean() : fc.constant(false)).map(
    (inHandler) => new Pause(inHandler),
  );
  const command: fc.Arbitrary<Cmd> = fc.oneof(
    { weight: 6, arbitrary: sendData },
    { weight: 3, arbitrary: sendControl },
    { weight: 2, arbitrary: sendClose },
    { weight: 1, arbitrary: sendPrepared },
    { weight: 1, arbitrary: fail },
    { weight: 1, arbitrary: fc.constant(new Abort()) },
    { weight: 1, arbitrary: fc.constant(new ReceiveEof()) },
    { weight: pauseInHandler ? 4 : 2, arbitrary: pause },
    { weight: 3, arbitrary: fc.constant(new Resume()) },
    { weight: 4, arbitrary: fc.constant(new TakeData()) },
    { weight: 8, arbitrary: peerInput(fc.double({ min: 0, max: 1, noNaN: true })) },
    { weight: 4, arbitrary: peerInput(fc.constant(1)) },
  );
  return fc.commands<Model, Harness>([command], { maxCommands: 80, size: 'max' });
};

function runModel(role: Role, autoPong: boolean, cmds: Iterable<Cmd>): Model {
  const m = newModel(role, autoPong);
  const h = new Harness(role, autoPong);
  fc.modelRun(() => ({ model: m, real: h }), cmds);
  // The end of the run: take what is left.
  sync(m, h, 'end', false);
  takeOutput(m, h, 'end');
  if (m.stopped) {
    assert.equal(
      h.conn.receiveBufferedAmount,
      0,
      'nothing held once the connection stopped reading',
    );
  }
  return m;
}

describe('Connection state machine (model-based)', () => {
  for (const role of ['server', 'client'] as const) {
    it(`${role}: random local calls and peer input keep every invariant`, () => {
      fc.assert(
        fc.property(commandsArb(role, false), fc.boolean(), (cmds, autoPong) => {
          runModel(role, autoPong, cmds);
        }),
        { numRuns: runs(1000) },
      );
    });
  }

  it('both roles: the same, with pause() also called from inside event handlers', () => {
    const roleAndCommands = fc
      .constantFrom<Role>('server', 'client')
      .chain((role) => fc.tuple(fc.constant(role), commandsArb(role, true)));
    fc.assert(
      fc.property(roleAndCommands, ([role, cmds]) => {
        runModel(role, true, cmds);
      }),
      { numRuns: runs(2000) },
    );
  });

  it('the generators reach every kind of event and ending', () => {
    // Guards against a generator change that silently stops exploring (e.g. no close ever).
    const seen: Record<string, number> = {};
    const endings = { eof: 0, error: 0, close: 0, failed: 0 };
    fc.assert(
      fc.property(commandsArb('server', false), (cmds) => {
        const m = runModel('server', true, cmds);
        for (const [k, v] of Object.entries(m.stats)) seen[k] = (seen[k] ?? 0) + v;
        if (m.eofTaken) endings.eof++;
        if (m.errorEvent) endings.error++;
        if (m.closeEvent) endings.close++;
        if (m.failCodes.length > 0) endings.failed++;
      }),
      { numRuns: 150, seed: 42 },
    );
    for (const type of ['message', 'ping', 'pong', 'close', 'error']) {
      assert.ok((seen[type] ?? 0) > 0, `no ${type} event in 150 runs`);
    }
    for (const [k, v] of Object.entries(endings)) assert.ok(v > 0, `no run ended by ${k}`);
  });
});

describe('pure garbage', () => {
  for (const role of ['server', 'client'] as const) {
    it(`${role}: random bytes in random splits never throw and end in at most one error`, () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.uint8Array({ maxLength: 300 }),
            // Garbage that starts like a frame of the right masking, to get further in.
            fc
              .tuple(
                fc.integer({ min: 0, max: 255 }),
                fc.integer({ min: 0, max: 127 }),
                fc.uint8Array({ maxLength: 200 }),
              )
              .map(([b0, len, rest]) =>
                Uint8Array.from([b0, (role === 'server' ? 0x80 : 0) | len, ...rest]),
              ),
          ),
          splitArb,
          (bytes, split) => {
            const results = [cutStream(bytes, { kind: 'whole' }), cutStream(bytes, split)].map(
              (pieces) => {
                const { conn, events, output } = recordingConnection({ role });
                for (const p of pieces) conn.receiveData(p);
                const out = output();
                const errors = events.filter((e) => e.type === 'error');
                assert.ok(errors.length <= 1);
                const terminal = events.findIndex((e) => e.type === 'error' || e.type === 'close');
                if (terminal >= 0)
                  assert.equal(terminal, events.length - 1, 'nothing after the end');
                if (errors.length === 1) {
                  const closeCode = (errors[0] as { closeCode: number }).closeCode;
                  assert.ok([1002, 1007, 1009].includes(closeCode));
                  assert.equal(out.frames.at(-1)?.opcode, Opcode.Close);
                  assert.equal(out.frames.at(-1)?.payload.readUInt16BE(0), closeCode);
                }
                conn.receiveEof();
                return { events, frames: out.frames, closeCode: conn.closeCode };
              },
            );
            assert.deepEqual(results[1], results[0]);
          },
        ),
        { numRuns: runs(1500) },
      );
    });
  }
});
