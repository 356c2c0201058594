// Workers (several cores), two quick measures; `npm run build` first.
//   node bench/workers.mjs echo N PORT   a WorkerPool of N standalone tsws echo servers (fast
//                                        path) on 127.0.0.1:PORT, for wsload; on SIGTERM each
//                                        worker prints how many connections it accepted
//   node bench/workers.mjs relay [local] a cross-worker publish: worker 1 publishes N messages
//                                        of SIZE bytes (env N, SIZE; 500 a turn), worker 2
//                                        (subscribed) counts them: deliveries/s; `local`: the
//                                        same through LocalAdapter in one process
import {
  LocalAdapter,
  WebSocketServer,
  WorkerAdapter,
  WorkerPool,
  workerId,
} from '../dist/index.js';

const [mode, a1, a2] = process.argv.slice(2);
const id = workerId();

if (mode === 'echo') {
  if (id === undefined) {
    const pool = new WorkerPool({ workers: Number(a1) });
    await pool.listen(Number(a2), '127.0.0.1');
    pool.start();
    await pool.ready();
    console.log(`READY ${a2}`);
    process.once('SIGTERM', () => pool.stop());
  } else {
    const wss = new WebSocketServer({ port: Number(a2), host: '127.0.0.1', heartbeat: false });
    let accepted = 0;
    wss.on('connection', (ws) => {
      accepted++;
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
    process.once('SIGTERM', () => {
      console.log(`worker ${id} accepted ${accepted}`);
      wss.close();
    });
    process.once('disconnect', () => wss.close());
  }
} else if (mode === 'relay') {
  const N = Number(process.env.N ?? 200_000);
  const SIZE = Number(process.env.SIZE ?? 64);
  const msg = { topic: 't', data: Buffer.alloc(SIZE, 97), binary: false, compress: false };
  const publish = (adapter) => {
    let sent = 0;
    const step = () => {
      for (let i = 0; i < 500 && sent < N; i++, sent++) adapter.publish(msg, undefined);
      if (sent < N) setImmediate(step);
    };
    step();
  };
  const report = (where, t0) => {
    const rate = Math.round(N / ((performance.now() - t0) / 1000));
    console.log(`${where}: ${rate} deliveries/s (${N} x ${SIZE} B, ${process.version})`);
  };
  if (a1 === 'local') {
    let count = 0;
    const adapter = new LocalAdapter();
    const t0 = performance.now();
    adapter.start({
      deliver: () => ++count === N && report('in one process', t0),
      undelivered() {},
    });
    adapter.subscribe('t');
    publish(adapter);
  } else if (id === undefined) {
    const pool = new WorkerPool({ workers: 2 });
    pool.on('exit', (worker) => worker === 2 && pool.stop());
    pool.start();
  } else {
    const adapter = new WorkerAdapter();
    let count = 0;
    let t0 = 0;
    adapter.start({
      deliver(d) {
        if (d.topic === 'go') {
          if (id === 1) publish(adapter);
        } else if (id === 2) {
          if (count === 0) t0 = performance.now();
          if (++count === N) {
            report('across workers', t0);
            process.exit(0);
          }
        }
      },
      undelivered: (r) => console.log('undelivered', r.reason),
    });
    adapter.subscribe('t');
    adapter.subscribe('go');
    if (id === 1) process.once('SIGTERM', () => process.exit(0));
    // Once both subscriptions are live, worker 2 says go.
    if (id === 2) setTimeout(() => adapter.publish({ ...msg, topic: 'go' }, undefined), 300);
  }
} else {
  console.error('usage: node bench/workers.mjs echo N PORT | relay [local]');
  process.exit(2);
}
