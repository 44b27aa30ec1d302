// Nix evaluation of network files into the desired state.
export { NIX_DIR, NixEvaluator, type NixEvaluatorOptions } from './evaluator.js';
export type { KeySpec } from '../core/model.js';
