// `reconix controller --kube` replicas as separate processes (the test entry, which binds ec2 machines to test
// hosts), each with its own working directory, each stopped by its PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_CLI } from '../../support/cli.js';

export interface Replica {
  name: string;
  stateDir: string;
  proc: ChildProcess;
  /** stderr lines (JSON logs), as they come. */
  lines: string[];
  exited: Promise<void>;
  leads(): boolean;
  /** SIGTERM by PID (the replica hands its Lease over), SIGKILL after 10 s; then its directory goes. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface ReplicaOptions {
  kubeconfig: string;
  env?: Record<string, string>;
  extraArgs?: string[];
}

export async function startReplica(name: string, o: ReplicaOptions): Promise<Replica> {
  const stateDir = await mkdtemp(join(tmpdir(), `reconix-replica-${name}-`));
  const args = [TEST_CLI, '--state-dir', stateDir, '--log-format', 'json', 'controller', '--kube'];
  args.push('--kubeconfig', o.kubeconfig, '--listen', '127.0.0.1:0');
  args.push('--leader-election-namespace', 'default', ...(o.extraArgs ?? []));
  const proc = spawn(process.execPath, args, {
    env: { ...process.env, ...o.env, POD_NAME: name },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines: string[] = [];
  let partial = '';
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
    const parts = (partial + d).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts.filter(Boolean));
  });
  const exited = new Promise<void>((res) => proc.once('exit', () => res()));
  return {
    name,
    stateDir,
    proc,
    lines,
    exited,
    leads: () => lines.some((l) => l.includes('"became the leader"')),
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null && proc.pid) process.kill(proc.pid, signal);
      const timer = setTimeout(
        () => proc.pid && proc.exitCode === null && process.kill(proc.pid, 'SIGKILL'),
        10_000,
      );
      await exited;
      clearTimeout(timer);
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

/** Parsed JSON log lines of a replica with this message. */
export function logged(r: Replica, msg: string): Record<string, unknown>[] {
  return r.lines.flatMap((l) => {
    try {
      const o = JSON.parse(l) as Record<string, unknown>;
      return o.msg === msg ? [o] : [];
    } catch {
      return [];
    }
  });
}
