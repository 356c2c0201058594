import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  CloseCode,
  checkClose,
  checkControlPayload,
  ErrorCode,
  encodeClosePayload,
  isValidCloseCode,
  MAX_CLOSE_REASON_BYTES,
  PeerError,
  parseClosePayload,
  UsageError,
} from '../../src/protocol/index.js';
import { runs } from '../helpers/fuzz.js';

/** RFC 6455 §7.4.1-§7.4.2 and the IANA registry, written out. */
function referenceValid(code: number): boolean {
  if (code < 1000 || code > 4999) return false;
  if (code >= 3000) return true;
  return [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014].includes(code);
}

describe('close codes', () => {
  it('isValidCloseCode agrees with the RFC for every 16-bit code', () => {
    for (let code = 0; code <= 0xffff; code++) {
      assert.equal(isValidCloseCode(code), referenceValid(code), String(code));
    }
  });

  it('the reserved codes are never valid on the wire', () => {
    for (const code of [
      CloseCode.NoStatusReceived,
      CloseCode.AbnormalClosure,
      CloseCode.TlsHandshake,
      1004,
    ]) {
      assert.equal(isValidCloseCode(code), false);
    }
    assert.equal(MAX_CLOSE_REASON_BYTES, 123);
  });
});

describe('parseClosePayload', () => {
  it('an empty payload is 1005 with no reason', () => {
    const parsed = parseClosePayload(Buffer.alloc(0));
    assert.ok(!(parsed instanceof PeerError));
    assert.equal(parsed.code, 1005);
    assert.equal(parsed.reason.length, 0);
  });

  it('any payload: a code and reason exactly when the code is valid and the reason UTF-8', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 125 }),
          fc
            .tuple(
              fc.constantFrom(1000, 1005, 1006, 1015, 2999, 3000, 4999, 5000),
              fc.oneof(
                fc.string({ unit: 'binary', maxLength: 30 }).map((s) => Buffer.from(s)),
                fc.uint8Array({ maxLength: 5 }),
              ),
            )
            .map(([code, reason]) => {
              const b = Buffer.alloc(2 + reason.length);
              b.writeUInt16BE(code);
              b.set(reason, 2);
              return b;
            }),
        ),
        (bytes) => {
          const payload = Buffer.from(bytes);
          const parsed = parseClosePayload(payload);
          if (payload.length === 1) {
            assert.ok(parsed instanceof PeerError);
            assert.equal(parsed.code, ErrorCode.InvalidClosePayload);
            assert.equal(parsed.closeCode, 1002);
            return;
          }
          if (payload.length === 0) return;
          const code = payload.readUInt16BE(0);
          const reason = payload.subarray(2);
          if (!referenceValid(code)) {
            assert.ok(parsed instanceof PeerError);
            assert.equal(parsed.closeCode, 1002);
            assert.equal(parsed.code, ErrorCode.InvalidCloseCode);
          } else if (!Buffer.from(reason).equals(Buffer.from(reason.toString()))) {
            assert.ok(parsed instanceof PeerError);
            assert.equal(parsed.closeCode, 1007);
          } else {
            assert.ok(!(parsed instanceof PeerError));
            assert.equal(parsed.code, code);
            assert.deepEqual(parsed.reason, reason);
          }
        },
      ),
      { numRuns: runs(2000) },
    );
  });
});

describe('encodeClosePayload', () => {
  it('round-trips through parseClosePayload for every valid code and reason', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5100 }).filter(referenceValid),
        fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => Buffer.byteLength(s) <= 123),
        fc.boolean(),
        (code, reason, asBytes) => {
          const payload = encodeClosePayload(code, asBytes ? Buffer.from(reason) : reason);
          const parsed = parseClosePayload(payload);
          assert.ok(!(parsed instanceof PeerError));
          assert.equal(parsed.code, code);
          assert.equal(parsed.reason.toString(), reason);
        },
      ),
      { numRuns: runs(500) },
    );
  });

  it('throws UsageError for what may not be sent', () => {
    const bad: [number | undefined, string | Uint8Array | undefined, string][] = [
      [undefined, 'reason', ErrorCode.InvalidCloseCodeArgument],
      [1005, undefined, ErrorCode.InvalidCloseCodeArgument],
      [1006, '', ErrorCode.InvalidCloseCodeArgument],
      [1015, undefined, ErrorCode.InvalidCloseCodeArgument],
      [999, undefined, ErrorCode.InvalidCloseCodeArgument],
      [5000, undefined, ErrorCode.InvalidCloseCodeArgument],
      [1000.5, undefined, ErrorCode.InvalidCloseCodeArgument],
      [Number.NaN, undefined, ErrorCode.InvalidCloseCodeArgument],
      [1000, 'x'.repeat(124), ErrorCode.ReasonTooLong],
      [1000, new Uint8Array(124), ErrorCode.ReasonTooLong],
      [1000, '😀'.repeat(31), ErrorCode.ReasonTooLong],
    ];
    for (const [code, reason, errorCode] of bad) {
      for (const check of [encodeClosePayload, checkClose]) {
        assert.throws(
          () => check(code, reason),
          (e: unknown) => e instanceof UsageError && e.code === errorCode,
          `${check.name} ${code} ${reason}`,
        );
      }
    }
    // checkClose (what the binding calls before a close waits in its queue) gives the reason's bytes.
    assert.equal(checkClose(), 0);
    assert.equal(checkClose(4999, '😀'.repeat(30)), 120);
    assert.equal(checkClose(1000, Buffer.from('ok')), 2);
    assert.equal(encodeClosePayload().length, 0);
    assert.equal(encodeClosePayload(undefined, '').length, 0);
    assert.equal(encodeClosePayload(4999, '😀'.repeat(30)).length, 122);
  });
});

describe('checkControlPayload', () => {
  it('allows 125 bytes and refuses 126 with WS_ERR_CONTROL_PAYLOAD_TOO_LONG (RFC 6455 §5.5)', () => {
    checkControlPayload(0);
    checkControlPayload(125);
    assert.throws(
      () => checkControlPayload(126),
      (e: unknown) => e instanceof UsageError && e.code === ErrorCode.ControlPayloadTooLong,
    );
  });
});
