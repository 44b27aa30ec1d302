import assert from 'node:assert/strict';
import { generationOfLink, parseObservation } from '../../../src/ssh/observation.js';
import { outputTail } from '../../../src/ssh/session.js';

const A = '/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-nixos-system-a';
const B = '/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-nixos-system-b';
const BOOT = '69bf813c-dcc7-4f7b-919b-0eacdf1e2e48';

describe('parsing what a host says about itself', function () {
  it('reads a fresh host as one with no system and no generations', function () {
    const out = `current\t\nboot\t${BOOT}\n`;
    assert.deepEqual(parseObservation(out), { generations: [], bootId: BOOT });
  });

  it('reads generations in number order and marks the one the profile points to', function () {
    const out = [
      `current\t${B}`,
      `boot\t${BOOT}`,
      `gen\tsystem-10-link\t${B}\t1700000100.5\td`,
      'gen\tsystem\tsystem-2-link\t1700000000.5\td',
      `gen\tsystem-2-link\t${A}\t1700000000.0000000000\td`,
      '',
    ].join('\n');
    assert.deepEqual(parseObservation(out), {
      currentSystem: B,
      profileSystem: A,
      bootId: BOOT,
      generations: [
        { number: 2, path: A, createdAt: 1700000000, current: true },
        { number: 10, path: B, createdAt: 1700000100, current: false },
      ],
    });
  });

  it('ignores lines and links it does not understand', function () {
    const out = [
      'motd: welcome',
      `gen\tsystem-x-link\t${A}\t1`,
      `gen\tsystem-3-link\t\t1`,
      'gen\tsystem\tsomething\t1\tN',
    ].join('\n');
    assert.deepEqual(parseObservation(out), { generations: [] });
  });

  it('takes no profile system from a profile or generation whose target is gone', function () {
    const gone = parseObservation(
      ['gen\tsystem\tsystem-2-link\t1\tN', `gen\tsystem-2-link\t${A}\t1\tN`, ''].join('\n'),
    );
    assert.equal(gone.profileSystem, undefined);
    assert.deepEqual(gone.generations, [{ number: 2, path: A, createdAt: 1, current: true }]);
    const direct = parseObservation(`gen\tsystem\t${B}\t1\td\n`);
    assert.equal(direct.profileSystem, B, 'a profile set by hand straight to a system');
  });

  it('finds the generation number in a link name or path', function () {
    assert.equal(generationOfLink('system-12-link'), 12);
    assert.equal(generationOfLink('/nix/var/nix/profiles/system-3-link'), 3);
    assert.equal(generationOfLink('system-link'), undefined);
    assert.equal(generationOfLink('system-1-link-x'), undefined);
  });

  it('keeps the last lines of long output for error messages', function () {
    const text = Array.from({ length: 30 }, (_, i) => `line ${i}`).join('\n') + '\n\n';
    assert.equal(outputTail(text, 2), 'line 28\nline 29');
  });
});
