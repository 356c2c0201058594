// A worker for worker-pool.test.ts, by POOL_MODE: `serve` (a standalone server on port 0, the
// pool's socket for port 0, that tells each connection its pid and whether it runs on the fast
// path), `crash` (exits 1 at once), `stubborn` (serves, and ignores SIGTERM).
import { WebSocketServer } from '../../../src/index.js';

const mode = process.env.POOL_MODE;
if (mode === 'crash') process.exit(1);
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
wss.on('connection', (ws) => {
  const fast = (wss as unknown as { _listener?: unknown })._listener !== undefined;
  ws.send(JSON.stringify({ pid: process.pid, fast }));
});
const stop = () => wss.close();
if (mode === 'stubborn') process.on('SIGTERM', () => {});
else process.once('SIGTERM', stop);
// Left registered on purpose: the channel does not keep a worker alive once it listens.
process.once('disconnect', stop);
