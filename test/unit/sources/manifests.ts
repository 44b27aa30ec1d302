// Manifest texts for the loader and directory controller tests.

/** A valid NixDeployment document named `name`. */
export function manifestDoc(name: string, extra = ''): string {
  return [
    'apiVersion: reconix.dev/v1alpha1',
    'kind: NixDeployment',
    `metadata: { name: ${name} }`,
    'spec:',
    '  network: { files: [network.nix] }',
    extra,
  ].join('\n');
}
