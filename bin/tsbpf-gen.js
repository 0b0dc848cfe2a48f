#!/usr/bin/env node
// tsbpf-gen: the typed skeleton generator (src/cli/gen.ts), run through the same bundled
// CLI as bin/load.js (`node bin/load.js --gen ...` does the same).
import { loadMain } from '../dist/cli/boot.js';

const main = await loadMain();
process.exitCode = await main(['--gen', ...process.argv.slice(2)]);
