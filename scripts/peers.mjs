// The real peers some suites test against, from Debian: found, installed (as root, with apt),
// or named as missing with what they would have tested, so run-tests.mjs skips those suites.
// TSWS_HIDE_PEERS=chromium,redis-server,... pretends peers are missing (to check this path on
// a prepared machine); TSWS_NO_INSTALL=1 names missing peers without installing them.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';

/** Each peer: its Debian package, how to tell it is there, and the test files that need it. */
export const PEERS = [
  {
    name: 'chromium',
    tests: 'the browser suites (the WHATWG API against Chromium, the demo page, browser chat)',
    files: ['browser/'],
    present: () => existsSync('/usr/bin/chromium'),
  },
  {
    name: 'python3-websockets',
    tests: 'interop with python-websockets (and its permessage-deflate)',
    files: ['interop/python.test.js', 'interop/deflate.test.js'],
    present: () =>
      spawnSync('/usr/bin/python3', ['-c', 'import websockets'], { stdio: 'ignore' }).status === 0,
  },
  {
    name: 'iproute2',
    tests: 'the network fault tests (links cut between network namespaces)',
    files: ['node/faults.test.js'],
    present: () => spawnSync('ip', ['-V'], { stdio: 'ignore' }).status === 0,
  },
  {
    name: 'redis-server',
    tests: 'pub/sub through Redis (the adapter, serve --chat --redis, the pubsub-redis example)',
    files: ['pubsub/redis/', 'cli/chat.test.js', 'browser/chat.test.js'],
    present: () => existsSync('/usr/bin/redis-server'),
  },
  {
    // redis-server depends on it in Debian; named so that a missing redis-cli is installed.
    name: 'redis-tools',
    tests: 'the Redis Cluster adapter (a cluster made with redis-cli --cluster create)',
    files: ['pubsub/redis/redis-cluster-adapter.test.js'],
    present: () => existsSync('/usr/bin/redis-cli'),
  },
];

const hidden = new Set((process.env.TSWS_HIDE_PEERS ?? '').split(',').filter(Boolean));

/** Answers PING at 127.0.0.1:6379? */
function redisAnswers() {
  return new Promise((resolve) => {
    const socket = connect(6379, '127.0.0.1');
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

function install(names) {
  const root = process.getuid?.() === 0;
  const apt = spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!root || !apt || process.env.TSWS_NO_INSTALL) {
    const why = process.env.TSWS_NO_INSTALL
      ? 'TSWS_NO_INSTALL is set'
      : !root
        ? 'not root'
        : 'no apt-get';
    console.log(`peers: not installing ${names.join(', ')} (${why})`);
    return;
  }
  console.log(`peers: installing from Debian: ${names.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args) => spawnSync('apt-get', args, { stdio: 'inherit', env }).status === 0;
  if (
    !run(['update', '-qq']) ||
    !run(['install', '-y', '-qq', '--no-install-recommends', ...names])
  ) {
    console.log('peers: apt-get failed; the suites of the missing peers are skipped');
  }
}

/**
 * Finds the peers, installs the missing ones when it can, starts the shared Redis at
 * 127.0.0.1:6379 if it is not running, and returns the peers still missing, each with why.
 */
export async function preparePeers() {
  const isThere = (peer) => !hidden.has(peer.name) && peer.present();
  const absent = PEERS.filter((peer) => !isThere(peer));
  const installable = absent.filter((peer) => !hidden.has(peer.name));
  if (installable.length > 0) install(installable.map((peer) => peer.name));
  const missing = [];
  for (const peer of PEERS) {
    if (hidden.has(peer.name)) missing.push({ ...peer, why: 'hidden by TSWS_HIDE_PEERS' });
    else if (!peer.present()) missing.push({ ...peer, why: 'not installed' });
  }
  // The shared Redis the pub/sub suites use (the restart tests start private ones).
  const redis = PEERS.find((peer) => peer.name === 'redis-server');
  if (
    !missing.some((peer) => peer === redis || peer.name === redis.name) &&
    !(await redisAnswers())
  ) {
    console.log('peers: starting redis-server on 127.0.0.1:6379');
    spawnSync('/usr/bin/redis-server', [
      ...['--daemonize', 'yes', '--bind', '127.0.0.1', '--port', '6379'],
      ...['--save', '', '--appendonly', 'no'],
    ]);
    for (let i = 0; i < 50 && !(await redisAnswers()); i++)
      await new Promise((r) => setTimeout(r, 100));
    if (!(await redisAnswers()))
      missing.push({ ...redis, why: 'nothing answers at 127.0.0.1:6379' });
  }
  return missing;
}
