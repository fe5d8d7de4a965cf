// Compiles grammar/keepalived.ne (and the block-family files it includes) with nearleyc
// into src/config/generated/grammar.ts. The generated file is never edited by hand.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'src/config/generated/grammar.ts');
mkdirSync(dirname(out), { recursive: true });
execFileSync(process.execPath, [join(root, 'node_modules/nearley/bin/nearleyc.js'), join(root, 'grammar/keepalived.ne'), '-o', out], { stdio: 'inherit' });
