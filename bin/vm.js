#!/usr/bin/env node
// tsbpf-vm: the VM runner (scripts/vm/run.mjs, the same options as scripts/vm-run) as the
// package ships it: boots a Debian kernel (--kernel 5.10|6.1|6.12|7|sid) or your own in
// qemu and runs one command there as root. See docs/vm.md. CommonJS (bin/package.json).
'use strict';
import('../scripts/vm/run.mjs').then(({ main }) => main(process.argv.slice(2))).then(
  (code) => process.exit(code),
  (e) => { process.stderr.write(`vm: ${e?.stack ?? e}\n`); process.exit(125); },
);
