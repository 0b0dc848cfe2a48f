#!/usr/bin/env node
// tsbpf-gen: the typed skeleton generator (src/cli/gen.ts), run through the same bundled
// CLI as bin/load.js (`node bin/load.js --gen ...` does the same). CommonJS, as bin/load.js.
'use strict';
require('../dist/cli/boot.cjs').loadMain()
  .then((main) => main(['--gen', ...process.argv.slice(2)]))
  .then((code) => { process.exitCode = code; });
