# Reconix's deployment options, with NixOps' names and meanings. Written against lib.mkOption and lib.types
# only, so it is the same module under <nixpkgs/nixos> and under the mini builder.
{ lib, name, ... }:
let
  inherit (lib) mkOption types;
  freeform = types.attrsOf types.anything;
in
{
  options = {
    deployment = {
      targetEnv = mkOption {
        type = types.str;
        default = "none";
        description = "Where the machine runs: none (an existing host), local (a local test host), ec2.";
      };
      targetHost = mkOption {
        type = types.str;
        default = name;
        description = "Host name or address that SSH connects to.";
      };
      targetPort = mkOption {
        type = types.port;
        default = 22;
      };
      targetUser = mkOption {
        type = types.str;
        default = "root";
      };
      sshKeyFile = mkOption {
        type = types.nullOr (types.either types.str types.path);
        default = null;
        description = "Private key on the controller used to reach the machine. Never copied into the store.";
      };
      hostPublicKey = mkOption {
        type = types.nullOr types.str;
        default = null;
        description = "The machine's SSH host key (\"ssh-ed25519 AAAA...\"), pinned without trust on first use.";
      };
      ec2 = mkOption {
        type = types.submodule ./ec2-options.nix;
        default = { };
        description = "EC2 settings (see ec2-options.nix): region, zone, instanceType, ami, keyPair, securityGroups, securityGroupIds, subnetId, associatePublicIpAddress, usePrivateIpAddress, elasticIPv4, blockDeviceMapping, tags.";
      };
      local = mkOption {
        type = freeform;
        default = { };
        description = "Settings of local (namespaced) test hosts.";
      };
      keys = mkOption {
        type = types.attrsOf (types.submodule ./key-options.nix);
        default = { };
        description = "Secrets sent to the machine over SSH (see key-options.nix); never put into the Nix store.";
      };
      tags = mkOption {
        type = types.listOf types.str;
        default = [ ];
        description = "Colmena's tags: rollout wave selectors and `--include @tag` select machines by them.";
      };
      copy = {
        mode = mkOption {
          type = types.enum [
            "push"
            "cache"
          ];
          default = "push";
          description = "How the closure reaches the machine: push (over SSH from the controller) or cache (the controller uploads each path once to `bucket`, a binary cache the machine substitutes from over HTTP).";
        };
        bucket = mkOption {
          type = types.nullOr (types.attrsOf types.anything);
          default = null;
          description = "The binary cache of copy mode cache: a bucket of the deployment, `resources.s3Buckets.<name>`.";
        };
        url = mkOption {
          type = types.nullOr types.str;
          default = null;
          description = "Where the machine reads the cache over HTTP; default: the bucket's own S3 endpoint.";
        };
      };
      healthChecks = mkOption {
        type = types.listOf (types.submodule ./health-options.nix);
        default = [ ];
        description = "Checks that must pass after activation before the machine counts as updated (see health-options.nix).";
      };
    };

    networking.privateIPv4 = mkOption {
      type = types.nullOr types.str;
      default = null;
      description = "The machine's private IPv4 address (set by Reconix once the machine exists).";
    };
    networking.publicIPv4 = mkOption {
      type = types.nullOr types.str;
      default = null;
      description = "The machine's public IPv4 address (set by Reconix once the machine exists).";
    };
  };
}
