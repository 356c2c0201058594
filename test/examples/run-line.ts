import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Run, repoRoot, run } from '../helpers/process.js';

/** The run line every example's comment carries, for examples/NAME.ts. */
export const runLine = (name: string) => `npm run build:examples && node build/examples/${name}.js`;

/**
 * Runs examples/NAME.ts the way its comment says: checks its `// Run:` line, then runs its
 * `node ...` part (npm test has built dist and build/examples already; run-lines.test.ts
 * checks that build:examples alone makes them).
 */
export function runExample(name: string): Run {
  const source = readFileSync(join(repoRoot, 'examples', `${name}.ts`), 'utf8');
  const line = /^\/\/ Run: (.*)$/m.exec(source)?.[1];
  assert.equal(line, runLine(name), `the run line of examples/${name}.ts`);
  const [, node] = line!.split(' && ');
  const [command, ...args] = node!.split(' ');
  assert.equal(command, 'node');
  return run(args);
}
