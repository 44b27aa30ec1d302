// The physical view of one ec2 machine, "web", with the given deployment.ec2 options.
import type { MachinePhysical } from '../../../src/core/model.js';

export const ec2Machine = (ec2: Record<string, unknown>): MachinePhysical => ({
  name: 'web',
  targetEnv: 'ec2',
  targetPort: 22,
  targetUser: 'root',
  options: { ec2 },
  keys: [],
});
