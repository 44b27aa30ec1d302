// `reconix exec <command...>`: a command on every selected machine at once, its output prefixed with the machine.
// Its progress (each machine running, done or failed, with the exit code) is drawn live on a terminal, above which
// the output scrolls; otherwise stage lines go to stderr, so that stdout holds the output alone, as without them.
import type { Command } from 'commander';
import { Reason } from '../../api/conditions.js';
import { sshAccessAll } from '../../apply/operations.js';
import { ReconixError } from '../../core/errors.js';
import type { MachineStage, ProgressEvent } from '../../core/progress.js';
import type { ReconcileRequest } from '../../core/request.js';
import type { Display } from '../progress/display.js';
import type { LineWriter, SshTarget } from '../ssh.js';
import type { Cli, Selection } from '../wiring/cli.js';
import { eachDeployment } from '../wiring/each.js';
import { sshTarget } from '../wiring/ssh-target.js';
import { maxParallel, selection } from '../wiring/options.js';

/** ssh's own exit code when it could not run the command. */
const SSH_FAILED = 255;

export function execCommand(cli: Cli): Command {
  return maxParallel(selection(cli.program.command('exec <command...>')), 'machines at once')
    .description('run a command on every selected machine over ssh, output prefixed with the machine name')
    .option('--json', 'print progress events and the output, as output events, as JSON lines')
    .action(
      eachDeployment(cli, (sel, _o, command: string[]) => ({
        op: 'plan',
        run: (req, _d, shown) => execDeployment(sel, req, command, shown),
        code: (failed) => (failed > 0 ? 1 : 0),
        progress: 'always',
        stageLinesTo: 'stderr',
      })),
    );
}

/** Run command on the deployment's machines; how many could not be reached or exited non-zero. */
async function execDeployment(
  sel: Selection,
  req: ReconcileRequest,
  command: string[],
  shown: Display | undefined,
): Promise<number> {
  const { execAll } = await import('../ssh.js');
  const at = () => sel.deps.clock.now().toISOString();
  const progress = req.progress ?? (() => undefined);
  const stage = (machine: string, s: MachineStage, extra: Partial<MachineEvent> = {}) =>
    progress({ type: 'machine', deployment: req.name, machine, stage: s, at: at(), ...extra });
  const print = (text: string, to: NodeJS.WriteStream) =>
    shown ? shown.print(text, (t) => void to.write(t)) : void to.write(text);
  progress({ type: 'deployment', deployment: req.name, stage: 'started', at: at() });
  let failed = 0;
  const targets: SshTarget[] = [];
  for (const [machine, access] of await sshAccessAll(req, sel.deps)) {
    const target = access instanceof Error ? access : sshTarget(machine, access, sel.globals.stateDir);
    if (target instanceof Error) {
      stage(machine, 'failed', { reason: reasonOf(target), message: target.message });
      print(`${machine}: ${target.message}\n`, process.stderr);
      failed++;
    } else targets.push(target);
  }
  // With --json, the output travels as events too, so that every line of stdout is one JSON object.
  const json = sel.json;
  const lines =
    (stream: 'stdout' | 'stderr'): LineWriter =>
    (text, machine, line) =>
      json
        ? print(`${JSON.stringify(outputEvent(req.name, machine, stream, line, at()))}\n`, process.stdout)
        : print(text, process[stream]);
  const codes =
    targets.length === 0
      ? new Map<string, number>()
      : await execAll(targets, command, req.maxParallel, lines('stdout'), lines('stderr'), {
          started: (machine) => stage(machine, 'running'),
          ended: (machine, code) =>
            code === 0
              ? stage(machine, 'done', { exitCode: 0 })
              : stage(machine, 'failed', {
                  exitCode: code,
                  reason: code === SSH_FAILED ? Reason.HostUnreachable : Reason.CommandFailed,
                }),
        });
  for (const [machine, code] of codes) {
    if (code === 0) continue;
    failed++;
    print(
      `${machine}: ${code === SSH_FAILED ? 'ssh failed (exit code 255)' : `exit code ${code}`}\n`,
      process.stderr,
    );
  }
  progress({ type: 'deployment', deployment: req.name, stage: failed > 0 ? 'failed' : 'done', at: at() });
  return failed;
}

type MachineEvent = Extract<ProgressEvent, { type: 'machine' }>;

function outputEvent(
  deployment: string,
  machine: string,
  stream: 'stdout' | 'stderr',
  line: string,
  at: string,
): Extract<ProgressEvent, { type: 'output' }> {
  return { type: 'output', deployment, machine, stream, line, at };
}

const reasonOf = (err: Error): string => (err instanceof ReconixError ? err.reason : Reason.HostUnreachable);
