// What deploy shows of a real rollout in waves, in a real terminal (tmux, its screen captured as the deploy runs),
// on real local hosts: each wave's line goes from started through baking to passed, in wave order, with its machines,
// and the second wave starts only once the first has passed.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CLI, reconix } from '../../support/cli.js';
import { watchTerminal } from '../../support/terminal.js';
import { makeWorkspace, type Workspace } from '../../support/workspace.js';

const WAVE = /^wave (\d)\/2 (\S+): (.*)$/;

const manifest = (domain: string) => `apiVersion: reconix.dev/v1alpha1
kind: NixDeployment
metadata: { name: apache-local }
spec:
  network: { files: [network.nix, physical-local.nix], args: { domain: ${domain} } }
  builder: mini
  rollout: { maxParallel: 3, strategy: { bakeTime: 2s, waves: [{ count: 1 }, { count: 2 }] } }
`;

describe('a rollout in waves on a real terminal', function () {
  this.timeout(300_000);
  let ws: Workspace;
  const args = (...rest: string[]) => ['--state-dir', ws.stateDir, '-f', join(ws.dir, 'local.yaml'), ...rest];

  before(async () => {
    ws = await makeWorkspace('apache');
    await ws.write('local.yaml', manifest('example.org'));
    await ws.load(); // so that dispose() destroys the hosts the CLI creates
    const first = await reconix(args('deploy'));
    assert.equal(first.code, 0, first.stdout + first.stderr);
  });
  after(async () => {
    await ws?.dispose();
  });

  it('shows each wave started, baking and passed in turn, with its machines, while the deploy runs', async () => {
    await ws.write('local.yaml', manifest('example.net'));
    // Every distinct (wave, state) seen on screen, in the order first seen, and the machines each wave named.
    const seen: string[] = [];
    const machines = new Map<string, string>();
    const argv = [process.execPath, CLI, ...args('deploy')];
    const screen = await watchTerminal(argv, { what: 'the deploy to end', timeoutMs: 180_000 }, (now) => {
      for (const line of now.split('\n')) {
        const [, wave, state, names] = WAVE.exec(line.trim()) ?? [];
        if (!wave || !state) continue;
        if (!seen.includes(`${wave} ${state}`)) seen.push(`${wave} ${state}`);
        machines.set(wave, names ?? '');
      }
    });
    assert.match(screen, /EXIT=0/, screen);
    const order = (s: string) => seen.indexOf(s);
    for (const wave of ['1', '2']) {
      assert.ok(order(`${wave} baking`) >= 0, `wave ${wave} never shown baking: ${seen.join(' > ')}`);
      assert.ok(order(`${wave} passed`) > order(`${wave} baking`), `wave ${wave}: ${seen.join(' > ')}`);
    }
    // The second wave starts only once the first has passed its bake time.
    const second = Math.min(...['2 started', '2 baking'].map(order).filter((i) => i >= 0));
    assert.ok(order('1 passed') < second, seen.join(' > '));
    assert.equal(machines.get('1')?.split(', ').length, 1, screen);
    assert.equal(machines.get('2')?.split(', ').length, 2, screen);
  });
});
