# The NixOS options the mini builder knows: a subset of real NixOS names and types, so that a machine module
# using only these evaluates the same way under <nixpkgs/nixos>. `boot`, `fileSystems` and most of `services`,
# `programs` and `users` are free-form: recorded in the system's config.json, not acted upon.
{ lib, ... }:
let
  inherit (lib) mkOption types;

  knownHostsOption = mkOption {
    default = { };
    description = "SSH host keys of other machines, written to /etc/ssh/ssh_known_hosts.";
    type = types.attrsOf (
      types.submodule (
        { name, ... }:
        {
          options = {
            hostNames = mkOption {
              type = types.listOf types.str;
              default = [ name ];
            };
            publicKey = mkOption {
              type = types.nullOr types.str;
              default = null;
            };
            publicKeyFile = mkOption {
              type = types.nullOr types.path;
              default = null;
            };
            certAuthority = mkOption {
              type = types.bool;
              default = false;
            };
            extraHostNames = mkOption {
              type = types.listOf types.str;
              default = [ ];
            };
          };
        }
      )
    );
  };

  etcEntry =
    { name, ... }:
    {
      options = {
        enable = mkOption {
          type = types.bool;
          default = true;
        };
        target = mkOption {
          type = types.str;
          default = name;
          description = "Path of the file relative to /etc.";
        };
        text = mkOption {
          type = types.nullOr types.lines;
          default = null;
        };
        source = mkOption {
          type = types.nullOr types.path;
          default = null;
        };
        mode = mkOption {
          type = types.str;
          default = "symlink";
          description = "Recorded only: files in the store are read-only.";
        };
        user = mkOption {
          type = types.str;
          default = "+0";
        };
        group = mkOption {
          type = types.str;
          default = "+0";
        };
      };
    };

  activationScript = types.submodule {
    options = {
      text = mkOption { type = types.lines; };
      deps = mkOption {
        type = types.listOf types.str;
        default = [ ];
      };
      supportsDryActivation = mkOption {
        type = types.bool;
        default = false;
      };
    };
  };
in
{
  options = {
    networking = {
      hostName = mkOption {
        type = types.str;
        default = "nixos";
      };
      domain = mkOption {
        type = types.nullOr types.str;
        default = null;
      };
      hosts = mkOption {
        type = types.attrsOf (types.listOf types.str);
        default = { };
      };
      extraHosts = mkOption {
        type = types.lines;
        default = "";
        description = "Lines appended to /etc/hosts.";
      };
      hostFiles = mkOption {
        type = types.listOf types.path;
        default = [ ];
        description = "Files appended to /etc/hosts (when the system is built).";
      };
      firewall = {
        enable = mkOption {
          type = types.bool;
          default = true;
        };
        allowedTCPPorts = mkOption {
          type = types.listOf types.port;
          default = [ ];
        };
        allowedUDPPorts = mkOption {
          type = types.listOf types.port;
          default = [ ];
        };
      };
    };

    environment.systemPackages = mkOption {
      type = types.listOf types.package;
      default = [ ];
      description = "Packages of the system: their store paths, one a line, in $out/sw-paths (so in its closure).";
    };

    environment.etc = mkOption {
      type = types.attrsOf (types.submodule etcEntry);
      default = { };
      description = "Files of the system's etc directory ($out/etc).";
    };

    system = {
      activationScripts = mkOption {
        type = types.attrsOf (types.either types.str activationScript);
        default = { };
        description = "Shell snippets (/bin/sh -e) run by switch-to-configuration switch and test.";
      };
      stateVersion = mkOption {
        type = types.str;
        default = "24.05";
      };
      nixos = {
        label = mkOption {
          type = types.strMatching "[a-zA-Z0-9:_.-]*";
          default = "mini-1";
        };
      };
      build = mkOption {
        type = types.attrsOf types.unspecified;
        default = { };
        internal = true;
      };
    };

    services = {
      _freeformType = types.anything;
      openssh.knownHosts = knownHostsOption;
    };
    programs = {
      _freeformType = types.anything;
      ssh.knownHosts = knownHostsOption;
      ssh.knownHostsFiles = mkOption {
        type = types.listOf types.path;
        default = [ ];
        description = "Files of SSH host keys appended to /etc/ssh/ssh_known_hosts (when the system is built).";
      };
    };
    users = {
      _freeformType = types.anything;
      users = mkOption {
        type = types.attrsOf types.anything;
        default = { };
      };
    };
    boot = mkOption {
      type = types.anything;
      default = { };
    };
    fileSystems = mkOption {
      type = types.attrsOf types.anything;
      default = { };
    };
  };
}
