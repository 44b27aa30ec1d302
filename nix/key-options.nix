# One deployment.keys.<name>, with NixOps' (and colmena's) names. Exactly one of text, keyFile and keyCommand
# (checked by eval-network.nix, which names the machine and the key). The key's content is read by the deployer
# and sent over SSH; it never enters the Nix store unless a configuration interpolates it (do not: refer to the
# key by its path, e.g. /run/keys/<name>).
{ lib, ... }:
let
  inherit (lib) mkOption types;
in
{
  options = {
    text = mkOption {
      type = types.nullOr types.str;
      default = null;
      description = "The key's content.";
    };
    keyFile = mkOption {
      # A path value is taken by its name (toString), so ./secret is not copied into the store; "${./secret}"
      # would be, by Nix itself, before Reconix sees it.
      type = types.nullOr (types.either types.str types.path);
      default = null;
      apply = v: if v == null then null else toString v;
      description = "A file on the controller, read at deploy time.";
    };
    keyCommand = mkOption {
      type = types.nullOr (types.listOf types.str);
      default = null;
      description = "A command (argv, no shell) run on the controller at deploy time; its stdout is the key.";
    };
    destDir = mkOption {
      type = types.str;
      default = "/run/keys";
      description = "Directory the key is written to (a tmpfs, so it is gone after a reboot until re-sent).";
    };
    user = mkOption {
      type = types.str;
      default = "root";
    };
    group = mkOption {
      type = types.str;
      default = "root";
    };
    permissions = mkOption {
      type = types.str;
      default = "0600";
    };
    uploadAt = mkOption {
      type = types.enum [
        "pre-activation"
        "post-activation"
      ];
      default = "pre-activation";
      description = "Send the key before switch-to-configuration runs, or after it succeeded.";
    };
  };
}
