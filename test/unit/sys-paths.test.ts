// Paths handed to BPF_OBJ_PIN / BPF_OBJ_GET (src/sys/objects.ts): NUL-terminated UTF-8, as
// the kernel reads them, against a fake kernel (no root): a path holding a NUL is refused
// before any bpf(2) call, since the kernel would stop at it and pin or open another path.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TsbpfError } from '../../src/errors.js';
import { mapCreate, objGet, objGetIfPinned, objPin } from '../../src/sys/index.js';
import { FakeKernel } from '../helpers/fake-kernel.js';

/** The bytes the kernel read as the path (the fake reads them one byte a character). */
const pathBytes = (k: FakeKernel) => k.calls.filter((c) => c.command === 'BPF_OBJ_GET').map((c) => Buffer.from(c.path!, 'latin1').toString('utf8'));

test('a non-ASCII path reaches the kernel as UTF-8 followed by one NUL', () => {
  const k = new FakeKernel();
  const paths = ['/sys/fs/bpf/tsbpf-é', '/sys/fs/bpf/карта', '/sys/fs/bpf/表-😀', `/sys/fs/bpf/${'ü'.repeat(2000)}`];
  k.use(() => { for (const p of paths) assert.is(objGetIfPinned(p), undefined, p); });
  assert.equal(pathBytes(k), paths);
});

test('a path holding a NUL is refused with a TsbpfError before bpf(2) is called (the kernel would read up to the NUL only)', () => {
  const k = new FakeKernel();
  k.use(() => {
    const fd = mapCreate({ type: 'array', keySize: 4, valueSize: 4, maxEntries: 1 });
    const before = k.calls.length;
    const bad = '/sys/fs/bpf/a\0b';
    for (const call of [() => objPin(fd, bad), () => objGet(bad), () => objGetIfPinned(bad)]) {
      try { call(); assert.unreachable('refused'); } catch (e) {
        assert.instance(e, TsbpfError);
        assert.is((e as TsbpfError).reason, 'nul-in-path');
        assert.match((e as TsbpfError).message, /a\\u0000b/);
      }
    }
    assert.is(k.calls.length, before, 'no bpf(2) call made');
    assert.equal([...k.pins.keys()], []);
  });
});

test.run();
