import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** repository root (tests run from dist/test/…) */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** ../shared beside the repository: keepalived's samples and verdicts, the VM and lab tools */
export const SHARED = resolve(ROOT, '../shared');
export const CORPUS = join(SHARED, 'corpus/keepalived-samples');
export const HACHECK = join(ROOT, 'bin/hacheck.js');
export const haveShared = existsSync(join(CORPUS, 'VERDICTS.tsv'));
