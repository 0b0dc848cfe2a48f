#!/usr/bin/env node
// Thin entry point: the CLI lives in src/cli and is compiled to dist/ by `npm install`
// (which also bundles it into one file with a code cache: see src/cli/boot.ts).
// CommonJS (bin/package.json), so that Node starts it without its ES module loader, which
// costs a plain `node bin/load.js obj.o` ~10 ms of CPU (issue 15); dist/cli/boot.cjs is
// src/cli/boot.ts bundled as CommonJS by scripts/bundle.mjs (rebuilt by `npm run bundle`,
// not by tsc alone).
'use strict';
require('../dist/cli/boot.cjs').loadMain()
  .then((main) => main(process.argv.slice(2)))
  .then((code) => { process.exitCode = code; });
