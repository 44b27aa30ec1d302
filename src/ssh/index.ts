// Hosts over SSH: the HostConnector and HostSession the reconciler drives.
export { SshHostConnector, type SshHostConnectorOptions } from './connector.js';
export { ConnectionPool, type ConnectionCounts, type ConnectionPoolOptions } from './pool.js';
export { SshHostSession, endpointName, type SshHostSessionOptions } from './session.js';
export { fingerprint, formatPublicKey, parsePublicKey, type PublicKey } from './host-key.js';
export { OBSERVE_SCRIPT, SYSTEM_PROFILE, parseObservation } from './observation.js';
export { sshExec, type SshExecOptions } from './ssh-exec.js';
