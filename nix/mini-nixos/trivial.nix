# List, string and attribute helpers, a subset of nixpkgs' lib with the same names and meanings.
lib:
let
  inherit (builtins)
    attrNames
    concatLists
    concatStringsSep
    elem
    elemAt
    filter
    foldl'
    genList
    isAttrs
    isList
    length
    listToAttrs
    map
    match
    removeAttrs
    stringLength
    substring
    ;
in
rec {
  inherit (builtins)
    all
    any
    attrNames
    attrValues
    catAttrs
    concatLists
    concatMap
    concatStringsSep
    elem
    elemAt
    filter
    foldl'
    functionArgs
    genList
    hasAttr
    head
    intersectAttrs
    isAttrs
    isBool
    isFloat
    isFunction
    isInt
    isList
    isPath
    isString
    length
    listToAttrs
    mapAttrs
    match
    removeAttrs
    replaceStrings
    sort
    split
    stringLength
    substring
    tail
    toJSON
    toString
    zipAttrsWith
    ;

  id = x: x;
  const = x: _: x;
  flip = f: a: b: f b a;
  or = a: b: a || b;
  and = a: b: a && b;

  optional = cond: x: if cond then [ x ] else [ ];
  optionals = cond: xs: if cond then xs else [ ];
  optionalString = cond: s: if cond then s else "";
  optionalAttrs = cond: attrs: if cond then attrs else { };
  toList = x: if isList x then x else [ x ];
  last = xs: elemAt xs (length xs - 1);
  imap0 = f: xs: genList (i: f i (elemAt xs i)) (length xs);
  imap1 = f: xs: genList (i: f (i + 1) (elemAt xs i)) (length xs);
  flatten = x: if isList x then concatMap flatten x else [ x ];
  range = first: last': if first > last' then [ ] else genList (n: first + n) (last' - first + 1);
  unique = xs: attrNames (listToAttrs (map (x: nameValuePair x null) xs));
  count = pred: xs: length (filter pred xs);

  concatStrings = concatStringsSep "";
  concatMapStrings = f: xs: concatStrings (map f xs);
  concatMapStringsSep = sep: f: xs: concatStringsSep sep (map f xs);
  concatLines = xs: concatMapStrings (x: x + "\n") xs;
  hasPrefix = prefix: s: substring 0 (stringLength prefix) s == prefix;
  hasSuffix =
    suffix: s:
    let
      ls = stringLength s;
      lx = stringLength suffix;
    in
    ls >= lx && substring (ls - lx) lx s == suffix;
  removePrefix =
    prefix: s: if hasPrefix prefix s then substring (stringLength prefix) (stringLength s) s else s;
  removeSuffix =
    suffix: s: if hasSuffix suffix s then substring 0 (stringLength s - stringLength suffix) s else s;
  hasInfix = infix: s: length (split (escapeRegex infix) s) > 1;
  splitString = sep: s: filter builtins.isString (split (escapeRegex sep) s);
  escapeRegex = s: builtins.replaceStrings (map (c: c) regexChars) (map (c: "\\" + c) regexChars) s;
  regexChars = [ "\\" "[" "]" "{" "}" "(" ")" "^" "$" "." "|" "*" "+" "?" ];
  fileContents = file: removeSuffix "\n" (builtins.readFile file);

  nameValuePair = name: value: { inherit name value; };
  mapAttrsToList = f: attrs: map (n: f n attrs.${n}) (attrNames attrs);
  mapAttrs' = f: attrs: listToAttrs (mapAttrsToList f attrs);
  filterAttrs = pred: attrs: removeAttrs attrs (filter (n: !(pred n attrs.${n})) (attrNames attrs));
  genAttrs = names: f: listToAttrs (map (n: nameValuePair n (f n)) names);
  attrByPath =
    path: default: set:
    if path == [ ] then
      set
    else if isAttrs set && set ? ${builtins.head path} then
      attrByPath (builtins.tail path) default set.${builtins.head path}
    else
      default;
  hasAttrByPath = path: set: attrByPath path null set != null || attrByPath path true set != true;
  getAttrFromPath =
    path: set: attrByPath path (throw "cannot find attribute `${concatStringsSep "." path}'") set;
  setAttrByPath =
    path: value:
    if path == [ ] then value else { ${builtins.head path} = setAttrByPath (builtins.tail path) value; };
  recursiveUpdate =
    lhs: rhs:
    lhs
    // builtins.mapAttrs (
      n: v: if isAttrs v && isAttrs (lhs.${n} or null) then recursiveUpdate lhs.${n} v else v
    ) rhs;
  isDerivation = x: isAttrs x && (x.type or null) == "derivation";

  # An option path as NixOS prints it: identifiers bare, anything else quoted.
  showOption =
    loc:
    concatStringsSep "." (
      map (p: if match "[A-Za-z_][A-Za-z0-9_'-]*" p != null then p else builtins.toJSON p) loc
    );

  # A definition's value in an error message: short strings and scalars are shown, except under
  # deployment.keys (secrets); larger values only by their kind.
  showDefValue =
    loc: v:
    if builtins.length loc >= 2 && builtins.elemAt loc 0 == "deployment" && builtins.elemAt loc 1 == "keys" then
      "<hidden>"
    else if builtins.isString v && stringLength v <= 80 && match "[^\n]*" v != null then
      builtins.toJSON v
    else
      showValue v;
  showValue =
    v:
    if v == null then
      "null"
    else if builtins.isBool v then
      (if v then "true" else "false")
    else if builtins.isInt v || builtins.isFloat v then
      toString v
    else if builtins.isString v then
      "a string"
    else if builtins.isPath v then
      "a path"
    else if isList v then
      "a list"
    else if builtins.isFunction v then
      "a function"
    else if isDerivation v then
      "a package"
    else
      "an attribute set";

  versionAtLeast = v: min: builtins.compareVersions v min >= 0;
  mkEnableOption =
    name:
    lib.mkOption {
      type = lib.types.bool;
      default = false;
      example = true;
      description = "Whether to enable ${name}.";
    };
  inherit (builtins) trace seq deepSeq;
  warn = msg: builtins.trace "warning: ${msg}";
  assertMsg = pred: msg: pred || throw msg;
  concat = a: b: a ++ b;
  reverseList = xs: genList (i: elemAt xs (length xs - 1 - i)) (length xs);
  foldr = op: nul: xs: foldl' (acc: x: op x acc) nul (reverseList xs);
}
