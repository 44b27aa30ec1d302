// Counting builds from nix-store --realise's stderr, as Nix 2.8 prints it.
import assert from 'node:assert/strict';
import { BuildCounter } from '../../../src/nixstore/build-progress.js';

const STDERR = `these 3 derivations will be built:
  /nix/store/apyz59l2mxlfmh9jjla3v1m1j11zkn6m-probe-b.drv
  /nix/store/pgan5xh8d2i6myzj56y51rzay158r4s4-probe-a.drv
  /nix/store/k2lgrppi5s3v2jgmff20269c7bhgdafg-top.drv
building '/nix/store/pgan5xh8d2i6myzj56y51rzay158r4s4-probe-a.drv'...
building '/nix/store/apyz59l2mxlfmh9jjla3v1m1j11zkn6m-probe-b.drv'...
building '/nix/store/k2lgrppi5s3v2jgmff20269c7bhgdafg-top.drv'...
`;

describe('the build counter', () => {
  it('counts the derivations Nix lists and those it has moved past, whatever the chunks, all at the end', () => {
    const counts: string[] = [];
    const lines: string[] = [];
    const counter = new BuildCounter({
      built: (d, t) => counts.push(`${d}/${t}`),
      line: (l) => lines.push(l),
    });
    const bytes = Buffer.from(STDERR);
    for (let i = 0; i < bytes.length; i += 7) counter.push(bytes.subarray(i, i + 7));
    counter.end(true);
    assert.deepEqual(counts, ['0/3', '0/3', '1/3', '2/3', '3/3']);
    assert.equal(lines.length, 7);
  });

  it('says "this derivation" is one, and claims nothing built when the build failed', () => {
    const counts: string[] = [];
    const counter = new BuildCounter({ built: (d, t) => counts.push(`${d}/${t}`) });
    counter.push(
      Buffer.from("this derivation will be built:\n  /nix/store/x-a.drv\nbuilding '/nix/store/x-a.drv'...\n"),
    );
    counter.end(false);
    assert.deepEqual(counts, ['0/1', '0/1']);
  });
});
