// Opening a map by id (BPF_MAP_GET_FD_BY_ID) takes a user reference. A prog array whose
// last user reference is gone has its clear queued (prog_array_map_clear, a work item that
// holds a map reference); opening it by id in that window and closing it again queues the
// clear a second time while the first is still pending, and the second reference is never
// put: the array stays in the kernel until reboot (29 of 30 tries on 6.18).
//
// tsbpf opens maps by id in one place: an event reader given a map fd opens its own file of
// that map (src/events/map-ref.ts) while the caller's fd is still open, so the map's user
// count never falls to zero in between. (src/load/kernel-refs.ts opens BTF objects by id,
// module BTF and a target program's BTF, never maps; a BTF object has no user count and no
// deferred clear.) This test goes through that path with prog arrays, many times, and
// checks that every prog array it created is gone afterwards, by the ids it created (other
// processes create and free maps at the same time). It never opens a closed array by id
// itself: that would leak one for good.
import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Collection } from '../../src/index.js';
import { EventReader, EventsError } from '../../src/events/index.js';
import { waitGone, type KernelObject } from '../helpers/kernel-ids.js';
import { kernelSuite } from '../helpers/kernel-suite.js';

const { test } = kernelSuite('prog-array-by-id');
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const file = path.join(root, 'bpf-objs/tailcall_run.bpf.o');
const ROUNDS = 30;

test(`an event reader given a prog array's fd opens it by id and closes it: none of ${ROUNDS} arrays is left in the kernel`, () => {
  const arrays: KernelObject[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const c = Collection.loadFile(file);
    try {
      const m = c.maps.get('run_table')!;
      assert.is(m.type, 'prog_array');
      arrays.push(`map ${m.info().id}`);
      // opened by id (the reader's own file of the map), refused as not an event map, closed
      assert.throws(() => EventReader.open({ fd: m.fd, name: 'run_table' }), (e: Error) => e instanceof EventsError && e.reason === 'map-type');
    } finally {
      c.close(); // the last user reference: the kernel queues the clear now
    }
  }
  const left = waitGone(arrays, 30_000);
  assert.equal(left, [], `prog arrays still in the kernel: ${left.join(', ')}`);
});

uvuTest.run();
