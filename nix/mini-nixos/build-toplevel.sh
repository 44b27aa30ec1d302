# Builder of the mini NixOS toplevel (run by /bin/sh with PATH=/usr/bin:/bin). Every value from the
# configuration arrives as a file or a variable; nothing is evaluated as shell code.
set -eu

mkdir -p "$out/bin" "$out/etc" "$out/activate.d"
cp "$configJsonPath" "$out/config.json"
cp "$swPathsPath" "$out/sw-paths"
printf '%s\n' "$nixosVersion" >"$out/nixos-version"
sed "s|@out@|$out|g" "$switchScript" >"$out/bin/switch-to-configuration"
chmod 0555 "$out/bin/switch-to-configuration"
cp "$waitForKeysScript" "$out/bin/reconix-wait-for-keys"
chmod 0555 "$out/bin/reconix-wait-for-keys"

i=0
while IFS= read -r target; do
  eval "textFile=\$etcText${i}Path source=\$etcSource${i}"
  dest="$out/etc/$target"
  mkdir -p -- "$(dirname -- "$dest")"
  if [ -n "$source" ]; then
    cp -r -- "$source" "$dest"
  else
    cp -- "$textFile" "$dest"
  fi
  i=$((i + 1))
done <"$etcTargetsPath"
[ "$i" -eq "$etcCount" ]

# Files appended to an /etc file: each line of $1 names one.
appendFiles() {
  list=$1 dest=$2
  [ -s "$list" ] || return 0
  mkdir -p -- "$(dirname -- "$dest")"
  [ ! -e "$dest" ] || chmod u+w -- "$dest"
  while IFS= read -r file; do
    cat -- "$file" >>"$dest"
  done <"$list"
}
appendFiles "$hostFilesPath" "$out/etc/hosts"
appendFiles "$knownHostsFilesPath" "$out/etc/ssh/ssh_known_hosts"

i=0
while [ "$i" -lt "$activationCount" ]; do
  eval "textFile=\$activationText${i}Path"
  cp -- "$textFile" "$out/activate.d/$i"
  i=$((i + 1))
done
cp "$activationNamesPath" "$out/activate.d/names"
