import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '../helpers/process.js';

// The package as a user gets it: `npm pack` (of the dist that `npm test` has just built), the
// tarball installed into an empty project, then used from there the ways the README says.

const exec = promisify(execFile);
const EXPORTS = ['tsws', 'tsws/whatwg', 'tsws/protocol', 'tsws/handshake', 'tsws/redis'];
const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');

/** Runs a command in `cwd`; resolves with stdout and stderr, rejects with both on failure. */
async function sh(cwd: string, file: string, args: string[]) {
  try {
    return await exec(file, args, {
      cwd,
      env: { ...process.env, npm_config_update_notifier: 'false' },
    });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${file} ${args.join(' ')} failed:\n${stdout}\n${stderr}`);
  }
}

describe('the packed package, installed into an empty project', () => {
  let dir: string;
  let project: string;
  let files: string[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsws-package-'));
    project = join(dir, 'project');
    mkdirSync(project);
    // --ignore-scripts: pack the dist just built (prepack would clean and build it again).
    const { stdout } = await sh(repoRoot, 'npm', [
      'pack',
      '--json',
      '--ignore-scripts',
      '--pack-destination',
      dir,
    ]);
    const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    files = packed!.files.map((f) => f.path);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }),
    );
    // tsws has no dependencies (ioredis is an optional peer), so nothing comes from the network.
    await sh(project, 'npm', [
      'install',
      '--offline',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      join(dir, packed!.filename),
    ]);
    // tsws/redis needs the ioredis peer, which a user of it installs; this one is the repo's.
    symlinkSync(
      join(repoRoot, 'node_modules', 'ioredis'),
      join(project, 'node_modules', 'ioredis'),
    );
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('contains what a user needs and nothing else', () => {
    for (const needed of [
      'package.json',
      'README.md',
      'LICENSE',
      'dist/index.js',
      'dist/index.d.ts',
    ]) {
      assert.ok(files.includes(needed), needed);
    }
    assert.ok(files.includes('dist/cli/main.js'), 'the CLI');
    const stray = files.filter(
      (f) => !/^(dist|docs)\//.test(f) && !['package.json', 'README.md', 'LICENSE'].includes(f),
    );
    assert.deepEqual(stray, [], 'only dist, docs, the README, the licence and package.json');
    assert.deepEqual(
      files.filter(
        (f) =>
          /(^|\/)(test|bench|examples)\/|\.map$|\.test\.|\.ts$/.test(f) && !f.endsWith('.d.ts'),
      ),
      [],
      'no tests, benchmarks, examples, sources or source maps',
    );
  });

  it('its declarations leave internal members out (stripInternal)', () => {
    const dts = files.filter((f) => f.endsWith('.d.ts'));
    for (const file of dts) {
      const text = readFileSync(join(project, 'node_modules', 'tsws', file), 'utf8');
      assert.doesNotMatch(text, /@internal/, file);
    }
  });

  it('every export imports from ESM', async () => {
    const script = EXPORTS.map((name, i) => `import * as m${i} from '${name}';`).join('\n');
    writeFileSync(
      join(project, 'esm.mjs'),
      `${script}\nconsole.log([${EXPORTS.map((_, i) => `Object.keys(m${i}).length`).join(', ')}].join(' '));\n`,
    );
    const { stdout, stderr } = await sh(project, process.execPath, ['esm.mjs']);
    assert.equal(stderr, '');
    for (const count of stdout.trim().split(' ')) assert.ok(Number(count) > 0, stdout);
  });

  it('every export loads with require() (require(esm): Node ^20.19 or >=22.12)', async () => {
    writeFileSync(
      join(project, 'cjs.cjs'),
      `const names = ${JSON.stringify(EXPORTS)};\n` +
        `console.log(names.map((n) => Object.keys(require(n)).length).join(' '));\n` +
        `const { WebSocket, WebSocketServer } = require('tsws');\n` +
        `if (typeof WebSocket !== 'function' || typeof WebSocketServer !== 'function') process.exit(3);\n`,
    );
    const { stdout, stderr } = await sh(project, process.execPath, ['cjs.cjs']);
    assert.equal(stderr, '', 'no warning');
    for (const count of stdout.trim().split(' ')) assert.ok(Number(count) > 0, stdout);
  });

  it('importing prints no warning, even under --pending-deprecation', async () => {
    const { stderr } = await sh(project, process.execPath, ['--pending-deprecation', 'esm.mjs']);
    assert.equal(stderr, '');
  });

  for (const [module, moduleResolution] of [
    ['NodeNext', 'NodeNext'],
    ['ESNext', 'Bundler'],
  ] as const) {
    it(`a TypeScript consumer type-checks (${moduleResolution} resolution)`, async () => {
      writeFileSync(
        join(project, 'consumer.ts'),
        [
          "import { WebSocket, WebSocketServer } from 'tsws';",
          "import { WebSocket as BrowserWebSocket } from 'tsws/whatwg';",
          "import * as protocol from 'tsws/protocol';",
          "import * as handshake from 'tsws/handshake';",
          "import { RedisAdapter } from 'tsws/redis';",
          '',
          'const wss = new WebSocketServer({ port: 0 });',
          "wss.on('connection', (ws: WebSocket) => ws.send('hi'));",
          "const client: BrowserWebSocket = new BrowserWebSocket('ws://127.0.0.1:1/');",
          'client.close();',
          'export const used = [protocol, handshake, RedisAdapter];',
          '',
        ].join('\n'),
      );
      writeFileSync(
        join(project, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            module,
            moduleResolution,
            strict: true,
            noEmit: true,
            // The package's own declarations are checked too.
            skipLibCheck: false,
            types: ['node'],
            typeRoots: [join(repoRoot, 'node_modules', '@types')],
          },
          files: ['consumer.ts'],
        }),
      );
      await sh(project, process.execPath, [tsc, '-p', 'tsconfig.json']);
    });
  }

  it('npx tsws --version runs the installed CLI', async () => {
    const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      version: string;
    };
    const { stdout } = await sh(project, 'npx', ['--offline', 'tsws', '--version']);
    assert.equal(stdout.trim(), version);
  });
});
