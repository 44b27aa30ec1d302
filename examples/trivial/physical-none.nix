# Deploy to a NixOS machine you already have: replace the host with yours.
{
  machine = {
    deployment.targetEnv = "none";
    deployment.targetHost = "machine.example.org"; # replace with your host
  };
}
