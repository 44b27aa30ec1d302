# One deployment.healthChecks entry: after activation, a machine counts as updated only once all of its checks
# pass. Exactly one kind: `cmd` (a shell command run on the host, exit 0 = healthy), `http` (a request from the
# deployer; `{{address}}` in the URL is the machine's address) or `systemd` (no failed units, NixOps' check).
{ lib, ... }:
let
  inherit (lib) mkOption types;
  duration = default: description: mkOption {
    type = types.strMatching "([0-9]+(ms|s|m|h))+";
    inherit default description;
  };
in
{
  options = {
    name = mkOption {
      type = types.nullOr types.str;
      default = null;
      description = "What reports call the check; default: its command, URL or `systemd`.";
    };
    cmd = mkOption {
      type = types.nullOr types.str;
      default = null;
      description = "A shell command run on the host as the deploying user; exit 0 means healthy.";
    };
    http = mkOption {
      type = types.nullOr (
        types.submodule {
          options = {
            url = mkOption { type = types.str; };
            status = mkOption {
              type = types.int;
              default = 200;
            };
            body = mkOption {
              type = types.nullOr types.str;
              default = null;
              description = "A substring the response body must contain.";
            };
          };
        }
      );
      default = null;
    };
    systemd = mkOption {
      type = types.bool;
      default = false;
      description = "No failed systemd units on the host.";
    };
    timeout = duration "10s" "How long one attempt may take.";
    period = duration "2s" "Time between attempts.";
    retries = mkOption {
      type = types.ints.between 0 100;
      default = 3;
      description = "Failed attempts retried before the check fails.";
    };
    initialDelay = duration "0s" "Wait after activation before the first attempt.";
  };
}
