import assert from 'node:assert/strict';
import type { MachineResult } from '../../../src/apply/operations.js';
import type { ReconcileDeps } from '../../../src/observe/run.js';
import { requestFor, type LoadedDeployment } from '../../../src/source/deployments.js';
import type { Selection } from '../../../src/cli/wiring/cli.js';
import { bits, forEachDeployment, operation, type PerDeployment } from '../../../src/cli/wiring/each.js';

function deployment(name: string): LoadedDeployment {
  const source = { deployment: name, files: [`/n/${name}.nix`], args: {}, builder: 'mini' as const };
  return { name, manifestPath: `/n/${name}.yaml`, spec: { network: {} }, source, inputHash: name };
}

/** A selection of the named deployments; nothing in it reaches a client. */
function selected(names: string[], json = false): Selection {
  return {
    deps: {} as ReconcileDeps,
    deployments: names.map(deployment),
    globals: { file: 'reconix.yaml', stateDir: '/nonexistent' },
    json,
    request: (d, op) => requestFor(d.name, d.spec, d.source, op, { include: ['web*'] }),
  };
}

/** Runs each on the selection; what it printed and the exit code it gave. */
async function run<R>(sel: Selection, each: PerDeployment<R>): Promise<{ printed: string[]; code: number }> {
  const printed: string[] = [];
  const code = await forEachDeployment(sel, each, (s) => printed.push(s));
  return { printed, code };
}

/** A command whose deployments' codes are given by name, printing "<name>: <op>". */
const byName = (codes: Record<string, number>): PerDeployment<string> => ({
  op: 'check',
  run: async (req) => `${req.name}: ${req.op} ${req.include?.join(',')}`,
  text: (r) => r,
  json: (r) => ({ result: r }),
  code: (r) => codes[r.slice(0, r.indexOf(':'))] ?? 0,
});

describe('the per-deployment loop of the one-shot commands', () => {
  it('runs each deployment in turn with its request, printing its text as it goes', async () => {
    const { printed, code } = await run(selected(['a', 'b']), byName({}));
    assert.deepEqual(printed, ['a: check web*', 'b: check web*']);
    assert.equal(code, 0);
  });

  it('exits with the worst code of the deployments by default', async () => {
    assert.equal((await run(selected(['a', 'b', 'c']), byName({ a: 1, b: 2, c: 1 }))).code, 2);
    assert.equal((await run(selected(['a', 'b']), byName({ a: 0, b: 1 }))).code, 1);
  });

  it("ORs the deployments' bits when the command folds them so", async () => {
    const { code } = await run(selected(['a', 'b', 'c']), { ...byName({ a: 1, b: 4, c: 1 }), fold: bits });
    assert.equal(code, 5);
  });

  it("prints one deployment's JSON document as it is, and no text", async () => {
    const { printed } = await run(selected(['a'], true), byName({}));
    assert.deepEqual(
      printed.map((p) => JSON.parse(p) as unknown),
      [{ result: 'a: check web*' }],
    );
  });

  it('prints the documents of several deployments as one array', async () => {
    const { printed } = await run(selected(['a', 'b'], true), byName({}));
    assert.equal(printed.length, 1);
    assert.deepEqual(JSON.parse(printed[0]!), [{ result: 'a: check web*' }, { result: 'b: check web*' }]);
  });

  it('prints text when --json is asked of a command that has no JSON document', async () => {
    const { json: _, ...textOnly } = byName({});
    assert.deepEqual((await run(selected(['a'], true), textOnly)).printed, ['a: check web*']);
  });

  it('prints nothing of a deployment whose command has no text, and still folds its code', async () => {
    const { text: _, ...silent } = byName({ b: 1 });
    assert.deepEqual(await run(selected(['a', 'b']), silent), { printed: [], code: 1 });
  });

  it('gives an operation on machines a line per machine and exit code 1 when one failed', async () => {
    const results: MachineResult<string>[] = [
      { machine: 'web1', ok: true, value: 'local' },
      { machine: 'web2', ok: false, error: { reason: 'HostUnreachable', message: 'connection refused' } },
    ];
    const each = operation(
      async (req) => (req.name === 'a' ? results.slice(0, 1) : results),
      'stopped',
      (env) => `(${env})`,
    );
    assert.equal(each.op, 'deploy');
    const { printed, code } = await run(selected(['a', 'b']), each);
    assert.equal(code, 1);
    assert.equal(printed[0], 'web1: stopped (local)');
    assert.match(
      printed[1]!,
      /^web1: stopped \(local\)\nweb2: FAILED \(HostUnreachable\): connection refused\n/,
    );
  });
});
