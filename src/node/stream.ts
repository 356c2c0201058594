import { Duplex, type DuplexOptions } from 'node:stream';
import { WebSocket } from './websocket.js';

/**
 * Wraps a WebSocket in a Duplex stream, as ws's `createWebSocketStream` does: what is written
 * is sent as messages, messages received are read as chunks, and the stream's backpressure
 * pauses reading from the peer. Ending the writable side closes the WebSocket (1000).
 */
export function createWebSocketStream(ws: WebSocket, options: DuplexOptions = {}): Duplex {
  let resumeOnRead = false;
  let terminateOnDestroy = true;

  const duplex = new Duplex({
    ...options,
    autoDestroy: false,
    emitClose: false,
    objectMode: false,
    writableObjectMode: false,
    read() {
      if (resumeOnRead) {
        resumeOnRead = false;
        ws.resume();
      }
    },
    write(chunk: Buffer | string, _encoding, callback) {
      if (ws.readyState === WebSocket.CONNECTING) {
        ws.once('open', () => duplex._write(chunk, _encoding, callback));
        return;
      }
      ws.send(chunk, callback);
    },
    final(callback) {
      if (ws.readyState === WebSocket.CONNECTING) {
        ws.once('open', () => duplex._final(callback));
        return;
      }
      if (ws.readyState === WebSocket.CLOSED) {
        callback();
        return;
      }
      ws.once('close', () => callback());
      ws.close(1000);
    },
    destroy(error, callback) {
      if (ws.readyState === WebSocket.CLOSED) {
        callback(error);
        return;
      }
      ws.once('close', () => callback(error));
      if (terminateOnDestroy) ws.terminate();
    },
  });

  ws.on('message', (data, isBinary) => {
    const chunk = !isBinary && duplex.readableObjectMode ? (data as Buffer).toString() : data;
    if (!duplex.push(chunk)) {
      resumeOnRead = true;
      ws.pause();
    }
  });
  ws.on('error', (error) => {
    if (duplex.destroyed) return;
    terminateOnDestroy = false;
    duplex.destroy(error);
  });
  ws.once('close', () => {
    if (duplex.destroyed) return;
    duplex.push(null);
    duplex.emit('close');
  });
  return duplex;
}
