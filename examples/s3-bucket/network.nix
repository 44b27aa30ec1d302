# An S3 bucket with a policy, versioning and a lifecycle rule, and a machine that is told the bucket's name
# (NixOps' s3-bucket example). `resources.s3Buckets.data.name` is the bucket's real name once it exists.
let
  region = "us-east-1";
  bucket = "reconix-example-data";
in
{
  network.description = "S3 bucket";

  resources.s3Buckets.data = {
    inherit region;
    name = bucket;
    versioning = "Enabled";
    policy = builtins.toJSON {
      Version = "2012-10-17";
      Statement = [
        {
          Sid = "PublicRead";
          Effect = "Allow";
          Principal = "*";
          Action = [ "s3:GetObject" ];
          Resource = [ "arn:aws:s3:::${bucket}/public/*" ];
        }
      ];
    };
    lifeCycle = builtins.toJSON {
      Rules = [
        {
          ID = "expire-tmp";
          Status = "Enabled";
          Filter.Prefix = "tmp/";
          Expiration.Days = 7;
        }
      ];
    };
    tags.example = "s3-bucket";
    # Keep the data when the deployment is destroyed; set to false to delete the bucket with it.
    persistOnDestroy = false;
  };

  resources.ec2KeyPairs.kp = {
    inherit region;
  };

  machine =
    { resources, ... }:
    {
      deployment.targetEnv = "ec2";
      deployment.ec2.region = region;
      deployment.ec2.instanceType = "t3.micro";
      deployment.ec2.ami = "ami-12c6146b";
      deployment.ec2.keyPair = resources.ec2KeyPairs.kp;
      environment.etc."bucket".text = "${resources.s3Buckets.data.name}\n";
      system.stateVersion = "24.05";
    };
}
