# The `pkgs` module argument of the mini builder: there is no nixpkgs, only the few helpers below.
{ lib, system }:
{
  inherit lib system;
  writeText =
    name: text:
    derivation {
      inherit name system text;
      builder = "/bin/sh";
      args = [
        "-c"
        "cp \"$textPath\" \"$out\""
      ];
      PATH = "/usr/bin:/bin";
      passAsFile = [ "text" ];
    };
}
