# Three web servers that get their closure from a binary cache in an S3 bucket of the deployment, instead of
# each receiving it from the controller over SSH: the controller uploads each store path once, signed with the
# deployment's key, and every machine substitutes from the bucket over HTTP, trusting that key only.
{
  region ? "us-east-1",
  bucket ? "reconix-example-cache",
  ...
}:
{
  network.description = "Fan-out through a binary cache";

  # The machines read the bucket over HTTP without credentials: its objects are public (they are signed, so a
  # reader learns what the machines run but cannot make them run anything else). Put a `url` in front otherwise.
  resources.s3Buckets.cache = {
    inherit region;
    name = bucket;
    policy = builtins.toJSON {
      Version = "2012-10-17";
      Statement = [
        {
          Sid = "NixSubstituters";
          Effect = "Allow";
          Principal = "*";
          Action = [ "s3:GetObject" ];
          Resource = [ "arn:aws:s3:::${bucket}/*" ];
        }
      ];
    };
  };

  defaults =
    { resources, ... }:
    {
      deployment.copy = {
        mode = "cache";
        bucket = resources.s3Buckets.cache;
      };
      environment.etc."motd".text = "Served from a binary cache.\n";
      system.stateVersion = "24.05";
    };

  web1 = { ... }: { };
  web2 = { ... }: { };
  web3 = { ... }: { };
}
