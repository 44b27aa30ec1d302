# Run the machine on EC2 (NixOps' trivial-ec2), with a key pair and a security group that Reconix creates and
# destroys with the deployment. The AMI below is one moto knows; on AWS, use a NixOS AMI of your region.
let
  region = "us-east-1";
in
{
  machine =
    { resources, ... }:
    {
      deployment.targetEnv = "ec2";
      deployment.ec2.region = region;
      deployment.ec2.instanceType = "t3.micro";
      deployment.ec2.ami = "ami-12c6146b";
      deployment.ec2.keyPair = resources.ec2KeyPairs.my-key-pair;
      deployment.ec2.securityGroups = [ resources.ec2SecurityGroups.ssh ];
      deployment.ec2.tags.example = "trivial-ec2";
    };

  # The key is made locally; only its public half goes to AWS.
  resources.ec2KeyPairs.my-key-pair = {
    inherit region;
  };

  resources.ec2SecurityGroups.ssh = {
    inherit region;
    description = "SSH from anywhere";
    rules = [
      {
        fromPort = 22;
        toPort = 22;
        sourceIp = "0.0.0.0/0";
      }
    ];
  };
}
