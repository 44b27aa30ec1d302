// The observe script, run by real shells (dash, Debian's sh; bash, NixOS's) against a directory of activations of
// its own: it names the newest activation with its status line, and none when there is none.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ACTIVATIONS,
  OBSERVE_SCRIPT,
  parseObservation,
  SYSTEM_PROFILE,
} from '../../../src/ssh/observation.js';

describe('the observe script', () => {
  let dir: string;
  const observeIn = (
    shell: string,
    activations: string,
    profile = SYSTEM_PROFILE,
    current = '/run/current-system',
  ) =>
    parseObservation(
      execFileSync(
        shell,
        [
          '-c',
          OBSERVE_SCRIPT.replaceAll(ACTIVATIONS, activations)
            .replaceAll(SYSTEM_PROFILE, profile)
            .replaceAll('/run/current-system', current),
        ],
        { encoding: 'utf8' },
      ),
    );

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'reconix-observe-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const shell of ['sh', 'bash']) {
    it(`names the newest activation and its state under ${shell}`, async () => {
      const activations: [string, string][] = [
        ['20261130T235959-aaaa', 'done'],
        ['20261201T101010-cccc', 'rolled-back check-failed'],
        ['20261201T090000-bbbb', 'confirmed'],
      ];
      for (const [id, status] of activations) {
        await mkdir(path.join(dir, id));
        await writeFile(path.join(dir, id, 'status'), `${status}\n`);
      }
      const obs = observeIn(shell, dir);
      assert.equal(obs.lastActivation?.id, '20261201T101010-cccc');
      assert.equal(obs.lastActivation?.state, 'rolled-back');
      assert.match(obs.bootId ?? '', /^[0-9a-f-]{36}$/);
    });

    it(`reads the profile's system and its generations under ${shell}, and none through a dangling link`, async () => {
      const profiles = path.join(dir, 'profiles');
      const [a, b] = [path.join(dir, 'store-a'), path.join(dir, 'store-b')];
      await mkdir(profiles);
      await mkdir(a);
      await mkdir(b);
      await symlink(a, path.join(profiles, 'system-1-link'));
      await symlink(b, path.join(profiles, 'system-2-link'));
      await symlink('system-2-link', path.join(profiles, 'system'));
      const obs = observeIn(shell, path.join(dir, 'absent'), path.join(profiles, 'system'));
      assert.equal(obs.profileSystem, b);
      assert.deepEqual(
        obs.generations.map((g) => [g.number, g.path, g.current]),
        [
          [1, a, false],
          [2, b, true],
        ],
      );
      await rm(b, { recursive: true });
      const dangling = observeIn(shell, path.join(dir, 'absent'), path.join(profiles, 'system'));
      assert.equal(dangling.profileSystem, undefined);
      assert.equal(dangling.generations.length, 2);
    });

    it(`resolves the current system through its links under ${shell}, and names none through a dangling one`, async () => {
      const system = path.join(dir, 'store-system');
      await mkdir(system);
      await symlink(system, path.join(dir, 'hop'));
      await symlink(path.join(dir, 'hop'), path.join(dir, 'current-system'));
      const absent = path.join(dir, 'absent');
      const obs = observeIn(shell, absent, path.join(absent, 'system'), path.join(dir, 'current-system'));
      assert.equal(obs.currentSystem, system);
      assert.deepEqual(obs.generations, []); // no profiles directory: the script still succeeds
      await rm(system, { recursive: true });
      const gone = observeIn(shell, absent, path.join(absent, 'system'), path.join(dir, 'current-system'));
      assert.equal(gone.currentSystem, undefined);
      assert.match(gone.bootId ?? '', /^[0-9a-f-]{36}$/);
    });

    it(`names no activation under ${shell} when there is none, or its status is missing`, async () => {
      assert.equal(observeIn(shell, path.join(dir, 'absent')).lastActivation, undefined);
      await mkdir(path.join(dir, '20261201T101010-cccc'));
      assert.equal(observeIn(shell, dir).lastActivation, undefined);
    });
  }
});
