import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { DeflatePortSettings } from '../../../src/extensions/permessage-deflate/deflate-port.js';
import { nodeDeflatePort } from '../../../src/node/extensions/zlib-port.js';
import {
  BUDGET_OK,
  BUDGET_REFUSE,
  BUDGET_WAIT,
  type BudgetVerdict,
  type DecodeBudget,
  PeerError,
} from '../../../src/protocol/index.js';

// RFC 7692 §7.2.1: a sync flush ends with these bytes; the extension strips and re-adds them.
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

function settings(over: Partial<DeflatePortSettings> = {}): DeflatePortSettings {
  return {
    deflateWindowBits: 15,
    level: 6,
    memLevel: 8,
    deflateTakeover: true,
    inflateWindowBits: 15,
    inflateTakeover: true,
    maxOutput: Number.POSITIVE_INFINITY,
    concurrencyLimit: undefined,
    ...over,
  };
}

function run<T>(start: (cb: (error: Error | null, out?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    start((error, out) => (error === null ? resolve(out as T) : reject(error)));
  });
}

/** A message as a peer sends it: raw DEFLATE with a sync flush, the tail removed. */
function peerMessage(text: string): Buffer {
  const flushed = deflateRawSync(Buffer.from(text), { finishFlush: 2 /* Z_SYNC_FLUSH */ });
  assert.ok(flushed.subarray(-4).equals(TAIL));
  return flushed.subarray(0, -4);
}

describe('nodeDeflatePort (the binding’s zlib work for permessage-deflate)', () => {
  it('deflate ends each message with a sync flush that raw inflate reads back', async (t) => {
    const port = nodeDeflatePort(settings());
    t.after(() => port.close());
    const text = 'hello '.repeat(100);
    const out = await run<Buffer>((cb) => port.deflate(Buffer.from(text), true, cb));
    assert.ok(out.subarray(-4).equals(TAIL), 'ends with 00 00 ff ff');
    assert.ok(out.length < text.length, 'compressed');
    assert.equal(inflateRawSync(out, { finishFlush: 2 }).toString(), text);
  });

  it('inflate reads a peer’s message (data, then the tail put back)', async (t) => {
    const port = nodeDeflatePort(settings());
    t.after(() => port.close());
    const got = await run<Buffer>((cb) => port.inflate(peerMessage('ping pong'), TAIL, cb));
    assert.equal(got.toString(), 'ping pong');
  });

  it('with context takeover a second message may refer back to the first', async (t) => {
    const port = nodeDeflatePort(settings());
    t.after(() => port.close());
    const a = await run<Buffer>((cb) => port.deflate(Buffer.from('abcdefgh'.repeat(20)), true, cb));
    const b = await run<Buffer>((cb) => port.deflate(Buffer.from('abcdefgh'.repeat(20)), true, cb));
    assert.ok(b.length < a.length, 'the second one uses the shared window');
  });

  it('past maxOutput: a PeerError with 1009, and the port goes on with the next message', async (t) => {
    const port = nodeDeflatePort(settings({ maxOutput: 1000, inflateTakeover: false }));
    t.after(() => port.close());
    const bomb = peerMessage('x'.repeat(100_000));
    await assert.rejects(
      run<Buffer>((cb) => port.inflate(bomb, TAIL, cb)),
      (error: unknown) => error instanceof PeerError && error.closeCode === 1009,
    );
    const got = await run<Buffer>((cb) => port.inflate(peerMessage('small'), TAIL, cb));
    assert.equal(got.toString(), 'small');
  });

  it('invalid DEFLATE data: a PeerError with 1007', async (t) => {
    const port = nodeDeflatePort(settings());
    t.after(() => port.close());
    await assert.rejects(
      run<Buffer>((cb) => port.inflate(Buffer.from([0xff, 0xff, 0xff, 0xff]), TAIL, cb)),
      (error: unknown) => error instanceof PeerError && error.closeCode === 1007,
    );
  });

  it('charges its output to the budget, waits on BUDGET_WAIT until resumeInflate(), fails on BUDGET_REFUSE', async (t) => {
    const port = nodeDeflatePort(settings({ inflateTakeover: false }));
    t.after(() => port.close());
    const big = 'y'.repeat(300_000);
    const answers: BudgetVerdict[] = [BUDGET_WAIT];
    let grown = 0;
    let started = 0;
    const budget: DecodeBudget = {
      started: () => started++,
      grow: (bytes) => {
        grown += bytes;
        return answers.shift() ?? BUDGET_OK;
      },
      end: () => {},
    };
    let done = false;
    const result = run<Buffer>((cb) =>
      port.inflate(
        peerMessage(big),
        TAIL,
        (e, out) => {
          done = true;
          cb(e, out);
        },
        budget,
      ),
    );
    while (grown === 0) await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(done, false, 'held by the budget');
    assert.equal(started, 1);
    port.resumeInflate();
    assert.equal((await result).length, big.length);
    assert.equal(grown, big.length, 'every output byte charged');

    const refusing: DecodeBudget = { started: () => {}, grow: () => BUDGET_REFUSE, end: () => {} };
    await assert.rejects(
      run<Buffer>((cb) => port.inflate(peerMessage(big), TAIL, cb, refusing)),
      (error: unknown) => error instanceof PeerError && error.closeCode === 1009,
    );
  });

  it('without context takeover the compressed bytes are shared by a group, and close() fails later work', async () => {
    const port = nodeDeflatePort(settings({ deflateTakeover: false }));
    const other = nodeDeflatePort(settings({ deflateTakeover: false }));
    assert.ok(port.shared !== undefined);
    assert.equal(port.shared.key, other.shared!.key, 'same settings, same group');
    const own = nodeDeflatePort(settings());
    assert.equal(own.shared, undefined, 'with takeover: none');
    own.close();
    other.close();
    port.close();
    await assert.rejects(run<Buffer>((cb) => port.deflate(Buffer.from('late'), true, cb)));
  });
});
