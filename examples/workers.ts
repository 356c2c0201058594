// Several cores: N worker processes serve one port, each with the standalone server's fast
// path, and share topics through the primary (no Redis, one machine). The primary binds the
// port once and hands it to every worker; `new WebSocketServer({ port })` in a worker takes it.
// Run: npm run build:examples && node build/examples/workers.js
import { once } from 'node:events';
import { WebSocket, WebSocketServer, WorkerAdapter, WorkerPool, workerId } from 'tsws';

const id = workerId();
if (id !== undefined) {
  // A worker: the same code as a single process, with the WorkerAdapter for topics.
  const port = Number(process.env.PORT);
  const wss = new WebSocketServer({
    port,
    host: '127.0.0.1',
    pubsub: { adapter: new WorkerAdapter() },
  });
  wss.on('connection', (ws) => {
    ws.send(`worker ${id} pid ${process.pid}`);
    ws.subscribe('room');
    ws.on('message', (data) => wss.publish('room', String(data)));
  });
  // SIGTERM from the pool: every connection gets 1001, then the process ends by itself.
  const stop = () => wss.close();
  process.once('SIGTERM', stop);
  process.once('disconnect', stop); // the primary is gone
} else {
  // The primary: binds the port, starts two workers, stops them on SIGTERM or SIGINT.
  const pool = new WorkerPool({ workers: 2 });
  const port = await pool.listen(0, '127.0.0.1');
  process.env.PORT = String(port);
  pool.start();
  await pool.ready(); // both workers accept
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => pool.stop());

  // A demo client side: connect until both workers hold a connection.
  const byWorker = new Map<string, { ws: WebSocket; got: string[]; heard: boolean }>();
  while (byWorker.size < 2) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    const [hello] = await once(ws, 'message');
    const worker = String(hello).split(' pid')[0]!;
    if (byWorker.has(worker)) {
      ws.close();
      continue;
    }
    const entry = { ws, got: [] as string[], heard: false };
    ws.on('message', (data) => {
      if (String(data) === 'probe') entry.heard = true;
      else entry.got.push(String(data));
    });
    byWorker.set(worker, entry);
  }
  console.log(`workers: ${[...byWorker.keys()].sort().join(', ')}`);
  const [a, b] = [byWorker.get('worker 1')!, byWorker.get('worker 2')!];
  // A subscription made in a worker is live once the primary has it (a round trip, as with
  // Redis): probe until worker 2's subscriber hears worker 1.
  while (!b.heard) {
    a.ws.send('probe');
    await new Promise((r) => setTimeout(r, 20));
  }
  // Published on worker 1, delivered on both, in order, once each.
  for (let i = 1; i <= 3; i++) a.ws.send(`message ${i}`);
  while (a.got.length < 3 || b.got.length < 3) await new Promise((r) => setTimeout(r, 10));
  console.log(`worker 1 got: ${a.got.join(', ')}`);
  console.log(`worker 2 got: ${b.got.join(', ')}`);
  const closes = [a, b].map(({ ws }) => once(ws, 'close'));
  const result = await pool.stop();
  for (const [code] of await Promise.all(closes)) console.log(`client closed ${code}`);
  console.log(`pool ${result.reason}, clean: ${result.clean}`);
}
