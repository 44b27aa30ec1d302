// The ec2 target against moto: launch with everything a machine refers to, observe per region, survive cut-short
// launches, never reuse a terminated instance's token, power, in-place changes and replacement, destroy.
import assert from 'node:assert/strict';
import {
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type Instance,
} from '@aws-sdk/client-ec2';
import type { MachinePhysical, TargetObservation } from '../../../src/core/model.js';
import { newToken, parseInstanceRecord } from '../../../src/providers/aws/instances/record.js';
import { listEverything } from '../../support/aws-listings.js';
import { afterTargets, ec2Machine, useMoto, useWorld, view, type AwsWorld } from './helpers.js';

const R = 'eu-west-1';
const AMI = 'ami-12c6146b';

const resources = {
  ec2KeyPairs: { kp: { region: R } },
  ec2SecurityGroups: { ssh: { region: R, rules: [{ fromPort: 22, sourceIp: '0.0.0.0/0' }] } },
  elasticIPs: { ip: { region: R } },
  ebsVolumes: { data: { region: R, zone: `${R}b`, size: 4 } },
};

function web(extra: Record<string, unknown> = {}): MachinePhysical {
  return ec2Machine('web', {
    region: R,
    zone: `${R}b`,
    instanceType: 't3.micro',
    ami: AMI,
    keyPair: { _ref: 'ec2KeyPairs.kp' },
    securityGroups: [{ _ref: 'ec2SecurityGroups.ssh' }],
    elasticIPv4: { _ref: 'elasticIPs.ip' },
    blockDeviceMapping: { '/dev/xvdf': { disk: { _ref: 'ebsVolumes.data' } }, '/dev/xvdg': { size: 8 } },
    tags: { role: 'web' },
    ...extra,
  });
}

async function instancesOf(w: AwsWorld, region = R): Promise<Instance[]> {
  const out = await w.clients.ec2(region).send(new DescribeInstancesCommand({}));
  return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
}

describe('the ec2 target against moto', function () {
  this.timeout(120_000);
  const moto = useMoto(this);
  const w = useWorld(this, moto);

  /** Resources, then observe, then create what is missing: the reconciler's order. */
  async function deploy(machines: MachinePhysical[], opts = {}): Promise<Record<string, TargetObservation>> {
    const physical = view(resources, machines);
    const { facts } = await w.manager(opts).reconcile(w.ctx(physical), true);
    const p = w.provider();
    const records = Object.fromEntries(machines.map((m) => [m.name, w.state.machines[m.name]]));
    const seen = await p.observe('test', machines, records, facts);
    for (const m of machines) {
      const rec = w.state.machines[m.name];
      if (!seen[m.name]?.exists) await p.create(m, w.targetCtx(m.name, facts), rec?.target);
      else if (!seen[m.name]?.running) await p.start(m.name, rec?.target ?? {}, w.targetCtx(m.name, facts));
    }
    return p.observe(
      'test',
      machines,
      Object.fromEntries(machines.map((m) => [m.name, w.state.machines[m.name]])),
      afterTargets(facts),
    );
  }

  it('launches an instance with its key pair, group, address, volumes, tags and host key', async () => {
    const seen = await deploy([web()]);
    const rec = parseInstanceRecord(w.state.machines.web?.target)!;
    const [inst] = (await instancesOf(w)).filter((i) => i.State?.Name === 'running');
    assert.ok(inst && rec.ready);
    assert.equal(inst.InstanceId, rec.instanceId);
    assert.equal(inst.ClientToken, rec.token);
    assert.equal(inst.KeyName, 'reconix-test-kp');
    assert.equal(inst.Placement?.AvailabilityZone, `${R}b`);
    assert.deepEqual(
      inst.SecurityGroups?.map((g) => g.GroupId),
      [w.state.resources['ec2SecurityGroups.ssh']?.id],
    );
    assert.equal(inst.PublicIpAddress, w.state.resources['elasticIPs.ip']?.facts.publicIp);
    const devices = Object.fromEntries(
      (inst.BlockDeviceMappings ?? []).map((b) => [b.DeviceName, b.Ebs?.VolumeId]),
    );
    assert.equal(devices['/dev/xvdf'], w.state.resources['ebsVolumes.data']?.id);
    assert.ok(devices['/dev/xvdg']);
    const tags = Object.fromEntries((inst.Tags ?? []).map((t) => [t.Key, t.Value]));
    assert.deepEqual(
      [tags.role, tags['reconix:deployment'], tags['reconix:name'], tags.Name],
      ['web', 'test', 'web', 'test [web]'],
    );
    // THEN the user data carries the host key Reconix pins, as NixOps hands it over
    const ud = await w.clients
      .ec2(R)
      .send(new DescribeInstanceAttributeCommand({ InstanceId: inst.InstanceId, Attribute: 'userData' }));
    const text = Buffer.from(ud.UserData?.Value ?? '', 'base64').toString();
    assert.ok(
      text.startsWith(
        `SSH_HOST_ED25519_KEY_PUB:${rec.hostPublicKey}\nSSH_HOST_ED25519_KEY:-----BEGIN OPENSSH PRIVATE KEY-----|`,
      ),
    );
    // AND the observation has the addresses and the key, and SSH would go to the public address (the test only
    // reads it: nothing connects here)
    assert.deepEqual(seen.web?.facts, {
      privateIPv4: inst.PrivateIpAddress,
      publicIPv4: inst.PublicIpAddress,
      hostPublicKey: rec.hostPublicKey,
    });
    assert.deepEqual(seen.web?.endpoint, { host: inst.PublicIpAddress, port: 22, user: 'root' });
    assert.equal(seen.web?.running, true);
    // AND the host's private key is not kept once the instance has it
    assert.equal(await w.secrets.read('test', `host-key.web.${rec.token}`), undefined);
  });

  it('fails alone a machine that refers to a resource of another region', async () => {
    const wrong = ec2Machine('wrong', { region: 'us-east-1', ami: AMI, keyPair: { _ref: 'ec2KeyPairs.kp' } });
    const right = ec2Machine('right', { region: R, ami: AMI, keyPair: { _ref: 'ec2KeyPairs.kp' } });
    const { facts } = await w.manager().reconcile(w.ctx(view(resources, [wrong, right])), true);
    const seen = await w.provider().observe('test', [wrong, right], {}, facts);
    assert.match(
      seen.wrong?.detail ?? '',
      /machine is in us-east-1 but refers to ec2KeyPairs\.kp in eu-west-1/,
    );
    await assert.rejects(
      w.provider().create(wrong, w.targetCtx('wrong', facts)),
      /InvalidManifest|refers to ec2KeyPairs\.kp/,
    );
    await w.provider().create(right, w.targetCtx('right', facts));
    assert.equal((await instancesOf(w)).length, 1);
  });

  it('lists instances once per region, for machines in several regions', async () => {
    const machines = [
      ec2Machine('a', { region: R, ami: AMI }),
      ec2Machine('b', { region: 'us-east-1', ami: AMI }),
      ec2Machine('c', { region: 'us-east-1', ami: AMI }),
    ];
    await deploy(machines);
    w.counter.reset();
    const seen = await w.provider().observe('test', machines, w.state.machines, {});
    assert.deepEqual(
      Object.values(seen).map((o) => o.running),
      [true, true, true],
    );
    assert.deepEqual(w.counter.summary(), {
      [`ec2 ${R} DescribeInstances`]: 1,
      'ec2 us-east-1 DescribeInstances': 1,
    });
  });

  it('launches with the recorded token when the launch itself never happened', async () => {
    const m = ec2Machine('solo', { region: R, ami: AMI });
    const token = newToken();
    w.state.machines.solo = { targetEnv: 'ec2', target: { region: R, token } };
    await deploy([m]);
    const launched = await instancesOf(w);
    assert.deepEqual(
      launched.map((i) => i.ClientToken),
      [token],
    );
  });

  it('adopts an instance launched just before a crash, by its token, and completes it', async () => {
    const m = web();
    await w.manager().reconcile(w.ctx(view(resources, [m])), true);
    // GIVEN a launch that AWS did but the state never heard of (no instance id, not completed)
    const token = newToken();
    await w.clients.ec2(R).send(
      new RunInstancesCommand({
        ImageId: AMI,
        MinCount: 1,
        MaxCount: 1,
        ClientToken: token,
        Placement: { AvailabilityZone: `${R}b` },
        TagSpecifications: [
          {
            ResourceType: 'instance',
            Tags: [
              { Key: 'reconix:deployment', Value: 'test' },
              { Key: 'reconix:name', Value: 'web' },
            ],
          },
        ],
      }),
    );
    w.state.machines.web = {
      targetEnv: 'ec2',
      target: { region: R, token, hostPublicKey: 'ssh-ed25519 AAAAC3Nza' },
    };
    const seen = await w.provider().observe('test', [m], w.state.machines, {});
    assert.deepEqual([seen.web?.exists, seen.web?.running], [true, false]);
    assert.match(seen.web?.detail ?? '', /launched but not completed/);
    await deploy([m]);
    const launched = await instancesOf(w);
    assert.equal(launched.length, 1);
    const rec = parseInstanceRecord(w.state.machines.web?.target)!;
    assert.deepEqual([rec.instanceId, rec.ready], [launched[0]?.InstanceId, true]);
    assert.equal(launched[0]?.PublicIpAddress, w.state.resources['elasticIPs.ip']?.facts.publicIp);
  });

  it('adopts an instance by its tags when the state is lost, taking its host key from the user data', async () => {
    await deploy([web()]);
    const before = parseInstanceRecord(w.state.machines.web?.target)!;
    w.state.machines = {};
    await deploy([web()]);
    const after = parseInstanceRecord(w.state.machines.web?.target)!;
    assert.equal(after.instanceId, before.instanceId);
    assert.equal(after.hostPublicKey, before.hostPublicKey);
    assert.equal((await instancesOf(w)).length, 1);
  });

  it("never reuses a terminated instance's token", async () => {
    const m = ec2Machine('once', { region: R, ami: AMI });
    await deploy([m]);
    const first = parseInstanceRecord(w.state.machines.once?.target)!;
    await w.clients.ec2(R).send(new TerminateInstancesCommand({ InstanceIds: [first.instanceId!] }));
    const seen = await deploy([m]);
    const second = parseInstanceRecord(w.state.machines.once?.target)!;
    assert.notEqual(second.token, first.token);
    assert.notEqual(second.instanceId, first.instanceId);
    assert.equal(seen.once?.running, true);
    const tokens = (await instancesOf(w)).map((i) => [i.ClientToken, i.State?.Name]);
    assert.deepEqual(
      tokens.sort(),
      [
        [first.token, 'terminated'],
        [second.token, 'running'],
      ].sort(),
    );
  });

  it('stops, starts and reboots an instance', async () => {
    const m = ec2Machine('p', { region: R, ami: AMI });
    await deploy([m]);
    const p = w.provider();
    const target = w.state.machines.p!.target!;
    await p.stop('p', target, w.targetCtx('p'));
    assert.equal(
      (await p.observe('test', [m], w.state.machines, {})).p?.detail?.endsWith('is stopped'),
      true,
    );
    await p.start('p', target, w.targetCtx('p'));
    assert.equal((await p.observe('test', [m], w.state.machines, {})).p?.running, true);
    await p.reboot('p', target);
    assert.equal((await instancesOf(w))[0]?.State?.Name, 'running');
  });

  it('changes the instance type by stop, modify and start only when a reboot is allowed', async () => {
    await deploy([web()]);
    const bigger = web({ instanceType: 't3.large', tags: { role: 'web', size: 'large' } });
    const physical = view(resources, [bigger]);
    const plan = (await w.manager().reconcile(w.ctx(physical), true)).changes;
    const change = plan.find((c) => c.resource === 'ec2Instances.web');
    assert.equal(change?.action, 'update');
    assert.deepEqual(change?.attributes?.instanceType, ['t3.micro', 't3.large']);
    assert.match(change?.note ?? '', /--allow-reboot/);
    assert.equal((await instancesOf(w))[0]?.InstanceType, 't3.micro');
    w.counter.reset();
    await w.manager({ allowReboot: true }).reconcile(w.ctx(physical), true);
    const [inst] = await instancesOf(w);
    assert.deepEqual([inst?.InstanceType, inst?.State?.Name], ['t3.large', 'running']);
    assert.ok((inst?.Tags ?? []).some((t) => t.Key === 'size' && t.Value === 'large'));
    const order = w.counter.calls.map((c) => c.command).filter((c) => /^(Stop|Start|Modify)/.test(c));
    assert.deepEqual(order, ['StopInstances', 'ModifyInstanceAttribute', 'StartInstances']);
  });

  it('replaces an instance whose image changed only with --allow-recreate', async () => {
    await deploy([web()]);
    const old = parseInstanceRecord(w.state.machines.web?.target)!;
    const other = web({ ami: 'ami-03cf127a' });
    const plan = (await w.manager().reconcile(w.ctx(view(resources, [other])), true)).changes;
    assert.match(plan.find((c) => c.resource === 'ec2Instances.web')?.note ?? '', /forces replacement: ami/);
    await deploy([other], { allowRecreate: true });
    const now = parseInstanceRecord(w.state.machines.web?.target)!;
    assert.notEqual(now.instanceId, old.instanceId);
    const running = (await instancesOf(w)).filter((i) => i.State?.Name === 'running');
    assert.deepEqual(
      running.map((i) => [i.InstanceId, i.ImageId]),
      [[now.instanceId, 'ami-03cf127a']],
    );
  });

  it("uses the managed key pair's private key for SSH unless the machine is mapped to a test host", async () => {
    const m = web();
    await deploy([m]);
    const keyFile = w.secrets.path('test', `ec2KeyPairs.kp.${w.state.resources['ec2KeyPairs.kp']?.token}`);
    assert.equal(parseInstanceRecord(w.state.machines.web?.target)?.keyFile, keyFile);
    const plain = web();
    w.provider().describe(plain, w.state.machines.web?.target);
    assert.equal(plain.sshKeyFile, keyFile);
    const mapped = web();
    const host = {
      endpoint: { host: '127.78.0.9', port: 22, user: 'root' },
      hostPublicKey: 'ssh-ed25519 AAAAtest',
    };
    const obs = w.provider({ web: host }).describe(mapped, w.state.machines.web?.target);
    assert.equal(mapped.sshKeyFile, undefined);
    assert.deepEqual([obs.endpoint, obs.facts.hostPublicKey], [host.endpoint, host.hostPublicKey]);
  });

  it('terminates the instance and any duplicate tagged for the machine on destroy', async () => {
    const m = ec2Machine('d', { region: R, ami: AMI });
    await deploy([m]);
    await w.clients.ec2(R).send(
      new RunInstancesCommand({
        ImageId: AMI,
        MinCount: 1,
        MaxCount: 1,
        TagSpecifications: [
          {
            ResourceType: 'instance',
            Tags: [
              { Key: 'reconix:deployment', Value: 'test' },
              { Key: 'reconix:name', Value: 'd' },
            ],
          },
        ],
      }),
    );
    await w.provider().destroy('d', w.state.machines.d!.target!, w.targetCtx('d'));
    assert.deepEqual((await listEverything(w.clients, [R])).instances, []);
  });
});
