import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TsbpfError, ElfError } from '../../src/errors.js';

test('errors carry their location in the message', () => {
  const e = new ElfError('section header beyond end of file', { file: 'x.o', section: '.maps', offset: 16 });
  assert.instance(e, TsbpfError);
  assert.is(e.name, 'ElfError');
  assert.match(e.message, /x\.o, section \.maps, offset 16 \(0x10\): section header/);
});
test.run();
