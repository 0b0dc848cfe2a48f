// How --events / --trace print records: decoded values on one line, raw bytes as hex plus
// the printable ones, JSON lines with bigints and bytes made JSON-safe, the stats lines.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatRecord, formatStats, formatTrace, hexDump, jsonValue, textValue } from '../../src/cli/events.js';
import { parseArgs, UsageError } from '../../src/cli/args.js';

test('--events arguments: MAP, MAP=TYPE (the type may have spaces), alone before an object; --trace, --count', () => {
  assert.equal(parseArgs(['--events', 'events', 'x.o']).events, [{ map: 'events' }]);
  assert.equal(parseArgs(['--events', 'events=struct event', 'x.o']).events, [{ map: 'events', type: 'struct event' }]);
  assert.equal(parseArgs(['--events', 'bpf-objs/x.o']).events, [{}]);
  assert.equal(parseArgs(['x.o', '--events']).events, [{}]);
  assert.equal(parseArgs(['--events', '--json', 'x.o']).events, [{}]);
  assert.equal(parseArgs(['--events', 'a', '--events', 'b=u32', '--trace', '--count', '3', 'x.o']), { ...parseArgs(['x.o']), events: [{ map: 'a' }, { map: 'b', type: 'u32' }], trace: true, count: 3 });
  const refused = (args: string[], re: RegExp) => assert.throws(() => parseArgs(args), (e: Error) => e instanceof UsageError && re.test(e.message));
  refused(['--events', '=struct event', 'x.o'], /no map before '='/);
  refused(['--events', 'events=', 'x.o'], /no type after '='/);
  refused(['--count', '3', 'x.o'], /--count N is how many records --events/);
  refused(['--count', '0', '--trace', 'x.o'], /--count 0: expected a number of records >= 1/);
  refused(['--no-load', '--trace', 'x.o'], /--no-load loads nothing: --events and --trace need a load/);
  assert.is(parseArgs(['--trace', '--duration', '2', 'x.o']).duration, 2);
});

test('a decoded record on one line; a raw one as hex words and printable bytes', () => {
  const value = { slot: 146, pid: 4321, rc: 94025771024528n, line: 'ls -l', ok: true, a: [1, 2] };
  const data = Buffer.from('92000000e11000006c7300', 'hex');
  assert.is(formatRecord({ map: 'events', cpu: 1, data, value }, false), 'events cpu 1: {slot: 146, pid: 4321, rc: 94025771024528, line: "ls -l", ok: true, a: [1, 2]}');
  assert.is(formatRecord({ map: 'ring', data }, false), 'ring: 11 bytes 92000000 e1100000 6c7300  |........ls.|');
  assert.is(hexDump(Buffer.from('hi\n')), '3 bytes 68690a  |hi.|');
  assert.is(textValue(Buffer.from([1, 255])), '0x01ff');
});

test('JSON lines: {"event":{map, cpu, data, value}} with bigints as numbers when exact, else strings', () => {
  const data = Buffer.from('0102', 'hex');
  const j = JSON.parse(formatRecord({ map: 'events', cpu: 0, data, value: { big: 2n ** 64n - 1n, small: 7n, raw: Buffer.from([0xab]) } }, true));
  assert.equal(j, { event: { map: 'events', cpu: 0, data: '0102', value: { big: '18446744073709551615', small: 7, raw: 'ab' } } });
  assert.equal(JSON.parse(formatRecord({ map: 'ring', data }, true)), { event: { map: 'ring', data: '0102' } });
  assert.equal(jsonValue([1n, -3n]), [1, -3]);
});

test('trace lines and the stats at the end, text and JSON', () => {
  const l = { comm: 'bash', pid: 77, cpu: 3, timestamp: 12.5, event: 'bpf_trace_printk', message: 'hello' };
  assert.is(formatTrace(l, false), 'trace bash-77 [003] 12.500000: hello');
  assert.equal(JSON.parse(formatTrace(l, true)), { trace: l });
  const stats = [{ map: 'events', type: 'perf_event_array' as const, read: 12, lost: 3 }, { map: 'ring', type: 'ringbuf' as const, read: 5, lost: 0 }];
  assert.equal(formatStats(stats, false), ['events: 12 read, 3 lost', 'ring: 5 read, 0 lost (ring buffers do not count drops: the program sees them as failed outputs)']);
  assert.equal(formatStats(stats, true).map((s) => JSON.parse(s)), [{ eventStats: { map: 'events', read: 12, lost: 3 } }, { eventStats: { map: 'ring', read: 5, lost: 0 } }]);
});

test.run();
