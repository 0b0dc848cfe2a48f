/**
 * spec/by-name ByName: a short list found by name (compared one by one) and a long one
 * (hashed) give the same item, the first or the last of a repeated name, as a Map filled
 * in list order ('last', what fixupDatasecs' offsets were) or a search in list order
 * ('first', the .maps symbols).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ByName } from '../../src/spec/by-name.js';

interface Item { name: string; at: number }

/** `n` items named n0, n1, ... with 'dup' at the first, a middle and the last place. */
function items(n: number): Item[] {
  const out = Array.from({ length: n }, (_, at) => ({ name: `n${at}`, at }));
  for (const at of [0, n >> 1, n - 1]) out[at]!.name = 'dup';
  return out;
}

test('first and last of a repeated name, a unique name and a missing one, below and above the scan limit', () => {
  for (const n of [3, 8, 32, 33, 100]) {
    const list = items(n);
    const first = new ByName(list, 'first'), last = new ByName(list, 'last');
    const map = new Map(list.map((it) => [it.name, it]));
    assert.is(first.get('dup'), list[0], `${n}: first dup`);
    assert.is(last.get('dup'), list[n - 1], `${n}: last dup`);
    assert.is(last.get('dup'), map.get('dup'), `${n}: last as a Map filled in order`);
    for (const it of list) {
      if (it.name === 'dup') continue;
      assert.is(first.get(it.name), it, `${n}: ${it.name}`);
      assert.is(last.get(it.name), it, `${n}: ${it.name}`);
    }
    assert.is(first.get('missing'), undefined);
    assert.is(last.get(''), undefined);
  }
  assert.is(new ByName([], 'first').get('x'), undefined);
});

test.run();
