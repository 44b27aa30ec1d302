// The AWS SDK's clients, loaded as the CommonJS packages they are. Imported as ES modules, Node scans their
// bundles (2 MB for EC2) for export names and builds a namespace of thousands of them: the two clients then cost
// the controller 109 MB of memory instead of 80 MB, in every run that uses AWS. Types still come by `import type`.
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

export const ec2Sdk = load('@aws-sdk/client-ec2') as typeof import('@aws-sdk/client-ec2');
export const s3Sdk = load('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');
