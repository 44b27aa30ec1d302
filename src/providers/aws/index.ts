// AWS: the `ec2` target and the resource manager for key pairs, security groups, volumes, elastic IPs and buckets.
export {
  createAwsClients,
  type AwsCall,
  type AwsCallHook,
  type AwsClientOptions,
  type AwsClients,
} from './clients.js';
export {
  Ec2TargetProvider,
  type AddressOverride,
  type AddressOverrides,
  type Ec2ProviderOptions,
} from './instances/provider.js';
export { AwsResourceManager, factsOf, type AwsResourceOptions } from './manager.js';
export { awsResourcePass } from './pass.js';
export { isEc2Facts, readEc2Facts, type Ec2Facts } from './facts.js';
export { FileSecretStore, type SecretStore } from './secrets.js';
