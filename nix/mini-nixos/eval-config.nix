# Reconix's mini NixOS: the same call shape as <nixpkgs/nixos/lib/eval-config.nix>, for machines without nixpkgs.
# Returns { config, options } where config.system.build.toplevel is a derivation with bin/switch-to-configuration.
{
  modules,
  specialArgs ? { },
  system ? builtins.currentSystem,
  ...
}:
let
  lib = import ./lib.nix;
  pkgs = import ./pkgs.nix { inherit lib system; };
in
lib.evalModules {
  modules = [
    ./options.nix
    ./system.nix
  ] ++ modules;
  args = {
    inherit pkgs;
    modulesPath = toString ./.;
  };
  inherit specialArgs;
}
