import { ErrorCode, UsageError } from '../../protocol/index.js';

/** Sending (or a send still queued) on a connection that is closing or closed: local misuse. */
export function closedError(): UsageError {
  return new UsageError(
    ErrorCode.InvalidState,
    'WebSocket is not open: readyState 2+ (CLOSING or CLOSED)',
  );
}
