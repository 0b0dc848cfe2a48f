// The published package against the kernel: `npm pack`, installed into an empty
// directory (test/helpers/installed-package.ts), then a fixture loaded through
// `import { Collection } from 'tsbpf'` and through `npx tsbpf-load`. Needs root; skipped
// otherwise, except under CI=true. (The unprivileged checks: test/unit/package-install.test.ts.)
import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { installPackage, root, type Installed } from '../helpers/installed-package.js';
import { kernelSuite } from '../helpers/kernel-suite.js';

const suite = kernelSuite('package-install');
// Inside the VM matrix (TSBPF_VM set by the guest) /root is empty (no npm cache) and there is
// no network, so npm cannot install there; what this checks does not depend on the kernel.
const inVm = process.env.TSBPF_VM !== undefined;
if (suite.run && inVm) console.log('  (package-install skipped inside the VM matrix: no npm cache and no network there; it runs on the host)');
const run = suite.run && !inVm;
const test = run ? suite.test : uvuTest.skip;
const pkg: Installed | undefined = run ? installPackage('pack-kernel') : undefined;
uvuTest.after(() => pkg?.remove());

test("import { Collection } from 'tsbpf' (installed): load an object, its tail call jumps", () => {
  const r = pkg!.node(`
    import { Collection } from 'tsbpf';
    const c = Collection.loadFile(${JSON.stringify(path.join(root, 'bpf-objs/tailcall_run.bpf.o'))});
    try {
      const pkt = new Uint8Array(64); pkt[0] = 2;
      console.log(JSON.stringify({ resolved: import.meta.resolve('tsbpf'), retval: c.programs.get('run_entry').testRun({ data: pkt }).retval }));
    } finally { c.close(); }`);
  assert.is(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as { resolved: string; retval: number };
  assert.ok(got.resolved.startsWith(`file://${pkg!.dir}/node_modules/tsbpf/`), got.resolved);
  assert.is(got.retval, 12, 'run_entry tail-called slot 2, whose program returns 12');
});

test('npx tsbpf-load <object> (installed): every program accepted, the table filled in the kernel, exit 0', () => {
  const r = pkg!.run('npx', ['--no-install', 'tsbpf-load', path.join(root, 'bpf-objs/tailcall_uretprobe.bpf.o')]);
  assert.is(r.status, 0, r.stderr + r.stdout);
  assert.is((r.stdout.match(/ accepted /g) ?? []).length, 3, r.stdout);
  assert.match(r.stdout, /tail-call tables \(slots filled in the kernel\):\n\s+jmp_table: \[135\] -> handle_odd, \[146\] -> handle_even/);
});

uvuTest.run();
