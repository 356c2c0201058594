import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { repoRoot } from '../helpers/process.js';
import { runLine } from './run-line.js';

const names = readdirSync(join(repoRoot, 'examples'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -'.ts'.length));

it('every example says how to run it, with the one run line', () => {
  assert.ok(names.length > 0);
  for (const name of names) {
    const source = readFileSync(join(repoRoot, 'examples', `${name}.ts`), 'utf8');
    assert.ok(source.includes(`// Run: ${runLine(name)}\n`), name);
  }
});

it('build:examples builds dist, then every example where its run line looks', () => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  assert.equal(pkg.scripts['build:examples'], 'npm run build && tsc -p tsconfig.examples.json');
  // Its second half (npm test has just run the first): the examples alone, against dist.
  const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.examples.json'], { cwd: repoRoot });
  for (const name of names) {
    assert.ok(existsSync(join(repoRoot, 'build', 'examples', `${name}.js`)), name);
  }
});
