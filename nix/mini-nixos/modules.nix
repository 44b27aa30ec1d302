# A small NixOS-style module system: modules with imports, option declarations and definitions, merged by type,
# with mkIf / mkMerge / mkOverride / mkOrder and NixOS' error messages for undeclared options and bad types.
lib:
let
  inherit (builtins)
    attrNames
    attrValues
    concatMap
    filter
    foldl'
    functionArgs
    genericClosure
    head
    isAttrs
    isBool
    isFunction
    isPath
    isString
    length
    listToAttrs
    mapAttrs
    removeAttrs
    sort
    zipAttrsWith
    ;
  inherit (lib) showOption showValue imap1;

  typeOf = v: if isAttrs v then v._type or "" else "";
  isOption = v: typeOf v == "option";
  defaultPriority = 100;

  # Settings a module may carry besides options and config.
  moduleKeys = [
    "_file"
    "key"
    "imports"
    "disabledModules"
    "meta"
    "options"
    "config"
    "freeformType"
    "_class"
  ];
in
rec {
  mkOption = attrs: attrs // { _type = "option"; };
  mkIf = condition: content: {
    _type = "if";
    inherit condition content;
  };
  mkMerge = contents: {
    _type = "merge";
    inherit contents;
  };
  mkOverride = priority: content: {
    _type = "override";
    inherit priority content;
  };
  mkOptionDefault = mkOverride 1500;
  mkDefault = mkOverride 1000;
  mkImageMediaOverride = mkOverride 60;
  mkForce = mkOverride 50;
  mkVMOverride = mkOverride 10;
  mkOrder = priority: content: {
    _type = "order";
    inherit priority content;
  };
  mkBefore = mkOrder 500;
  mkAfter = mkOrder 1500;

  # Apply a module function to the arguments it names (as NixOS does), or take an attribute set as it is.
  applyModuleArgs =
    allArgs: file: m:
    if isFunction m then
      m (
        mapAttrs (
          n: _:
          allArgs.${n} or (throw "The module in `${file}' expects the argument `${n}', which is not provided.")
        ) (lib.filterAttrs (n: hasDefault: allArgs ? ${n} || !hasDefault) (functionArgs m))
      )
    else
      m;

  # A module in its structured form { _file, imports, options, config }.
  unifyModule =
    file: m:
    if !isAttrs m then
      throw "The module in `${file}' is not an attribute set or a function returning one."
    else if m ? config || m ? options then
      let
        extra = filter (k: !(builtins.elem k moduleKeys)) (attrNames m);
      in
      if extra != [ ] then
        throw "Module `${file}' has an unsupported attribute `${head extra}'. This is caused by introducing a top-level `config' or `options' attribute. Add configuration attributes immediately on the top level instead, or move all of them (namely: ${toString extra}) into the explicit `config' attribute."
      else
        {
          _file = toString (m._file or file);
          imports = m.imports or [ ];
          options = m.options or { };
          config = m.config or { };
        }
    else
      {
        _file = toString (m._file or file);
        imports = m.imports or [ ];
        options = { };
        config = removeAttrs m [
          "_file"
          "key"
          "imports"
          "disabledModules"
          "meta"
          "_class"
        ];
      };

  # Every module reachable through imports, each once (paths are keyed by their location).
  collectModules =
    allArgs: modules:
    let
      item =
        parentFile: key: m:
        let
          isFile = isPath m || isString m;
          file = if isFile then toString m else parentFile;
          raw = if isFile then import m else m;
        in
        {
          key = if isFile then toString m else key;
          module = unifyModule file (applyModuleArgs allArgs file raw);
        };
    in
    map (x: x.module) (genericClosure {
      startSet = imap1 (i: item "<unknown-file>" "root-${toString i}") modules;
      operator = it: imap1 (i: item it.module._file "${it.key}:anon-${toString i}") it.module.imports;
    });

  # Merge the option declarations of all modules into one tree whose leaves are options.
  mergeOptionDecls =
    loc: decls:
    let
      opts = filter (d: isOption d.value) decls;
      notSets = filter (d: !isAttrs d.value) decls;
      freeform = filter (d: d.value ? _freeformType) decls;
    in
    if notSets != [ ] then
      throw "The option declaration `${showOption loc}' in `${(head notSets).file}' is neither an option nor an attribute set of options."
    else if opts != [ ] then
      if length decls > 1 then
        throw "The option `${showOption loc}' in `${(builtins.elemAt decls 1).file}' is already declared in `${(head decls).file}'."
      else
        (head opts).value
        // {
          inherit loc;
          declarations = [ (head opts).file ];
        }
    else
      mapAttrs (n: ds: mergeOptionDecls (loc ++ [ n ]) ds) (
        zipAttrsWith (_: ds: ds) (
          map (d: mapAttrs (_: v: { inherit (d) file; value = v; }) (removeAttrs d.value [ "_freeformType" ])) decls
        )
      )
      // lib.optionalAttrs (freeform != [ ]) { _freeformType = (head freeform).value._freeformType; };

  # mkMerge and mkIf (and mkOverride of a set) pushed down into the attributes of a set of definitions.
  pushDownProperties =
    cfg:
    let
      t = typeOf cfg;
    in
    if t == "merge" then
      concatMap pushDownProperties cfg.contents
    else if t == "if" then
      map (mapAttrs (_: v: mkIf cfg.condition v)) (pushDownProperties cfg.content)
    else if t == "override" then
      map (mapAttrs (_: v: mkOverride cfg.priority v)) (pushDownProperties cfg.content)
    else if t == "order" then
      pushDownProperties cfg.content
    else
      [ cfg ];

  dischargeProperties =
    def:
    let
      t = typeOf def;
    in
    if t == "merge" then
      concatMap dischargeProperties def.contents
    else if t == "if" then
      if !isBool def.condition then
        throw "mkIf called with a non-Boolean condition"
      else if def.condition then
        dischargeProperties def.content
      else
        [ ]
    else if t == "order" then
      map (c: mkOrder def.priority c) (dischargeProperties def.content)
    else
      [ def ];

  # Keep the definitions of the highest priority (lowest number), without their mkOverride wrapper.
  filterOverrides =
    defs:
    let
      prio = v: if typeOf v == "override" then v.priority else defaultPriority;
      strip = v: if typeOf v == "override" then strip v.content else v;
      best = foldl' (p: d: if prio d.value < p then prio d.value else p) 9999 defs;
    in
    concatMap (d: if prio d.value == best then [ (d // { value = strip d.value; }) ] else [ ]) defs;

  sortOrder =
    defs:
    let
      prio = v: if typeOf v == "order" then v.priority else 1000;
      strip = v: if typeOf v == "order" then strip v.content else v;
    in
    if builtins.any (d: typeOf d.value == "order") defs then
      map (d: d // { value = strip d.value; }) (sort (a: b: prio a.value < prio b.value) defs)
    else
      defs;

  discharge = defs: concatMap (d: map (v: d // { value = v; }) (dischargeProperties d.value)) defs;

  # The merged value of one option from its definitions ({ file, value }), checked against its type.
  mergeDefinitions =
    loc: type: defs:
    let
      final = sortOrder (discharge (filterOverrides (discharge defs)));
      checked = map (
        d:
        if type.check d.value then
          d
        else
          throw "A definition for option `${showOption loc}' is not of type `${type.description}'. Definition values:\n- In `${d.file}': ${lib.showDefValue loc d.value}"
      ) final;
    in
    {
      isDefined = final != [ ];
      defsFinal = final;
      mergedValue =
        if final != [ ] then
          type.merge loc checked
        else
          throw "The option `${showOption loc}' is used but not defined.";
    };

  evalOption =
    loc: opt: defs:
    let
      type = opt.type or lib.types.unspecified;
      defaults = lib.optional (opt ? default) {
        file = head opt.declarations;
        value = mkOptionDefault opt.default;
      };
      merged = (mergeDefinitions loc type (defaults ++ defs)).mergedValue;
    in
    if opt ? apply then opt.apply merged else merged;

  # One level of the configuration: declared names recurse, undeclared ones are errors unless the level is
  # freeform (then they are merged with the freeform type). Returns the value and the undeclared definitions.
  evalLevel =
    loc: decls: defs: freeform:
    if isOption decls then
      {
        value = evalOption loc decls defs;
        unmatched = [ ];
      }
    else
      let
        ff = decls._freeformType or freeform;
        pushed = concatMap (
          d:
          map (
            v:
            if isAttrs v then
              d // { value = v; }
            else
              throw "A definition for `${showOption loc}' in `${d.file}' is not an attribute set of options: it is ${showValue v}."
          ) (pushDownProperties d.value)
        ) defs;
        grouped = zipAttrsWith (_: ds: ds) (
          map (d: mapAttrs (_: v: { inherit (d) file; value = v; }) d.value) pushed
        );
        declared = removeAttrs decls [ "_freeformType" ];
        undeclared = filter (n: !(declared ? ${n})) (attrNames grouped);
        children = mapAttrs (n: sub: evalLevel (loc ++ [ n ]) sub (grouped.${n} or [ ]) ff) declared;
        freeValues =
          if ff == null then
            { }
          else
            lib.filterAttrs (_: r: r.isDefined) (
              lib.genAttrs undeclared (n: mergeDefinitions (loc ++ [ n ]) ff grouped.${n})
            );
      in
      {
        value = mapAttrs (_: c: c.value) children // mapAttrs (_: r: r.mergedValue) freeValues;
        unmatched =
          (
            if ff == null then
              concatMap (n: map (d: { loc = loc ++ [ n ]; inherit (d) file; }) grouped.${n}) undeclared
            else
              [ ]
          )
          ++ concatMap (c: c.unmatched) (attrValues children);
      };

  evalModules =
    {
      modules,
      specialArgs ? { },
      args ? { },
      prefix ? [ ],
    }:
    let
      allArgs = {
        inherit lib options config;
      } // args // specialArgs;
      collected = collectModules allArgs modules;
      options = mergeOptionDecls prefix (map (m: { file = m._file; value = m.options; }) collected);
      result = evalLevel prefix options (map (m: { file = m._file; value = m.config; }) collected) null;
      config = result.value;
      check =
        if result.unmatched == [ ] then
          null
        else
          let
            u = head result.unmatched;
            # Every file that defines it, in merge order, as NixOS lists them (without the values: a mistyped
            # option may hold a secret, and the message ends up in status conditions).
            files = foldl' (acc: f: if builtins.elem f acc then acc else acc ++ [ f ]) [ ] (
              map (x: x.file) (filter (x: x.loc == u.loc) result.unmatched)
            );
          in
          throw "The option `${showOption u.loc}' does not exist. Definition values:${
            lib.concatMapStrings (f: "\n- In `${f}'") files
          }";
    in
    {
      inherit options;
      config = builtins.seq check config;
      # The configuration without the undeclared-option check, as modules themselves see it.
      _config = config;
    };
}
