// addressOf(): koffi addresses of typed arrays, subarrays, DataViews and Buffers, with the
// per-ArrayBuffer cache (no kernel call, runs unprivileged).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import koffi from 'koffi';
import { addressOf } from '../../src/sys/syscall.js';

test('subarrays, DataViews and small on-heap arrays get the right, stable address', () => {
  const b = new Uint8Array(256);
  const base = addressOf(b);
  assert.is(base, koffi.address(b));
  assert.is(addressOf(b.subarray(8)), base + 8n);
  assert.is(addressOf(new DataView(b.buffer, 16, 8)), base + 16n);
  assert.is(addressOf(new Uint32Array(b.buffer, 32, 2)), base + 32n);
  const small = new Uint8Array(4);
  const a = addressOf(small);
  const junk: object[] = [];
  for (let i = 0; i < 200_000; i++) junk.push({ i });
  assert.is(addressOf(small), a);
  assert.is(koffi.address(small), a);
  const pooled = Buffer.from('pin/path\0');
  assert.is(addressOf(pooled), koffi.address(pooled));
});

test.run();
