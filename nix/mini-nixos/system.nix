# What the mini builder makes of a configuration: /etc files (hosts, hostname, ssh_known_hosts and
# environment.etc), the activation scripts, config.json, and the toplevel derivation with switch-to-configuration.
{ config, lib, ... }:
let
  inherit (lib)
    attrNames
    concatMap
    concatStringsSep
    filter
    genList
    length
    mapAttrsToList
    stringLength
    substring
    ;
  net = config.networking;

  knownHosts = lib.filterAttrs (_: h: h.publicKey != null) (
    config.services.openssh.knownHosts // config.programs.ssh.knownHosts
  );
  knownHostsLines = mapAttrsToList (
    _: h: "${concatStringsSep "," (h.hostNames ++ h.extraHostNames)} ${h.publicKey}"
  ) knownHosts;

  # Store path names allow only these characters; anything else in a host name becomes "-".
  storeSafe =
    s:
    lib.concatMapStrings (c: if builtins.match "[A-Za-z0-9+._?=-]" c != null then c else "-") (
      genList (i: substring i 1 s) (stringLength s)
    );

  # An /etc file name must stay inside etc: relative, no "..", one line.
  checkEtcTarget =
    name: t:
    if t == "" || lib.hasPrefix "/" t || builtins.elem ".." (lib.splitString "/" t) || lib.hasInfix "\n" t then
      throw "The option `environment.etc.${builtins.toJSON name}.target' must be a relative path inside /etc without `..': ${builtins.toJSON t}."
    else
      t;
  etcEntries = concatMap (
    name:
    let
      e = config.environment.etc.${name};
    in
    if !e.enable then
      [ ]
    else if e.text == null && e.source == null then
      throw "The option `environment.etc.${builtins.toJSON name}' needs `text' or `source'."
    else
      [
        {
          target = checkEtcTarget name e.target;
          inherit (e) text source;
        }
      ]
  ) (attrNames config.environment.etc);

  # Activation snippets in dependency order, then by name (as NixOS orders them).
  scripts = builtins.mapAttrs (
    _: v:
    if builtins.isString v then
      {
        text = v;
        deps = [ ];
      }
    else
      v
  ) config.system.activationScripts;
  orderedScripts =
    (builtins.foldl' visit {
      done = [ ];
      seen = { };
    } (attrNames scripts)).done;
  visit =
    st: n:
    if st.seen ? ${n} then
      st
    else
      let
        st' = builtins.foldl' visit (st // { seen = st.seen // { ${n} = true; }; }) (
          filter (d: scripts ? ${d}) scripts.${n}.deps
        );
      in
      st' // { done = st'.done ++ [ n ]; };
  checkScriptName =
    n:
    if lib.hasInfix "\n" n then
      throw "The name of `system.activationScripts.${builtins.toJSON n}' contains a newline."
    else
      n;

  # The configuration as data, without what is not part of the system: the deployer's settings
  # (deployment.*, including keys) and the build products themselves.
  toPlain =
    v:
    if lib.isDerivation v then
      v.outPath
    else if builtins.isAttrs v then
      (if v ? _ref then { inherit (v) _ref; } else builtins.mapAttrs (_: toPlain) v)
    else if builtins.isList v then
      map toPlain v
    else if builtins.isFunction v then
      "<function>"
    else if builtins.isPath v then
      toString v
    else
      v;
  systemData = toPlain (
    removeAttrs config [
      "deployment"
      "system"
    ]
    // {
      system = removeAttrs config.system [ "build" ];
    }
  );

  indexed = prefix: xs: lib.imap0 (i: x: lib.nameValuePair "${prefix}${toString i}" x) xs;
  etcTexts = indexed "etcText" (map (e: if e.text == null then "" else e.text) etcEntries);
  etcSources = indexed "etcSource" (map (e: if e.source == null then "" else "${e.source}") etcEntries);
  activationTexts = indexed "activationText" (map (n: scripts.${n}.text) orderedScripts);

  hostName = net.hostName;
  label = config.system.nixos.label;
in
{
  config = {
    environment.etc = {
      hosts.text = concatStringsSep "\n" (
        [
          "127.0.0.1 localhost"
          "::1 localhost"
        ]
        ++ lib.optional (hostName != "") "127.0.0.2 ${hostName}"
        ++ mapAttrsToList (ip: names: "${ip} ${concatStringsSep " " names}") net.hosts
        ++ lib.optional (net.extraHosts != "") net.extraHosts
      )
      + "\n";
      hostname = lib.mkIf (hostName != "") { text = hostName + "\n"; };
      "ssh/ssh_known_hosts" = lib.mkIf (knownHostsLines != [ ]) {
        text = lib.concatMapStrings (l: l + "\n") knownHostsLines;
      };
    };

    # Only data reaches the builder, as files (passAsFile) and counts; names are read by the builder as
    # data, never spliced into a script.
    system.build.toplevel = derivation (
      {
        name = "nixos-system-${storeSafe hostName}-${label}";
        system = builtins.currentSystem;
        builder = "/bin/sh";
        args = [ ./build-toplevel.sh ];
        PATH = "/usr/bin:/bin";
        switchScript = ./switch-to-configuration.sh;
        waitForKeysScript = ./wait-for-keys.sh;
        nixosVersion = label;
        etcCount = toString (length etcEntries);
        activationCount = toString (length orderedScripts);
        configJson = builtins.toJSON systemData;
        swPaths = lib.concatMapStrings (p: "${p}\n") config.environment.systemPackages;
        etcTargets = lib.concatMapStrings (e: e.target + "\n") etcEntries;
        activationNames = lib.concatMapStrings (n: checkScriptName n + "\n") orderedScripts;
        # Appended to /etc/hosts and /etc/ssh/ssh_known_hosts by the builder, as NixOS concatenates them.
        hostFiles = lib.concatMapStrings (p: "${p}\n") net.hostFiles;
        knownHostsFiles = lib.concatMapStrings (p: "${p}\n") config.programs.ssh.knownHostsFiles;
        passAsFile = [
          "hostFiles"
          "knownHostsFiles"
          "configJson"
          "swPaths"
          "etcTargets"
          "activationNames"
        ] ++ map (x: x.name) (etcTexts ++ activationTexts);
      }
      // builtins.listToAttrs (etcTexts ++ etcSources ++ activationTexts)
    );
  };
}
