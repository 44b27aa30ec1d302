// `reconix exec <command...>`: a command on every selected machine at once, its output prefixed with the machine.
import type { Command } from 'commander';
import { sshAccessAll } from '../../apply/operations.js';
import type { ReconcileRequest } from '../../core/request.js';
import type { SshTarget } from '../ssh.js';
import type { Cli, Selection } from '../wiring/cli.js';
import { eachDeployment } from '../wiring/each.js';
import { sshTarget } from '../wiring/ssh-target.js';
import { maxParallel, selection } from '../wiring/options.js';

export function execCommand(cli: Cli): Command {
  return maxParallel(selection(cli.program.command('exec <command...>')), 'machines at once')
    .description('run a command on every selected machine over ssh, output prefixed with the machine name')
    .action(
      eachDeployment(cli, (sel, _o, command: string[]) => ({
        op: 'plan',
        run: (req) => execDeployment(sel, req, command),
        code: (failed) => (failed > 0 ? 1 : 0),
      })),
    );
}

/** Run command on the deployment's machines; how many could not be reached or exited non-zero. */
async function execDeployment(sel: Selection, req: ReconcileRequest, command: string[]): Promise<number> {
  const { execAll } = await import('../ssh.js');
  let failed = 0;
  const targets: SshTarget[] = [];
  for (const [machine, access] of await sshAccessAll(req, sel.deps)) {
    const target = access instanceof Error ? access : sshTarget(machine, access, sel.globals.stateDir);
    if (target instanceof Error) {
      process.stderr.write(`${machine}: ${target.message}\n`);
      failed++;
    } else targets.push(target);
  }
  if (targets.length === 0) return failed;
  const write = (stream: NodeJS.WriteStream) => (text: string) => void stream.write(text);
  const codes = await execAll(
    targets,
    command,
    req.maxParallel,
    write(process.stdout),
    write(process.stderr),
  );
  for (const [machine, code] of codes) {
    if (code === 0) continue;
    failed++;
    process.stderr.write(
      `${machine}: ${code === 255 ? 'ssh failed (exit code 255)' : `exit code ${code}`}\n`,
    );
  }
  return failed;
}
