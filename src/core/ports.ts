// The interfaces the reconciler drives. Providers implement them; tests may give fakes of them.
import type { ActivationMode } from '../api/deployment.js';
import type {
  Generation,
  HostObservation,
  InfraFacts,
  MachinePhysical,
  MachineRecord,
  PhysicalView,
  SshEndpoint,
  SystemRef,
  TargetObservation,
  TargetRecord,
  KeySpec,
} from './model.js';

/** A finished process, local or remote: what it printed and how it ended. */
export interface ExecResult {
  command: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** The network source of one deployment, resolved to files on disk. */
export interface NetworkSource {
  deployment: string;
  /** Absolute paths of the network files, in merge order. */
  files: string[];
  /**
   * The directory the files may import from (the manifest's directory, the source root's tree, or the directory
   * of the inline files); a restricted evaluation reads nothing else of the deployment's.
   */
  root?: string;
  args: Record<string, string>;
  builder: 'auto' | 'nixos' | 'mini';
  /** Bytes all the evaluation processes of this deployment may hold at once (spec.evaluation.memoryBudget). */
  memoryBudget?: number;
}

/** What a caller of an evaluation may add: a signal that cancels it. */
export interface EvaluateOptions {
  signal?: AbortSignal;
}

export interface Evaluator {
  /** Phase 1: machines, targets and resources, without building. */
  physical(src: NetworkSource): Promise<PhysicalView>;
  /** Phase 2: instantiate the systems of the given machines with the provisioning facts injected. */
  systems(
    src: NetworkSource,
    facts: InfraFacts,
    machines: string[],
    options?: EvaluateOptions,
  ): Promise<Record<string, SystemRef>>;
  /** deployment.keys of the given machines, contents included (for key delivery only, never logged). */
  keys?(src: NetworkSource, machines: string[]): Promise<Record<string, Record<string, KeySpec>>>;
  /** config.<option> of one machine, as JSON (`reconix show-option`). */
  option?(src: NetworkSource, facts: InfraFacts, machine: string, option: string[]): Promise<unknown>;
}

/** What a copy needs to know of a store path, from the local store's database. */
export interface StorePathInfo {
  path: string;
  /** SHA-256 of the path's NAR, in any notation Nix prints. */
  narHash: string;
  narSize: number;
  references: string[];
  deriver?: string;
  signatures?: string[];
  /** Content address, for content-addressed paths. */
  ca?: string;
}

/** What a build reports while it runs: derivations built of those to build, and Nix's own lines. */
export interface BuildWatch {
  built?(done: number, total: number): void;
  line?(line: string): void;
}

/** Where a copy reads store paths from: the NAR serialisation of each. */
export type NarSource = Pick<LocalStore, 'nar'>;

export interface LocalStore {
  /**
   * Build (or find already built) the given derivations; registers GC roots under `rootDir`. `watch` hears of
   * the builds as Nix reports them.
   */
  realise(drvs: string[], rootDir?: string, watch?: BuildWatch): Promise<void>;
  /** Whether a path is valid in the local store. */
  isValid(path: string): Promise<boolean>;
  /** Which of these paths are valid, in one call. */
  validPaths(paths: string[]): Promise<Set<string>>;
  /** The closure of each path (dependencies before dependents), all in one call. */
  closures(paths: string[]): Promise<Map<string, StorePathInfo[]>>;
  /**
   * The NAR serialisation of one valid store path. Its chunks are lent: a chunk's bytes may change once the chunk
   * after the next one is asked for, so a consumer that keeps them copies them.
   */
  nar(path: string): AsyncIterable<Buffer>;
}

/** How a host's key is checked. */
export interface HostKeyCheck {
  /** The pinned key ("ssh-ed25519 AAAA..."); absent means accept and report the key seen. */
  pinned?: string;
}

export interface SshAuth {
  privateKey: Buffer | string;
}

export interface CopyStats {
  paths: number;
  /** Bytes the controller sent to the host itself (over SSH); 0 when the host substituted from a cache. */
  bytes: number;
  /** How the closure got there: pushed over SSH (the default) or substituted from the deployment's cache. */
  mode?: 'push' | 'cache';
  /** In cache mode: bytes and paths this machine's copy uploaded to the cache (paths already there count 0). */
  uploaded?: { paths: number; bytes: number };
}

/** The S3 bucket of a binary cache, as the deployment's resource names it. */
export interface CacheBucket {
  bucket: string;
  region: string;
  /** Where hosts read it over HTTP; default: the bucket's own endpoint. */
  url?: string;
}

/** A binary cache in Nix's format that the controller fills and hosts substitute from. */
export interface BinaryCache {
  /** The URL hosts substitute from. */
  readonly url: string;
  /** The public half of the signing key (`name:base64`): the only key hosts trust for it. */
  readonly publicKey: string;
  /**
   * Upload, signed, whichever of these paths the cache lacks; a path is uploaded once per cache object however
   * many machines ask. `sent` hears of the bytes uploaded by this call.
   */
  upload(
    paths: readonly StorePathInfo[],
    source: NarSource,
    sent?: (bytes: number, total: number) => void,
  ): Promise<{ paths: number; bytes: number }>;
}

/** Opens the binary caches of a deployment (one per reconcile and bucket), with the deployment's signing key. */
export interface BinaryCaches {
  open(deployment: string, bucket: CacheBucket): Promise<BinaryCache>;
}

export interface HostSession {
  /** The key the host presented, "type base64". */
  readonly hostKey: string;
  observe(): Promise<HostObservation>;
  /** Which of these store paths the host lacks, order kept. */
  missingPaths(paths: string[]): Promise<string[]>;
  /** Stream the given paths (dependencies first) into the host's store. */
  importPaths(paths: readonly StorePathInfo[], source: NarSource): Promise<CopyStats>;
  /**
   * Have the host fetch these paths (and their closures) from a binary cache, trusting only `from.publicKey`,
   * which the host pins on first use and refuses to change.
   */
  substitute?(paths: readonly string[], from: { url: string; publicKey: string }): Promise<void>;
  /** Point the system profile at `system`; returns the generation number. */
  setProfile(system: string): Promise<number>;
  /**
   * Run `<system>/bin/switch-to-configuration <mode>`; resolves with what it printed, each line of which `output`
   * sees as it comes.
   */
  switchTo(system: string, mode: ActivationMode, output?: (line: string) => void): Promise<string | void>;
  /** Switch the system profile to generation `n`; returns that generation's system path. */
  switchGeneration(n: number): Promise<string>;
  deleteGenerations(numbers: number[]): Promise<void>;
  listGenerations(): Promise<Generation[]>;
  /**
   * Run a command built with shell quoting, `input` on its stdin (how key contents travel: never on a command
   * line). Fails as HostUnreachable when the connection is gone.
   */
  runCommand?(command: string, input?: Buffer): Promise<ExecResult>;
  close(): void;
}

export interface ConnectOptions {
  /**
   * A new connection, never one kept from before: what a confirmation that the host still accepts connections
   * needs (magic rollback).
   */
  fresh?: boolean;
}

export interface HostConnector {
  connect(
    endpoint: SshEndpoint,
    auth: SshAuth,
    check: HostKeyCheck,
    options?: ConnectOptions,
  ): Promise<HostSession>;
}

/** Context a target provider gets for one call. */
export interface TargetContext {
  deployment: string;
  /** Persist the provider's record now (before a create call, to make the call idempotent). */
  save(record: TargetRecord): Promise<void>;
  /** Public half of the deployment's SSH client key, to authorise on hosts Reconix creates. */
  clientPublicKey: string;
  /** What this reconcile's resource pass returned; `{}` when none ran (destroy, power). */
  facts: ResourceFacts;
}

/** One kind of target (`none`, `local`, `ec2`): it makes machines exist and says where they are. */
export interface TargetProvider {
  readonly env: string;
  /** Observe every machine of this kind in one go (batched where the backend allows). */
  observe(
    deployment: string,
    machines: MachinePhysical[],
    records: Record<string, MachineRecord | undefined>,
    facts: ResourceFacts,
  ): Promise<Record<string, TargetObservation>>;
  /** Whether machines of this kind are created by Reconix (false for `none`). */
  readonly creates: boolean;
  create(machine: MachinePhysical, ctx: TargetContext, previous?: TargetRecord): Promise<TargetRecord>;
  /** Bring a stopped or crashed target back (a reboot: /run is lost, the store stays). */
  start(machine: string, record: TargetRecord, ctx: TargetContext): Promise<TargetRecord>;
  stop(machine: string, record: TargetRecord, ctx: TargetContext): Promise<void>;
  /** Reboot in place (EC2's RebootInstances); a target without it is rebooted by stop and start. */
  reboot?(machine: string, record: TargetRecord, ctx: TargetContext): Promise<void>;
  destroy(machine: string, record: TargetRecord, ctx: TargetContext): Promise<void>;
  /** Endpoint and facts of a created target, from its record. */
  describe(machine: MachinePhysical, record: TargetRecord | undefined): TargetObservation;
}

export interface Clock {
  now(): Date;
  sleep(ms: number): Promise<void>;
}

export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** A change to one cloud resource, shown the way terraform shows it. */
export interface ResourceChange {
  /** "<type>.<name>", e.g. "ec2KeyPairs.kp". */
  resource: string;
  action: 'create' | 'update' | 'replace' | 'destroy' | 'adopt' | 'unchanged';
  /** Changed attributes: name -> [before, after]. Never secret values. */
  attributes?: Record<string, [unknown, unknown]>;
  note?: string;
}

/**
 * What a resource pass tells the targets that run after it (resolved names, ids, key files...). Opaque to the
 * core, which only passes it on: each provider checks the shape of what it reads.
 */
export type ResourceFacts = Readonly<Record<string, unknown>>;

/**
 * Cloud resources of a deployment (key pairs, security groups, volumes, addresses, buckets). The reconciler calls
 * it before targets, so machines can refer to what it made; it records ids and tokens in the state it is given.
 */
export interface ResourceManager {
  /**
   * Observe and plan; when `apply` is true also create, update or replace, recording each step. Returns the
   * changes and the facts the targets need next.
   */
  reconcile(ctx: ResourceContext, apply: boolean): Promise<ResourceOutcome>;
  /** Destroy every resource of the deployment in reverse dependency order, honouring retain policies. */
  destroy(ctx: ResourceContext, opts: { deleteNonEmptyBuckets?: boolean }): Promise<ResourceChange[]>;
}

/** What a reconcile of the cloud resources returns: the changes, and the facts it hands on to the targets. */
export interface ResourceOutcome {
  changes: ResourceChange[];
  facts: ResourceFacts;
}

export interface ResourceContext {
  deployment: string;
  physical: PhysicalView;
  state: import('./model.js').DeploymentState;
  save(): Promise<void>;
  log: Logger;
}
