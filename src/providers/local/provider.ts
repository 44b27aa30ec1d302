// The `local` target: hosts Reconix creates on this machine, each a mount namespace running sshd on a loopback address.
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit, { type LimitFunction } from 'p-limit';
import { Reason } from '../../api/conditions.js';
import { ReconixError } from '../../core/errors.js';
import type { MachinePhysical, MachineRecord, TargetObservation, TargetRecord } from '../../core/model.js';
import { systemClock } from '../../core/clock.js';
import { type Clock, type TargetContext, type TargetProvider } from '../../core/ports.js';
import { runProcess, type Runner } from '../../util/exec.js';
import { MarkerFileAllocator, type AddressAllocator } from './addresses.js';
import {
  isRunning,
  parseHostRecord,
  prepareHost,
  readHostFile,
  removeHost,
  startHost,
  stopHostRecord,
  writeHostFile,
  type HostMachinery,
  type LocalHostRecord,
} from './host.js';
import { checkBaseDir, hostDirName, hostLayout, SSH_PORT } from './layout.js';
import { DEFAULT_BINARIES, type HostBinaries } from './sshd.js';

export interface LocalTargetOptions {
  /** Where hosts live, one directory each (absolute, plain characters). */
  baseDir: string;
  runner?: Runner;
  clock?: Clock;
  /** Two octets, "127.77" by default: hosts get 127.77.x.y. Ignored when `addressAllocator` is given. */
  addressPrefix?: string;
  addressAllocator?: AddressAllocator;
  binaries?: Partial<HostBinaries>;
  /** How long sshd may take to listen. Default 10 s. */
  startTimeoutMs?: number;
  /** Whether this process may create hosts; default: running as root. */
  isRoot?: () => boolean;
  /**
   * Hosts made or started at once; default 8. Making one is CPU work (a host key, a namespace, sshd's start): a
   * fleet's thousand at once would only queue on the cores and run past the start timeout.
   */
  parallel?: number;
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export class LocalTargetProvider implements TargetProvider {
  readonly env = 'local';
  readonly creates = true;
  private readonly baseDir: string;
  private readonly baseDirProblem: Error | undefined;
  private readonly addresses: AddressAllocator;
  private readonly machinery: HostMachinery;
  private readonly isRoot: () => boolean;
  private readonly making: LimitFunction;

  constructor(options: LocalTargetOptions) {
    this.making = pLimit(Math.max(1, options.parallel ?? 8));
    // An unusable base directory only matters once a local host is made: other commands must still work.
    let baseDir = options.baseDir;
    try {
      baseDir = checkBaseDir(options.baseDir);
    } catch (err) {
      this.baseDirProblem = err as Error;
    }
    this.baseDir = baseDir;
    this.addresses =
      options.addressAllocator ??
      new MarkerFileAllocator(join(this.baseDir, 'addresses'), options.addressPrefix);
    this.machinery = {
      runner: options.runner ?? runProcess,
      clock: options.clock ?? systemClock,
      binaries: { ...DEFAULT_BINARIES, ...options.binaries },
      startTimeoutMs: options.startTimeoutMs ?? 10_000,
    };
    this.isRoot = options.isRoot ?? (() => process.getuid?.() === 0);
  }

  /** The directory of a machine's host. */
  hostDir(deployment: string, machine: string): string {
    return join(this.baseDir, hostDirName(deployment, machine));
  }

  async observe(
    deployment: string,
    machines: MachinePhysical[],
    records: Record<string, MachineRecord | undefined>,
  ): Promise<Record<string, TargetObservation>> {
    const entries = await Promise.all(
      machines.map(
        async (m) => [m.name, await this.observeOne(deployment, m, records[m.name]?.target)] as const,
      ),
    );
    return Object.fromEntries(entries);
  }

  private async observeOne(
    deployment: string,
    machine: MachinePhysical,
    target: TargetRecord | undefined,
  ): Promise<TargetObservation> {
    const dir = this.hostDir(deployment, machine.name);
    const present = await stat(dir).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!present) return { exists: false, running: false, facts: {}, detail: 'no host directory' };
    const record = await this.current(dir, target);
    if (!record)
      return { exists: true, running: false, facts: {}, detail: 'host directory without a record' };
    const running = await isRunning(record);
    const obs = this.describe(machine, toTarget(record));
    return { ...obs, running, detail: running ? `sshd PID ${record.pid}` : 'sshd is not running' };
  }

  create(machine: MachinePhysical, ctx: TargetContext, previous?: TargetRecord): Promise<TargetRecord> {
    return this.making(() => this.createNow(machine, ctx, previous));
  }

  private async createNow(
    machine: MachinePhysical,
    ctx: TargetContext,
    previous?: TargetRecord,
  ): Promise<TargetRecord> {
    if (!this.isRoot()) {
      throw new ReconixError(
        Reason.RootRequired,
        `local hosts need root: machine ${JSON.stringify(machine.name)} is a mount namespace with its own /nix, ` +
          'and only root can make one. Run Reconix as root, or deploy to a `none` target.',
        { reaction: 'stall' },
      );
    }
    if (this.baseDirProblem) {
      throw new ReconixError(Reason.ProvisioningFailed, this.baseDirProblem.message, { reaction: 'stall' });
    }
    const dir = this.hostDir(ctx.deployment, machine.name);
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const known = await this.current(dir, previous);
      // A host that runs keeps its address; otherwise keep the address only while we still hold it.
      const keep = known && ((await isRunning(known)) || (await this.addresses.holds(known.address, dir)));
      const address = keep ? known.address : await this.addresses.claim(dir);
      // Record the address before anything else, so that a crash from here on leaks nothing.
      let record: LocalHostRecord = { dir, address, port: SSH_PORT };
      await writeHostFile(hostLayout(dir), record);
      const hostPublicKey = await prepareHost(
        hostLayout(dir),
        { address, port: SSH_PORT, clientPublicKey: ctx.clientPublicKey },
        this.machinery.runner,
      );
      record = { ...record, hostPublicKey, ...(known?.pid === undefined ? {} : { pid: known.pid }) };
      await writeHostFile(hostLayout(dir), record);
      await ctx.save(toTarget(record));
      return toTarget(await this.startRecord(record, ctx));
    } catch (err) {
      if (err instanceof ReconixError) throw err;
      throw new ReconixError(Reason.ProvisioningFailed, `creating local host ${dir}: ${errorText(err)}`, {
        cause: err,
      });
    }
  }

  async start(machine: string, target: TargetRecord, ctx: TargetContext): Promise<TargetRecord> {
    const record = await this.require(machine, target, ctx);
    try {
      return toTarget(await this.making(() => this.startRecord(record, ctx)));
    } catch (err) {
      throw new ReconixError(
        Reason.ProvisioningFailed,
        `starting local host ${record.dir}: ${errorText(err)}`,
        {
          cause: err,
        },
      );
    }
  }

  async stop(machine: string, target: TargetRecord, ctx: TargetContext): Promise<void> {
    const record = await this.require(machine, target, ctx);
    await stopHostRecord(record, this.machinery);
  }

  async destroy(machine: string, target: TargetRecord, ctx: TargetContext): Promise<void> {
    if (!parseHostRecord(target)) return;
    const record = await this.require(machine, target, ctx);
    try {
      await removeHost(record, this.machinery);
      await this.addresses.release(record.address, record.dir);
    } catch (err) {
      throw new ReconixError(Reason.DestroyFailed, `destroying local host ${record.dir}: ${errorText(err)}`, {
        cause: err,
      });
    }
  }

  /**
   * Stop and remove the host in one directory of the base directory, named as hostDirName names them (sweeping
   * hosts whose deployment is not known any more); nothing outside the base directory can be named.
   */
  async removeHostDir(name: string): Promise<void> {
    if (!/^h-[0-9a-f]{24}$/.test(name))
      throw new Error(`not a local host directory name: ${JSON.stringify(name)}`);
    const dir = join(this.baseDir, name);
    const record = await readHostFile(hostLayout(dir));
    if (!record) return;
    const own = { ...record, dir };
    await removeHost(own, this.machinery);
    await this.addresses.release(own.address, dir);
  }

  describe(_machine: MachinePhysical, target: TargetRecord | undefined): TargetObservation {
    const record = parseHostRecord(target);
    if (!record) return { exists: false, running: false, facts: {} };
    return {
      exists: true,
      running: record.pid !== undefined,
      endpoint: { host: record.address, port: record.port, user: 'root' },
      facts: {
        privateIPv4: record.address,
        ...(record.hostPublicKey === undefined ? {} : { hostPublicKey: record.hostPublicKey }),
      },
    };
  }

  private async startRecord(record: LocalHostRecord, ctx: TargetContext): Promise<LocalHostRecord> {
    const pid = await startHost(record, this.machinery);
    if (pid === record.pid) return record;
    const started = { ...record, pid };
    await ctx.save(toTarget(started));
    return started;
  }

  /**
   * The freshest record of a host: the host's own file (written on every start) over the recorded one, which may
   * miss a PID when the process stopped between starting sshd and saving the state. Its directory is always `dir`,
   * derived from the deployment and machine names: a directory named by the recorded state (which whoever can
   * edit the state can change) is never started, stopped or removed.
   */
  private async current(dir: string, target: TargetRecord | undefined): Promise<LocalHostRecord | undefined> {
    const recorded = parseHostRecord(target);
    const own = (await readHostFile(hostLayout(dir))) ?? recorded;
    return own && { ...own, dir };
  }

  private async require(machine: string, target: TargetRecord, ctx: TargetContext): Promise<LocalHostRecord> {
    const record = await this.current(this.hostDir(ctx.deployment, machine), target);
    if (!record) {
      throw new ReconixError(
        Reason.ProvisioningFailed,
        `no local host is recorded for ${JSON.stringify(machine)}`,
      );
    }
    return record;
  }
}

function toTarget(record: LocalHostRecord): TargetRecord {
  return { ...record };
}
