import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const protoDir = fileURLToPath(new URL('..', import.meta.url));

describe('generated code', () => {
  it('is what proto/scripts/gen.sh makes from the committed schemas (run `npm run gen` after editing a .proto)', () => {
    const out = mkdtempSync(join(tmpdir(), 'michi-gen-'));
    try {
      execFileSync('bash', [join(protoDir, 'scripts/gen.sh'), out], { stdio: 'pipe' });
      const committed = readdirSync(join(protoDir, 'gen')).sort();
      expect(readdirSync(out).sort()).toEqual(committed);
      for (const f of committed) {
        const made = readFileSync(join(out, f));
        expect(made.equals(readFileSync(join(protoDir, 'gen', f))), `proto/gen/${f} is stale`).toBe(true);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('passes buf lint', () => {
    execFileSync('npx', ['buf', 'lint'], { cwd: protoDir, stdio: 'pipe' });
  });
});
