// The `local` target: hosts Reconix creates on this machine.
export { LocalTargetProvider, type LocalTargetOptions } from './provider.js';
export { MarkerFileAllocator, type AddressAllocator } from './addresses.js';
export {
  parseHostRecord,
  prepareHost,
  readHostFile,
  removeHost,
  startHost,
  stopHostRecord,
  type HostMachinery,
  type LocalHostRecord,
} from './host.js';
export { checkBaseDir, hostDirName, hostLayout, type HostLayout } from './layout.js';
export { DEFAULT_BINARIES, hostArgv, isHostProcess, type HostBinaries } from './sshd.js';
