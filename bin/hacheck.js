#!/usr/bin/env node
import * as cli from '../dist/src/cli/main.js';
cli.main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
  // `-t`: done, so exit as soon as stderr has taken its messages (main.ts exitAtOnce)
  // (on a write error, Node's own handling goes on as before)
  if (cli.exitAtOnce) process.stderr.write('', (err) => err || process.exit(code));
});
