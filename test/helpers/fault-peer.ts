/**
 * A tsws peer in its own process, for fault tests that stop, kill or cut off one side
 * (SIGSTOP, SIGKILL, a network namespace whose link goes down). It prints one JSON event per
 * line on stdout and takes one JSON command per line on stdin.
 *
 *   node fault-peer.js server HOST [INTERVAL,MISSED]   listens on HOST and a free port
 *   node fault-peer.js client URL [INTERVAL,MISSED]    connects to URL
 *
 * Events: {ev:'listening',port} {ev:'open'} {ev:'message',size,text?} {ev:'close',code,reason}
 * {ev:'sent'} (once a command's data is written). Commands: {op:'send',text} {op:'fragment',size} (the first
 * fragment of a message that never ends) {op:'big',size} (one binary message of `size` bytes).
 * Without a heartbeat argument the peer sends no pings.
 */
import { createInterface } from 'node:readline';
import { WebSocket, WebSocketServer } from '../../src/index.js';

type Command =
  | { op: 'send'; text: string }
  | { op: 'fragment'; size: number }
  | { op: 'big'; size: number };

const [role, target, beat] = process.argv.slice(2);
const heartbeat =
  beat === undefined
    ? (false as const)
    : { interval: Number(beat.split(',')[0]), maxMissed: Number(beat.split(',')[1]) };

function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

function drive(ws: WebSocket): void {
  ws.on('message', (data, isBinary) => {
    const bytes = data as Buffer;
    emit({ ev: 'message', size: bytes.length, text: isBinary ? undefined : bytes.toString() });
  });
  ws.on('close', (code, reason) => emit({ ev: 'close', code, reason: reason.toString() }));
  ws.on('error', () => {}); // the close event reports the outcome
  createInterface({ input: process.stdin }).on('line', (line) => {
    const command = JSON.parse(line) as Command;
    const sent = () => emit({ ev: 'sent' });
    if (command.op === 'send') ws.send(command.text, sent);
    else if (command.op === 'fragment')
      ws.send(Buffer.alloc(command.size, 0x61), { fin: false }, sent);
    else {
      // A peer that does not read never lets the whole of it out: report once writing began.
      ws.send(Buffer.alloc(command.size, 0x62));
      setImmediate(sent);
    }
  });
}

if (role === 'server') {
  const wss = new WebSocketServer({ port: 0, host: target, heartbeat }, () => {
    emit({ ev: 'listening', port: (wss.address() as { port: number }).port });
  });
  wss.on('connection', (ws) => {
    emit({ ev: 'open' });
    drive(ws);
  });
} else if (role === 'client') {
  const ws = new WebSocket(target!, { heartbeat });
  ws.on('open', () => emit({ ev: 'open' }));
  drive(ws);
} else {
  process.stderr.write('usage: fault-peer.js server HOST [MS,MISSED] | client URL [MS,MISSED]\n');
  process.exit(2);
}
