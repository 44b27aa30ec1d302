import assert from 'node:assert/strict';
import { BoundedOutput } from '../../../src/util/bounded-output.js';
import { runProcess } from '../../../src/util/exec.js';
import { retainedGrowth } from '../../support/memory.js';

describe('bounded output', () => {
  it('keeps everything up to its limit', () => {
    const o = new BoundedOutput(10);
    o.push(Buffer.from('hello'));
    o.push(Buffer.from('world'));
    assert.equal(o.toString(), 'helloworld');
    assert.equal(o.truncated, false);
  });

  it('keeps the head and the tail beyond its limit and says how much it cut', () => {
    const o = new BoundedOutput(10);
    for (const c of 'abcdefghijklmnopqrstuvwxyz') o.push(Buffer.from(c));
    assert.equal(
      o.toString(),
      'abcde\n[... 16 bytes of output cut: 26 written, the first and last 5 kept ...]\nvwxyz',
    );
    assert.equal(o.written, 26);
  });

  it('cuts a local process that writes 200 MB to stderr to 1 MiB, and memory stays bounded', async function () {
    this.timeout(120_000);
    let stderr = '';
    const grown = await retainedGrowth(async () => {
      const r = await runProcess('sh', ['-c', 'yes | head -c 200000000 >&2; exit 3']);
      assert.equal(r.exitCode, 3);
      stderr = r.stderr;
    });
    assert.ok(stderr.length <= 2 ** 20 + 200, `kept ${stderr.length} bytes`);
    assert.match(stderr, /\[\.\.\. 198951424 bytes of output cut: 200000000 written/);
    assert.ok(grown < 32, `it holds ${grown.toFixed(0)} MiB more`);
  });

  it('cuts stdout at the limit the caller gives', async () => {
    const r = await runProcess('sh', ['-c', 'yes | head -c 5000000'], { maxStdoutBytes: 1000 });
    assert.ok(r.stdout.length < 1200);
    assert.match(r.stdout, /bytes of output cut: 5000000 written/);
  });
});
