# Option types: a check and a merge function each, with NixOS' names and merge semantics.
lib:
let
  inherit (builtins)
    all
    concatLists
    concatMap
    concatStringsSep
    elem
    filter
    head
    isAttrs
    isBool
    isFloat
    isFunction
    isInt
    isList
    isPath
    isString
    length
    mapAttrs
    match
    substring
    tail
    toJSON
    zipAttrsWith
    ;
  inherit (lib) showOption showDefValue isDerivation;

  mkOptionType =
    {
      name,
      description ? name,
      check ? (_: true),
      merge ? mergeDefaultOption,
      ...
    }@attrs:
    attrs
    // {
      _type = "option-type";
      inherit
        name
        description
        check
        merge
        ;
    };

  showDefs =
    loc: defs: concatStringsSep "" (map (d: "\n- In `${d.file}': ${showDefValue loc d.value}") defs);

  mergeEqualOption =
    loc: defs:
    let
      first = head defs;
    in
    builtins.foldl' (
      res: d:
      if d.value == res then
        res
      else
        throw "The option `${showOption loc}' has conflicting definition values:${showDefs loc [ first d ]}"
    ) first.value (tail defs);

  mergeOneOption =
    loc: defs:
    if length defs == 1 then
      (head defs).value
    else
      throw "The unique option `${showOption loc}' is defined multiple times. Definition values:${showDefs loc defs}";

  mergeDefaultOption =
    loc: defs:
    let
      list = map (d: d.value) defs;
    in
    if length list == 1 then
      head list
    else if all isList list then
      concatLists list
    else if all isAttrs list then
      builtins.foldl' (a: b: a // b) { } list
    else if all isBool list then
      builtins.any (x: x) list
    else if all isString list then
      lib.concatStrings list
    else if all isInt list && all (x: x == head list) list then
      head list
    else
      throw "Cannot merge definitions of `${showOption loc}'. Definition values:${showDefs loc defs}";

  # Merge the attributes of several set definitions one by one with `elemType` (mkIf etc. honoured inside).
  mergeAttrs =
    elemType: loc: defs:
    mapAttrs (_: r: r.mergedValue) (
      lib.filterAttrs (_: r: r.isDefined) (
        zipAttrsWith (n: ds: lib.mergeDefinitions (loc ++ [ n ]) elemType ds) (
          map (d: mapAttrs (_: v: { inherit (d) file; value = v; }) d.value) defs
        )
      )
    );

  ints = {
    between =
      lo: hi:
      mkOptionType {
        name = "intBetween";
        description = "integer between ${toString lo} and ${toString hi} (both inclusive)";
        check = x: isInt x && x >= lo && x <= hi;
        merge = mergeEqualOption;
      };
    unsigned = mkOptionType {
      name = "unsignedInt";
      description = "unsigned integer, meaning >=0";
      check = x: isInt x && x >= 0;
      merge = mergeEqualOption;
    };
    positive = mkOptionType {
      name = "positiveInt";
      description = "positive integer, meaning >0";
      check = x: isInt x && x > 0;
      merge = mergeEqualOption;
    };
  };
in
rec {
  inherit mkOptionType ints;

  unspecified = mkOptionType { name = "unspecified"; };
  raw = mkOptionType {
    name = "raw";
    description = "raw value";
    merge = mergeOneOption;
  };
  anything = mkOptionType {
    name = "anything";
    description = "anything";
    merge =
      loc: defs:
      let
        vals = map (d: d.value) defs;
      in
      if all (v: isAttrs v && !isDerivation v) vals then
        mergeAttrs anything loc defs
      else if all isList vals then
        concatLists vals
      else
        mergeEqualOption loc defs;
  };

  bool = mkOptionType {
    name = "bool";
    description = "boolean";
    check = isBool;
    merge = mergeEqualOption;
  };
  int = mkOptionType {
    name = "int";
    description = "signed integer";
    check = isInt;
    merge = mergeEqualOption;
  };
  port = ints.between 0 65535;
  float = mkOptionType {
    name = "float";
    description = "floating point number";
    check = isFloat;
    merge = mergeEqualOption;
  };
  number = either int float;
  str = mkOptionType {
    name = "str";
    description = "string";
    check = isString;
    merge = mergeEqualOption;
  };
  nonEmptyStr = mkOptionType {
    name = "nonEmptyStr";
    description = "non-empty string";
    check = x: isString x && match "[[:space:]]*" x == null;
    merge = mergeEqualOption;
  };
  singleLineStr = mkOptionType {
    name = "singleLineStr";
    description = "(optionally newline-terminated) single-line string";
    check = x: isString x && match "[^\n]*\n?" x != null;
    merge = mergeEqualOption;
  };
  strMatching =
    pattern:
    mkOptionType {
      name = "strMatching ${toJSON pattern}";
      description = "string matching the pattern ${pattern}";
      check = x: isString x && match pattern x != null;
      merge = mergeEqualOption;
    };
  separatedString =
    sep:
    mkOptionType {
      name = "separatedString";
      description = "strings concatenated with ${toJSON sep}";
      check = isString;
      merge = _loc: defs: concatStringsSep sep (filter (s: s != "") (map (d: d.value) defs));
    };
  lines = separatedString "\n";
  commas = separatedString ",";
  envVar = separatedString ":";
  path = mkOptionType {
    name = "path";
    description = "path";
    check = x: isPath x || (isString x && substring 0 1 x == "/");
    merge = mergeEqualOption;
  };
  package = mkOptionType {
    name = "package";
    description = "package";
    check = x: isDerivation x || isPath x || (isString x && substring 0 1 x == "/");
    merge = mergeOneOption;
  };
  attrs = mkOptionType {
    name = "attrs";
    description = "attribute set";
    check = isAttrs;
    merge = _loc: defs: builtins.foldl' (res: d: res // d.value) { } defs;
  };
  functionTo =
    elemType:
    mkOptionType {
      name = "functionTo";
      description = "function that evaluates to a(n) ${elemType.description}";
      check = isFunction;
      merge = mergeOneOption;
    };

  attrsOf =
    elemType:
    mkOptionType {
      name = "attrsOf";
      description = "attribute set of ${elemType.description}";
      check = isAttrs;
      merge = mergeAttrs elemType;
      inherit elemType;
    };
  lazyAttrsOf = attrsOf;
  listOf =
    elemType:
    mkOptionType {
      name = "listOf";
      description = "list of ${elemType.description}";
      check = isList;
      merge =
        loc: defs:
        concatMap (
          d:
          concatMap (
            x:
            let
              r = lib.mergeDefinitions loc elemType [ (d // { value = x; }) ];
            in
            if r.isDefined then [ r.mergedValue ] else [ ]
          ) d.value
        ) defs;
      inherit elemType;
    };
  nullOr =
    elemType:
    mkOptionType {
      name = "nullOr";
      description = "null or ${elemType.description}";
      check = x: x == null || elemType.check x;
      merge =
        loc: defs:
        let
          nulls = filter (d: d.value == null) defs;
        in
        if length nulls == length defs then
          null
        else if nulls != [ ] then
          throw "The option `${showOption loc}' is defined both null and not null, in ${
            concatStringsSep ", " (map (d: "`${d.file}'") defs)
          }."
        else
          elemType.merge loc defs;
      inherit elemType;
    };
  uniq = elemType: elemType // { merge = mergeOneOption; };
  unique = { message ? "" }: uniq;
  enum =
    values:
    mkOptionType {
      name = "enum";
      description = "one of ${concatStringsSep ", " (map toJSON values)}";
      check = x: elem x values;
      merge = mergeEqualOption;
    };
  either =
    t1: t2:
    mkOptionType {
      name = "either";
      description = "${t1.description} or ${t2.description}";
      check = x: t1.check x || t2.check x;
      merge =
        loc: defs:
        if all (d: t1.check d.value) defs then
          t1.merge loc defs
        else if all (d: t2.check d.value) defs then
          t2.merge loc defs
        else
          mergeEqualOption loc defs;
    };
  oneOf = ts: builtins.foldl' either (head ts) (tail ts);

  # A nested module: its definitions are modules merged with the type's own modules; `name` is the
  # attribute name when it sits inside attrsOf.
  submodule =
    modules:
    mkOptionType {
      name = "submodule";
      description = "submodule";
      check = x: isAttrs x || isFunction x || isPath x;
      merge =
        loc: defs:
        (lib.evalModules {
          modules = lib.toList modules ++ map (d: { _file = d.file; imports = [ d.value ]; }) defs;
          specialArgs = {
            name = lib.last loc;
          };
          prefix = loc;
        }).config;
    };
  submoduleWith = { modules, specialArgs ? { }, ... }: submodule modules;
}
