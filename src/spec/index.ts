// Nix evaluation of network files into the desired state, and the controller's local Nix store.
export { parseDuration } from './duration.js';
export { NIX_DIR, NixEvaluator, cleanNixError, type NixEvaluatorOptions } from './evaluator.js';
export { loadManifests, parseManifests, validateManifest, type ManifestResult } from './manifest.js';
export type { KeySpec } from './shapes.js';
export { resolveNetworkSource } from './source.js';
export { narOf, sha256Base16 } from './nar.js';
export { NixLocalStore, type NixLocalStoreOptions } from './store.js';
