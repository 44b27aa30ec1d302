# The small `lib` of Reconix's mini NixOS builder: the module system (modules.nix), option types (types.nix) and
# the handful of list, string and attribute helpers NixOS modules commonly use. Names and meanings follow
# nixpkgs' lib, so a module written against this subset also evaluates under real NixOS.
let
  lib =
    import ./trivial.nix lib
    // import ./modules.nix lib
    // {
      types = import ./types.nix lib;
    };
in
lib
