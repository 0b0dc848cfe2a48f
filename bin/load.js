#!/usr/bin/env node
// Thin entry point: the CLI lives in src/cli and is compiled to dist/ by `npm install`
// (which also bundles it into one file with a code cache: see src/cli/boot.ts).
import { loadMain } from '../dist/cli/boot.js';

const main = await loadMain();
process.exitCode = await main(process.argv.slice(2));
