# A single machine that serves a greeting file. Deploy it with a physical file: physical-local.nix (a local test
# host) or physical-none.nix (a NixOS machine you already have).
{
  network.description = "Trivial example";

  machine =
    { config, ... }:
    {
      environment.etc."motd".text = "Welcome to ${config.networking.hostName}, deployed by Reconix.\n";
      networking.firewall.allowedTCPPorts = [ 22 ];
      system.stateVersion = "24.05";
    };
}
