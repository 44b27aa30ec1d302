# Evaluates a Reconix network (NixOps-style network files merged in order) to JSON-serialisable views.
#
# Every argument is a file path or an enum: the network files, arguments and facts are read from JSON files, so
# nothing from a spec is spliced into Nix source or a shell.
#   networkFiles  JSON list of absolute paths of network files, in merge order
#   argsFile      JSON object of strings passed to network files that are functions (like NixOps' --argstr)
#   factsFile     JSON InfraFacts ({ machines.<n> = { privateIPv4, publicIPv4, hostPublicKey }, resources })
#   onlyFile      JSON list of machine names: `systems` and `keys` cover only these
#   optionFile    JSON list of an option's path (["networking" "hostName"]): what `option` shows
#   hostEntriesFile JSON { <machine> = { host, knownHost } } of every machine, as `hostEntries` gives them: the
#                 network's /etc/hosts and known-host lines, so that a machine's evaluation does not evaluate every
#                 other machine's addresses and keys
#   builder       "nixos" (<nixpkgs/nixos>), "mini" (./mini-nixos) or "auto" (nixos when nixpkgs is found);
#                 the only place where the two paths differ
# Outputs: physical (phase 1, builds nothing), systems.<n> = { drvPath, out } (phase 2, with --read-write-mode
# so that the derivations are written to the store), keys.<n>.<key> (secrets, for the deployer only).
{
  networkFiles,
  argsFile ? null,
  factsFile ? null,
  onlyFile ? null,
  optionFile ? null,
  hostEntriesFile ? null,
  builder ? "auto",
}:
let
  inherit (builtins)
    attrNames
    concatMap
    concatStringsSep
    filter
    foldl'
    functionArgs
    intersectAttrs
    isAttrs
    isFunction
    listToAttrs
    mapAttrs
    match
    removeAttrs
    unsafeDiscardStringContext
    zipAttrsWith
    ;
  readJSON = file: builtins.fromJSON (builtins.readFile file);

  files = readJSON networkFiles;
  args = if argsFile == null then { } else readJSON argsFile;
  facts = {
    machines = { };
    resources = { };
  } // (if factsFile == null then { } else readJSON factsFile);
  only = if onlyFile == null then null else readJSON onlyFile;

  # The seam between real NixOS and the mini builder.
  nixpkgs = builtins.tryEval <nixpkgs>;
  nixpkgsFound = nixpkgs.success && builtins.pathExists (toString nixpkgs.value + "/nixos/lib/eval-config.nix");
  useNixos =
    if builder == "nixos" then
      true
    else if builder == "mini" then
      false
    else if builder == "auto" then
      nixpkgsFound
    else
      throw "builder must be auto, nixos or mini, not ${builtins.toJSON builder}";
  system =
    if useNixos then
      {
        evalConfig = import <nixpkgs/nixos/lib/eval-config.nix>;
        lib = import <nixpkgs/lib>;
      }
    else
      {
        evalConfig = import ./mini-nixos/eval-config.nix;
        lib = import ./mini-nixos/lib.nix;
      };
  inherit (system) lib;

  # A function gets the arguments it names (all of them if it names none, as `args: ...` or `{ ... }:`).
  callWith =
    available: f:
    let
      wanted = functionArgs f;
    in
    f (if wanted == { } then available else intersectAttrs wanted available);

  networks = map (
    path:
    let
      e = import path;
      value = if isFunction e then callWith args e else e;
    in
    if isAttrs value then
      { inherit path value; }
    else
      throw "The network file `${path}' does not evaluate to an attribute set."
  ) files;

  reserved = [
    "network"
    "defaults"
    "resources"
    "require"
  ];
  machineNames = attrNames (zipAttrsWith (_: _: null) (map (n: removeAttrs n.value reserved) networks));
  # Each machine's (or defaults') module from each file, wrapped in `{ _file; imports }`: both module systems
  # (NixOS' lib.evalModules and the mini one) then name that file in their errors, for the module and for the
  # anonymous modules it imports, as they do for modules imported by path.
  fromFiles =
    attr: concatMap (n: if n.value ? ${attr} then [ { _file = n.path; imports = [ n.value.${attr} ]; } ] else [ ]) networks;
  networkInfo = foldl' (acc: n: acc // (n.value.network or { })) { } networks;

  # Resources: the definitions of resources.<type>.<name> in all files, merged in order. Machines and other
  # resources see references ({ _ref, name } plus the facts known about the resource).
  resourceDefs = zipAttrsWith (_: perFile: zipAttrsWith (_: defs: defs) perFile) (
    map (n: n.value.resources or { }) networks
  );
  resources = mapAttrs (
    type: byName:
    mapAttrs (name: _: { inherit name; } // (facts.resources.${type}.${name} or { }) // { _ref = "${type}.${name}"; }) byName
  ) resourceDefs;
  resourceValues = mapAttrs (
    _type: byName:
    mapAttrs (
      name: defs:
      foldl' (
        acc: d:
        acc
        // (
          if isFunction d then
            callWith {
              inherit name resources lib;
              uuid = "reconix";
            } d
          else
            d
        )
      ) { } defs
    ) byName
  ) resourceDefs;

  # NixOS host names are letters, digits, "-" and "_"; other machine names get a host name derived from them.
  validHostName = s: match "[[:alnum:]]([[:alnum:]_-]{0,61}[[:alnum:]])?" s != null;
  hostNameOf =
    name:
    let
      cleaned = lib.concatMapStrings (c: if match "[[:alnum:]_-]" c != null then c else "-") (
        builtins.genList (i: builtins.substring i 1 name) (builtins.stringLength name)
      );
    in
    if validHostName name then
      name
    else if validHostName cleaned then
      cleaned
    else
      "machine-" + builtins.substring 0 12 (builtins.hashString "sha256" name);

  # What provisioning learnt, injected into every machine: its own addresses, an /etc/hosts line and a known
  # host key for every machine whose address or key is known.
  addressOf =
    n:
    let
      net = nodes.${n}.config.networking;
    in
    if net.privateIPv4 != null then net.privateIPv4 else net.publicIPv4;
  # A host key goes into known_hosts files: exactly one key on one line, or a second line would be trusted too.
  # A comment after the key (as in a .pub file) is dropped; a second line, options or a wrong type are refused.
  checkedHostKey =
    n: key:
    let
      m =
        if key == null then
          null
        else
          builtins.match "(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) ([A-Za-z0-9+/]+={0,2})( [^\n\r]*)?" key;
    in
    if key == null then
      null
    else if m != null then
      "${builtins.elemAt m 0} ${builtins.elemAt m 2}"
    else
      throw "The machine `${n}': deployment.hostPublicKey must be exactly one SSH host key (\"ssh-ed25519 AAAA... [comment]\" on one line), not ${builtins.toJSON (builtins.substring 0 80 key)}.";
  hostKeyOf =
    n: checkedHostKey n (facts.machines.${n}.hostPublicKey or nodes.${n}.config.deployment.hostPublicKey);
  # The network's /etc/hosts lines and known host keys are the same for every machine: made once, as two files,
  # and named by each machine's networking.hostFiles and programs.ssh.knownHostsFiles. As N per-machine
  # definitions (one knownHosts submodule per machine in every machine) they cost N^2 module evaluations.
  # One machine's part of them: its /etc/hosts line and its known-host line, each null when it has none.
  hostEntry =
    n:
    let
      a = addressOf n;
      key = hostKeyOf n;
    in
    {
      host = if a != null && validHostName n then "${a} ${n}\n" else null;
      knownHost =
        if key == null then null else "${concatStringsSep "," ([ n ] ++ lib.optional (a != null) a)} ${key}\n";
    };
  # Given (hostEntriesFile), a machine's evaluation reads no other machine's files for them.
  givenEntries = if hostEntriesFile == null then null else readJSON hostEntriesFile;
  entryOf =
    n:
    if givenEntries == null then
      hostEntry n
    else
      givenEntries.${n} or (throw "reconix: no host entry was given for the machine `${n}'");
  entries = map entryOf machineNames;
  hostsLines = concatMap (e: if e.host == null then [ ] else [ e.host ]) entries;
  knownHostsLines = concatMap (e: if e.knownHost == null then [ ] else [ e.knownHost ]) entries;
  hostsFile = builtins.toFile "reconix-hosts" (concatStringsSep "" hostsLines);
  knownHostsFile = builtins.toFile "reconix-known-hosts" (concatStringsSep "" knownHostsLines);
  factsModule =
    name:
    let
      own = facts.machines.${name} or { };
    in
    {
      _file = toString ./eval-network.nix;
      config = lib.mkMerge [
        (lib.mkIf (own ? privateIPv4) { networking.privateIPv4 = lib.mkOverride 900 own.privateIPv4; })
        (lib.mkIf (own ? publicIPv4) { networking.publicIPv4 = lib.mkOverride 900 own.publicIPv4; })
        { networking.hostFiles = lib.mkIf (hostsLines != [ ]) [ hostsFile ]; }
        { programs.ssh.knownHostsFiles = lib.mkIf (knownHostsLines != [ ]) [ knownHostsFile ]; }
      ];
    };
  baseModule = name: {
    _file = toString ./eval-network.nix;
    config.networking.hostName = lib.mkDefault (hostNameOf name);
  };

  nodes = listToAttrs (
    map (name: {
      inherit name;
      value = system.evalConfig {
        # Recent nixpkgs no longer defaults this; nixpkgs.hostPlatform in a module still wins.
        system = builtins.currentSystem;
        modules = [
          ./options.nix
          (baseModule name)
          (factsModule name)
        ] ++ fromFiles "defaults" ++ fromFiles name;
        specialArgs = { inherit name nodes resources; };
      };
    }) machineNames
  );

  # JSON data: references become { _ref }, paths stay paths (never copied into the store).
  toPlain =
    v:
    if isAttrs v then
      (
        if v ? _ref then
          { inherit (v) _ref; }
        else if (v.type or null) == "derivation" then
          "<derivation ${v.name or ""}>"
        else
          mapAttrs (_: toPlain) v
      )
    else if builtins.isList v then
      map toPlain v
    else if isFunction v then
      "<function>"
    else if builtins.isPath v then
      toString v
    else
      v;
  dropNulls = a: removeAttrs a (filter (k: a.${k} == null || k == "_module") (attrNames a));
  plainCheck =
    c:
    let
      p = dropNulls c;
    in
    p // (if p ? http then { http = dropNulls p.http; } else { });
  optionalAttr = name: v: if v == null then { } else { ${name} = toString v; };

  # deployment.keys, each with exactly one source; a key the module system refuses (an attribute that is not a
  # key option, a wrong type) is named with its machine, without its value.
  keyOptionNames = "text, keyFile, keyCommand, destDir, user, group, permissions, uploadAt";
  checkedKeys =
    name: keys:
    mapAttrs (
      key: k:
      let
        where = "The machine `${name}': deployment.keys.${builtins.toJSON key}";
        forced = builtins.tryEval (builtins.deepSeq k k);
        sources = filter (s: forced.value.${s} != null) [
          "text"
          "keyFile"
          "keyCommand"
        ];
      in
      if !forced.success then
        throw "${where} is invalid: an attribute that is not a key option (${keyOptionNames}), or a value of the wrong type."
      else if builtins.length sources != 1 then
        throw "${where} needs exactly one of text, keyFile and keyCommand, not ${
          if sources == [ ] then "none" else concatStringsSep " and " sources
        }."
      else
        forced.value
    ) keys;

  physicalOf =
    name: d:
    {
      inherit name;
      inherit (d)
        targetEnv
        targetHost
        targetPort
        targetUser
        ;
      # Only a machine that does not push says how it copies, so that the views of others stay as they were.
      options = toPlain (
        { inherit (d) ec2 local; } // (if d.copy.mode == "push" then { } else { copy = dropNulls d.copy; })
      );
      inherit (d) tags;
      healthChecks = map plainCheck d.healthChecks;
      keys =
        let
          checked = checkedKeys name d.keys;
        in
        foldl' (names: k: builtins.seq k names) (attrNames checked) (builtins.attrValues checked);
    }
    // optionalAttr "sshKeyFile" d.sshKeyFile
    // optionalAttr "hostPublicKey" (checkedHostKey name d.hostPublicKey);

  selected =
    if only == null then
      machineNames
    else
      map (n: if nodes ? ${n} then n else throw "The machine `${n}' is not defined in the network.") only;
  physicalNetwork = {
    description = networkInfo.description or "Unnamed network";
    resources = mapAttrs (_: mapAttrs (_: toPlain)) resourceValues;
  };
  forSelected = f: listToAttrs (map (n: { name = n; value = f n nodes.${n}.config; }) selected);
in
{
  physical = physicalNetwork // {
    machines = mapAttrs (name: node: physicalOf name node.config.deployment) nodes;
  };
  # The physical view in parts: what is the network's own, and the selected machines'.
  inherit physicalNetwork;
  physicalMachines = listToAttrs (
    map (n: {
      name = n;
      value = physicalOf n nodes.${n}.config.deployment;
    }) selected
  );

  systems = forSelected (
    _: config:
    let
      top = config.system.build.toplevel;
    in
    {
      drvPath = unsafeDiscardStringContext top.drvPath;
      # Not `outPath`: Nix prints a set with an outPath attribute as that string alone.
      out = unsafeDiscardStringContext top.outPath;
    }
  );

  # Secrets: only for the deployer that sends them to the hosts; never part of physical or systems.
  keys = forSelected (
    name: config:
    mapAttrs (
      _: k:
      {
        inherit (k)
          destDir
          user
          group
          permissions
          uploadAt
          ;
      }
      // (if k.text != null then { inherit (k) text; } else { })
      // (if k.keyFile != null then { inherit (k) keyFile; } else { })
      // (if k.keyCommand != null then { inherit (k) keyCommand; } else { })
    ) (checkedKeys name config.deployment.keys)
  );

  # `reconix show-option`: config.<option> of the selected machines.
  option =
    let
      optionPath = readJSON optionFile;
      shown = concatStringsSep "." optionPath;
    in
    forSelected (
      name: config:
      foldl' (
        v: k:
        if isAttrs v && v ? ${k} then
          v.${k}
        else
          throw "The machine `${name}' has no option ${shown} (no attribute ${k})."
      ) config optionPath
    );

  # The machines' names, and the selected machines' host entries (for hostEntriesFile).
  names = machineNames;
  hostEntries = listToAttrs (
    map (n: {
      name = n;
      value = hostEntry n;
    }) selected
  );

  # For tools and tests: whether <nixpkgs/nixos> is in use.
  builder = if useNixos then "nixos" else "mini";
}
