# Deploy to three NixOS machines you already have. The addresses below are placeholders from the
# documentation range: replace them with your hosts.
let
  host = address: {
    deployment.targetEnv = "none";
    deployment.targetHost = address; # replace with your host
    networking.privateIPv4 = address;
  };
in
{
  proxy = host "192.0.2.10";
  backend1 = host "192.0.2.11";
  backend2 = host "192.0.2.12";
}
