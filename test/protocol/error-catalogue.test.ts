import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { HandshakeErrorCode } from '../../src/handshake/index.js';
import { ErrorCode } from '../../src/protocol/index.js';
import { repoRoot } from '../helpers/process.js';

/** Every .ts file under src/, with its path relative to the repository. */
function sources(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(join(repoRoot, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...sources(path));
    else if (entry.name.endsWith('.ts')) files.push(path);
  }
  return files;
}

const catalogue = new Set<string>(Object.values(ErrorCode));

describe('error catalogue (src/protocol/errors.ts ErrorCode)', () => {
  it('holds every WS_ERR_ code written as a string in src/', () => {
    const missing: string[] = [];
    let seen = 0;
    for (const file of sources('src')) {
      const text = readFileSync(join(repoRoot, file), 'utf8');
      // Quoted literals only: comments cite codes in backticks.
      for (const [, code] of text.matchAll(/['"](WS_ERR_[A-Z0-9_]*)['"]/g)) {
        seen++;
        if (!catalogue.has(code!)) missing.push(`${file}: ${code}`);
      }
    }
    assert.ok(seen > 0, 'the scan found the catalogue itself');
    assert.deepEqual(missing, []);
  });

  it('gives each code one name', () => {
    assert.equal(catalogue.size, Object.keys(ErrorCode).length);
  });

  it('holds the handshake codes, with their public values', () => {
    for (const [name, code] of Object.entries(HandshakeErrorCode)) {
      assert.equal(ErrorCode[name as keyof typeof ErrorCode], code, name);
    }
  });
});
