import assert from 'node:assert/strict';
import { it } from 'node:test';
import { defer, turns, until } from '../../helpers/node-util.js';
import {
  fillUntilNeedDrain,
  letIoRun,
  numbered,
  type Opener,
  peerWrite,
  SLOW,
} from './transport-harness.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Where the two transports differ, as their comments document it. */
export interface TransportTraits {
  /**
   * What the callback of a write still queued when `destroy()` is called receives: TcpTransport
   * reports the cancelled write as an error; Node streams call back in-flight writes of a
   * destroyed socket without one (socket-send.ts turns those into failures).
   */
  inFlightOnDestroy: 'error' | 'error-or-null';
  /** Known deviations from the contract: the reason, reported as a todo test. */
  todo?: { headWhilePaused?: string; drainAfterEnd?: string };
}

/**
 * What every Transport does (transport.ts), checked over real loopback TCP. Called inside a
 * describe() of each transport's test file.
 */
export function transportContract(open: Opener, traits: TransportTraits): void {
  it('delivers the head first, after start() returned, then what the peer sends', async (t) => {
    const head = Buffer.from('head-bytes');
    const { sink, peer, duringStart } = await open(t, { head });
    assert.equal(duringStart, 0, 'no sink call inside start()');
    await sink.untilReceived(head.length);
    await peerWrite(peer, 'after');
    await sink.untilReceived(head.length + 5);
    assert.equal(sink.data().toString(), 'head-bytesafter');
    assert.equal(sink.borrowed[0], false, 'the head is owned by the sink');
  });

  it('pause() right after start() holds the head too, until resume()', {
    todo: traits.todo?.headWhilePaused,
  }, async (t) => {
    const head = Buffer.from('early');
    const { transport, sink } = await open(t, { head, pauseAtStart: true });
    await letIoRun();
    assert.deepEqual(sink.events, [], 'nothing delivered while paused');
    transport.resume();
    await sink.untilReceived(head.length);
    assert.equal(sink.data().toString(), 'early');
  });

  it('delivers many small writes in order and complete', async (t) => {
    const { sink, peer } = await open(t);
    const pieces = numbered(2000, 37);
    for (const piece of pieces) peer.write(piece);
    const expected = Buffer.concat(pieces);
    await sink.untilReceived(expected.length);
    assert.ok(sink.data().equals(expected));
  });

  it('delivers a large payload complete (many reads), and writes one complete', async (t) => {
    const { transport, sink, peer, reader } = await open(t);
    const big = Buffer.concat(numbered(8 * 1024, KiB));
    peer.write(big);
    await sink.untilReceived(big.length);
    assert.ok(sink.data().equals(big), 'the bytes as sent');
    assert.ok(sink.count('data') > 1, 'over several reads');
    let called = 0;
    transport.write([big], (error) => {
      assert.equal(error ?? null, null);
      called++;
    });
    await reader.untilReceived(big.length);
    assert.ok(reader.data().equals(big));
    await until(() => called === 1, 'the write callback', SLOW);
  });

  it('calls every write callback once, in order, without error', async (t) => {
    const { transport, reader } = await open(t);
    const pieces = numbered(500, 100);
    const calls: [number, unknown][] = [];
    pieces.forEach((piece, i) => {
      transport.write([piece], (error) => calls.push([i, error ?? null]));
    });
    await reader.untilReceived(500 * 100);
    assert.ok(reader.data().equals(Buffer.concat(pieces)));
    await until(() => calls.length === 500, 'all callbacks', SLOW);
    await letIoRun();
    assert.deepEqual(
      calls,
      pieces.map((_, i) => [i, null]),
    );
  });

  it('writes several chunks in order, with one callback (writev)', async (t) => {
    const { transport, reader } = await open(t);
    const chunks = [Buffer.from('one,'), Buffer.alloc(100_000, 0x62), Buffer.from(',three')];
    let calls = 0;
    transport.write(chunks, () => calls++);
    transport.write([Buffer.from('|next')], undefined);
    const expected = Buffer.concat([...chunks, Buffer.from('|next')]);
    await reader.untilReceived(expected.length);
    assert.ok(reader.data().equals(expected));
    await until(() => calls === 1, 'the writev callback', SLOW);
    await letIoRun();
    assert.equal(calls, 1);
  });

  it('pause() stops delivery; bytes sent meanwhile arrive after resume(), none lost', async (t) => {
    const { transport, sink, peer } = await open(t);
    await peerWrite(peer, 'before');
    await sink.untilReceived(6);
    transport.pause();
    transport.pause(); // twice is harmless
    const held = Buffer.concat(numbered(256, KiB));
    await peerWrite(peer, held);
    await letIoRun();
    assert.equal(sink.received, 6, 'nothing delivered while paused');
    transport.resume();
    await sink.untilReceived(6 + held.length);
    assert.ok(sink.data().equals(Buffer.concat([Buffer.from('before'), held])));
    // Paused and resumed again: delivery goes on.
    transport.pause();
    transport.resume();
    transport.resume();
    await peerWrite(peer, 'later');
    await sink.untilReceived(6 + held.length + 5);
    assert.equal(sink.data().subarray(-5).toString(), 'later');
  });

  it("pause() holds the peer's FIN too: end comes after resume(), after the data", async (t) => {
    const { transport, sink, peer } = await open(t);
    transport.pause();
    await peerWrite(peer, 'last words');
    peer.end();
    await letIoRun();
    assert.deepEqual(sink.events, [], 'nothing while paused');
    transport.resume();
    await sink.untilEvent('end');
    assert.equal(sink.data().toString(), 'last words');
    assert.deepEqual(sink.events.at(-1), 'end');
  });

  it('reports needDrain over the high-water mark, then drains once the peer reads', async (t) => {
    const { transport, sink, peer, reader } = await open(t);
    peer.pause();
    const written = fillUntilNeedDrain(transport);
    assert.ok(transport.needDrain);
    assert.ok(transport.bufferedAmount > 16 * KiB, `bufferedAmount ${transport.bufferedAmount}`);
    assert.ok(transport.bufferedAmount <= written);
    let atDrain: { needDrain: boolean; buffered: number } | undefined;
    sink.onEvent = (event) => {
      if (event === 'drain' && atDrain === undefined) {
        atDrain = { needDrain: transport.needDrain, buffered: transport.bufferedAmount };
      }
    };
    await letIoRun();
    assert.equal(sink.count('drain'), 0, 'no drain while the peer reads nothing');
    peer.resume();
    await sink.untilEvent('drain');
    assert.equal(atDrain!.needDrain, false, 'no longer over the mark at drain');
    assert.ok(atDrain!.buffered <= 16 * KiB, `bufferedAmount ${atDrain!.buffered} at drain`);
    await reader.untilReceived(written);
    assert.equal(transport.bufferedAmount, 0);
  });

  it('requestDrain() with nothing queued: one drain, on a later tick', async (t) => {
    const { transport, sink } = await open(t);
    transport.requestDrain();
    assert.equal(sink.count('drain'), 0, 'not synchronously');
    await sink.untilEvent('drain');
    await letIoRun();
    assert.equal(sink.count('drain'), 1);
  });

  it('requestDrain() while backed up: one drain once the queue went down', async (t) => {
    const { transport, sink, peer, reader } = await open(t);
    peer.pause();
    const written = fillUntilNeedDrain(transport);
    transport.requestDrain();
    transport.requestDrain();
    await turns(5);
    assert.equal(sink.count('drain'), 0);
    peer.resume();
    await reader.untilReceived(written);
    await sink.untilEvent('drain');
    await letIoRun();
    assert.equal(sink.count('drain'), 1);
  });

  it('requestDrain() after end(): one drain once the queued bytes are written', {
    todo: traits.todo?.drainAfterEnd,
  }, async (t) => {
    const { transport, sink, peer, reader } = await open(t);
    peer.pause();
    const written = fillUntilNeedDrain(transport);
    transport.end();
    transport.requestDrain();
    peer.resume();
    await reader.untilReceived(written);
    await reader.untilEnded();
    // Every write completed before the FIN went: the drain is due by now.
    await letIoRun();
    assert.equal(sink.count('drain'), 1);
  });

  it('end() half-closes: the peer sees EOF after the queued bytes, and we still read', async (t) => {
    const { transport, sink, peer, reader } = await open(t);
    const last = Buffer.alloc(512 * KiB, 0x6c);
    transport.write([last], undefined);
    transport.end();
    transport.end(); // twice is harmless
    assert.equal(transport.writable, false);
    await reader.untilEnded();
    assert.ok(reader.data().equals(last), 'every queued byte went before the FIN');
    await peerWrite(peer, 'still reading');
    await sink.untilReceived(13);
    assert.equal(sink.data().toString(), 'still reading');
    assert.deepEqual(sink.lifecycle(), []);
    peer.end();
    await sink.untilEvent('close');
    assert.deepEqual(sink.lifecycle(), ['end', 'close']);
  });

  it('a write after end() calls back with an error', async (t) => {
    const { transport } = await open(t);
    transport.end();
    const error = await new Promise<unknown>((resolve) =>
      transport.write([Buffer.from('late')], resolve),
    );
    assert.ok(error instanceof Error, `the callback got ${String(error)}`);
  });

  it("the peer's FIN: end, we may still write, then end() leads to close", async (t) => {
    const { transport, sink, peer, reader } = await open(t);
    await peerWrite(peer, 'bye');
    peer.end();
    await sink.untilEvent('end');
    assert.equal(sink.data().toString(), 'bye', 'the data came before the end');
    assert.equal(transport.writable, true, 'half-open: our side still writes');
    transport.write([Buffer.from('answer')], undefined);
    await reader.untilReceived(6);
    assert.equal(reader.data().toString(), 'answer');
    assert.deepEqual(sink.lifecycle(), ['end'], 'no close before we end');
    transport.end();
    await sink.untilEvent('close');
    await reader.untilEnded();
    await letIoRun();
    assert.deepEqual(sink.lifecycle(), ['end', 'close']);
    assert.equal(transport.destroyed, true);
  });

  it("the peer's reset: close once, no end", async (t) => {
    const { transport, sink, peer } = await open(t);
    await peerWrite(peer, 'x');
    await sink.untilReceived(1);
    peer.resetAndDestroy();
    await sink.untilEvent('close');
    await letIoRun();
    assert.deepEqual(sink.lifecycle(), ['close']);
    assert.equal(transport.destroyed, true);
    assert.equal(transport.writable, false);
  });

  it('destroy() is idempotent: one close; the peer sees the connection go', async (t) => {
    const { transport, sink, reader } = await open(t);
    transport.destroy();
    transport.destroy();
    assert.equal(transport.destroyed, true);
    assert.equal(transport.writable, false);
    await sink.untilEvent('close');
    transport.destroy();
    // The peer allows half-open connections: it sees EOF (or a reset), then stays open.
    await until(() => reader.ended || reader.closed, 'the peer to see the connection go', SLOW);
    await letIoRun();
    assert.deepEqual(sink.lifecycle(), ['close']);
  });

  it('after close: no sink call; a write calls back with an error', async (t) => {
    const { transport, sink, peer } = await open(t);
    transport.destroy();
    await sink.untilEvent('close');
    const before = sink.events.length;
    let writeError: unknown = 'not called';
    transport.write([Buffer.from('late')], (error) => {
      writeError = error;
    });
    assert.equal(writeError, 'not called', 'the callback is not synchronous');
    transport.pause();
    transport.resume();
    transport.requestDrain();
    transport.end();
    transport.destroy();
    peer.write('ignored');
    await until(() => writeError !== 'not called', 'the late write callback', SLOW);
    assert.ok((writeError as unknown) instanceof Error, `the callback got ${String(writeError)}`);
    await letIoRun();
    assert.equal(sink.events.length, before, `events after close: ${sink.events.slice(before)}`);
  });

  it('destroy() with writes queued: each callback once, close once, no drain after', async (t) => {
    const { transport, sink, peer } = await open(t);
    peer.pause();
    defer(t, () => peer.destroy());
    const results: unknown[] = [];
    // More than the kernel's loopback buffers hold: most of it waits in the transport.
    const chunk = Buffer.alloc(MiB, 0x71);
    const n = 32;
    for (let i = 0; i < n; i++) transport.write([chunk], (error) => results.push(error ?? null));
    await letIoRun();
    assert.ok(transport.needDrain, 'writes are queued');
    transport.destroy();
    await sink.untilEvent('close');
    await until(() => results.length >= n, `${n} write callbacks (got ${results.length})`, SLOW);
    await letIoRun();
    assert.equal(results.length, n, 'each callback exactly once');
    assert.equal(transport.bufferedAmount, 0, 'nothing left to write once closed');
    assert.equal(transport.needDrain, false);
    assert.deepEqual(sink.lifecycle(), ['close']);
    const failed = results.filter((r) => r instanceof Error).length;
    assert.ok(failed >= 1, 'the queued writes report that they were not written');
    if (traits.inFlightOnDestroy === 'error') {
      // The writes that completed before destroy() got null; all later ones an error, in order.
      const firstError = results.findIndex((r) => r instanceof Error);
      assert.ok(results.slice(firstError).every((r) => r instanceof Error));
    }
  });
}
