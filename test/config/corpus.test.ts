// Conformance: keepalived's own sample configs, and keepalived 2.2.7's `-t` verdict on
// each (../shared/corpus/keepalived-samples/VERDICTS.tsv). hacheck -t must give the same
// exit code on every one.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CORPUS, HACHECK, haveShared } from '../support/paths.js';

const run = promisify(execFile);

interface Verdict {
  file: string;
  exit: number;
  firstLine: string;
}

function verdicts(): Verdict[] {
  const rows = readFileSync(join(CORPUS, 'VERDICTS.tsv'), 'utf8').trim().split('\n').slice(1);
  return rows.map((r) => {
    const c = r.split('\t');
    return { file: c[0], exit: Number(c[1]), firstLine: c[5] ?? '' };
  });
}

async function hacheckT(file: string): Promise<{ code: number; stderr: string }> {
  try {
    const { stderr } = await run(process.execPath, [HACHECK, '-t', '-f', file], { timeout: 30_000 });
    return { code: 0, stderr };
  } catch (e) {
    const err = e as { code?: number; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stderr: err.stderr ?? '' };
  }
}

describe('conformance: keepalived sample configs give keepalived 2.2.7 -t exit codes', function () {
  if (!haveShared) {
    it('needs ../shared/corpus/keepalived-samples (absent here)', function () {
      console.log(`    SKIPPED: ${CORPUS} not found; the conformance corpus lives in the steering repo's shared/`);
      this.skip();
    });
    return;
  }
  for (const v of verdicts()) {
    it(`${v.file} → exit ${v.exit}`, async () => {
      const r = await hacheckT(join(CORPUS, v.file));
      assert.equal(r.code, v.exit, `hacheck said:\n${r.stderr}`);
      if (v.firstLine) {
        // keepalived's first message must be among hacheck's, in keepalived's wording
        const text = v.firstLine.replace(/^\([^)]*Line \d+\) /, '');
        assert.ok(r.stderr.includes(text), `expected keepalived's message «${text}» in:\n${r.stderr}`);
      }
    });
  }
});
