// The generated types bite: every line under a @ts-expect-error is a mistake tsc must
// refuse (tsc fails on a @ts-expect-error that finds no error). Type-checked by npm test
// (tsconfig.test.json) and by test/unit/gen.test.ts, which also checks that each of
// these lines is an error once its comment is gone. Never run.
import { EventsSkeleton } from './events.skel.js';
import { GlobalDataSkeleton } from './global_data.skel.js';
import { MapTypesSkeleton } from './map_types.skel.js';
import { TailcallRunSkeleton } from './tailcall_run.skel.js';

export async function uses(): Promise<bigint> {
  const m = MapTypesSkeleton.load();
  m.maps.hash_map.update(1, 5n);
  const key = { prefixlen: 32, addr: 0x0100007f };
  m.maps.lpm_trie.update(key, 7);
  const found: number | undefined = m.maps.lpm_trie.lookup(key);
  const perCpu: bigint[] | undefined = m.maps.percpu_array.lookup(0);
  for (const [k, v] of m.maps.lpm_trie.entries()) void [k.prefixlen + v];
  // @ts-expect-error: a wrong key type (a string where the key is a u32)
  m.maps.hash_map.lookup('1');
  // @ts-expect-error: the value is a u64: a bigint, not a number
  m.maps.hash_map.update(1, 5);
  // @ts-expect-error: a wrong field name in a struct key
  m.maps.lpm_trie.lookup({ prefixlen: 32, address: 1 });
  // @ts-expect-error: a misspelt map name
  void m.maps.hash_mapp;
  // @ts-expect-error: a per-CPU map's lookup gives one value per CPU, not one
  const one: bigint | undefined = m.maps.percpu_array.lookup(0);

  const g = GlobalDataSkeleton.load({ rodata: { scale: 5 }, data: { tag: 'x' } });
  // @ts-expect-error: a misspelt variable in the rodata option
  GlobalDataSkeleton.load({ rodata: { scal: 5 } });
  // @ts-expect-error: .rodata is frozen after load: its view has no set()
  g.rodata.set({ scale: 1 });
  // @ts-expect-error: hits is a u64: a bigint
  g.bss.set({ hits: 1 });
  // @ts-expect-error: a variable .bss does not have
  void g.bss.get('counter');
  const scale: number = g.rodata.read().scale;
  const tag: string = g.data.get('tag');

  const t = TailcallRunSkeleton.load();
  // @ts-expect-error: a program the object does not have
  t.programs.missing.testRun();
  void t.programs.run_entry;

  const e = EventsSkeleton.load();
  const reader = e.events.reader('ring');
  for await (const ev of reader) {
    // @ts-expect-error: struct event has no member 'kind2'
    void ev.kind2;
    const s: string = ev.kind;
    return ev.seq + BigInt(s.length + scale + tag.length + (found ?? 0) + (perCpu?.length ?? 0) + (one ? 1 : 0));
  }
  // @ts-expect-error: 'hash_map' is not an event map of events.bpf.o
  e.events.reader('hash_map');
  return g.bss.read().hits;
}
