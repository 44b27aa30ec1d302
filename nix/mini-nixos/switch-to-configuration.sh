#!/bin/sh
# switch-to-configuration of a system built by Reconix's mini NixOS builder.
#   switch, test   run the activation scripts, then point /run/current-system at this system
#   boot           record only (the deployer sets the system profile)
#   dry-activate   print what would change, touch nothing
# Every run but dry-activate appends "<epoch-seconds> <action> <system>" to /nix/var/reconix/activations.log
# ("<action>-failed" when an activation script failed; /run/current-system is then left as it was).
# RECONIX_ACTIVATION_ROOT prefixes /run and /nix/var, so that the builder itself can be tested without a host.
set -eu

out=@out@
root=${RECONIX_ACTIVATION_ROOT:-}
current="$root/run/current-system"
log_dir="$root/nix/var/reconix"

record() {
  mkdir -p "$log_dir"
  printf '%s %s %s\n' "$(date +%s)" "$1" "$out" >>"$log_dir/activations.log"
}

script_name() {
  sed -n "$(($1 + 1))p" "$out/activate.d/names"
}

# Run every activation script, even after one failed (as NixOS does); fail if any failed.
activate() {
  failed=0
  i=0
  while [ -e "$out/activate.d/$i" ]; do
    name=$(script_name "$i")
    if ! systemConfig="$out" PATH=/usr/bin:/bin:/usr/sbin:/sbin /bin/sh -e "$out/activate.d/$i"; then
      printf 'Activation script snippet %s failed\n' "$name" >&2
      failed=1
    fi
    i=$((i + 1))
  done
  return "$failed"
}

dry_activate() {
  was=$(readlink "$current" 2>/dev/null || true)
  if [ "$was" = "$out" ]; then
    echo "would keep $out as the current system"
  else
    echo "would switch the current system from ${was:-nothing} to $out"
  fi
  i=0
  while [ -e "$out/activate.d/$i" ]; do
    echo "would run activation script $(script_name "$i")"
    i=$((i + 1))
  done
  (cd "$out/etc" && find . -type f) | sed 's|^\./||' | sort | while IFS= read -r f; do
    if [ -z "$was" ] || ! cmp -s "$out/etc/$f" "$was/etc/$f"; then
      echo "would update /etc/$f"
    fi
  done
}

action=${1:-}
case "$action" in
switch | test)
  if activate; then
    mkdir -p "$root/run"
    tmp="$root/run/.current-system.$$"
    ln -sfn "$out" "$tmp"
    mv -T "$tmp" "$current"
    record "$action"
  else
    record "$action-failed"
    exit 1
  fi
  ;;
boot)
  record boot
  ;;
dry-activate)
  dry_activate
  ;;
*)
  echo "usage: $0 switch|boot|test|dry-activate" >&2
  exit 1
  ;;
esac
