#!/usr/bin/env bash
# Prepares everything scripts/vm/run.mjs needs to boot a test guest, in .vm-cache/ at the repo root
# (gitignored), without installing anything system-wide: qemu, its firmware and the shared
# libraries this host lacks, a Debian kernel and busybox are fetched with `apt-get download` and
# unpacked with `dpkg-deb -x` into .vm-cache/root; then a busybox initramfs is built.
# Idempotent: a second run checks a stamp and returns at once; `--force` re-resolves and rebuilds
# (downloaded .debs are kept). Once resolved, a rebuild needs no apt lists and no network.
# Usage: bash scripts/vm/prepare.sh [--force]
set -euo pipefail

start=$(date +%s.%N)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=$repo/.vm-cache
debs=$cache/debs
root=$cache/root
stamp=$cache/ready
log() { echo "[vm prepare] $*"; }
elapsed() { awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'; }

mkdir -p "$cache"
# Two prepares at once (parallel CI steps, two terminals) would unpack over each other.
exec 9>"$cache/.lock"
flock 9

# The stamp holds a hash of the scripts that shape the cache, so editing them invalidates it.
key=$(cat "$here/prepare.sh" "$here/mkinitramfs.mjs" "$here/initramfs-init.sh" | sha256sum | cut -d' ' -f1)
if [[ "${1:-}" != --force && -f "$stamp" && "$(cat "$stamp")" == "$key" ]]; then
  log "already prepared ($(du -sh "$cache" | cut -f1) in $cache; --force to rebuild); $(elapsed) s"
  exit 0
fi
rm -f "$stamp"
# --force also re-resolves the package set (downloaded .debs are still reused).
[[ "${1:-}" == --force ]] && rm -f "$cache/packages.txt"
mkdir -p "$debs"

# apt needs package lists to resolve names; a fresh machine may have none (or stale ones that 404).
lists_updated=0
update_lists() {
  if [[ $lists_updated == 0 ]]; then
    log "apt-get update (package lists missing or stale)"
    apt-get update -qq
    lists_updated=1
  fi
}
# The package set resolved last time, if every .deb is still here: then apt is not asked at all
# (no lists needed, works offline, and the guest stays the same).
pkgs=""
if [[ -f "$cache/packages.txt" ]]; then
  pkgs=$(cat "$cache/packages.txt")
  for p in $pkgs; do compgen -G "$debs/${p}_*.deb" >/dev/null || { pkgs=""; break; }; done
fi

if [[ -z "$pkgs" ]]; then
  apt-cache show qemu-system-x86 >/dev/null 2>&1 || update_lists

  # The kernel: reuse a downloaded one, so a Debian kernel update does not re-download 70 MB and
  # change the guest under our feet; otherwise whatever linux-image-amd64 points at now.
  kernel_pkg=$(cd "$debs" && ls linux-image-*.deb 2>/dev/null | head -n1 | cut -d_ -f1 || true)
  if [[ -z "$kernel_pkg" ]]; then
    kernel_pkg=$(apt-cache depends linux-image-amd64 | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }')
    [[ -n "$kernel_pkg" ]] || { log "cannot resolve the package linux-image-amd64 depends on"; exit 1; }
  fi

  # qemu plus everything apt would install with it on THIS host: i.e. exactly the shared libraries
  # (and firmware packages) missing here. Upgrades of installed packages ("Inst x [old]") are left
  # out: unpacking a newer libc & co. into LD_LIBRARY_PATH would break the host binaries' ABI mix;
  # the ldd check below catches it if one was really needed.
  resolve() {
    apt-get -s install --no-install-recommends qemu-system-x86 qemu-system-common qemu-system-data \
      seabios ipxe-qemu busybox-static 2>&1 | awk '$1 == "Inst" && $3 !~ /^\[/ { print $2 }'
  }
  pkgs=$(resolve)
  if ! grep -qx qemu-system-x86 <<<"$pkgs"; then
    # Already installed system-wide, or apt could not resolve: only the latter is worth an update.
    if ! dpkg-query -W -f='${Status}' qemu-system-x86 2>/dev/null | grep -q 'ok installed'; then
      update_lists
      pkgs=$(resolve)
    fi
  fi
  # Name these explicitly even when installed on the host: the cache must be self-contained.
  pkgs=$(printf '%s\n' $pkgs qemu-system-x86 qemu-system-common qemu-system-data seabios ipxe-qemu busybox-static "$kernel_pkg" | sort -u)
fi

missing=()
for p in $pkgs; do
  compgen -G "$debs/${p}_*.deb" >/dev/null || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  log "downloading ${#missing[@]} packages: ${missing[*]}"
  # Sandbox user root: _apt cannot write into a root-owned cache dir (only a warning, but noisy).
  dl() { (cd "$debs" && apt-get download -q -o APT::Sandbox::User=root "${missing[@]}" >/dev/null); }
  if ! dl; then update_lists; dl; fi
else
  log "all $(wc -w <<<"$pkgs") packages already downloaded"
fi
printf '%s\n' $pkgs >"$cache/packages.txt"

log "unpacking into $root"
rm -rf "$root"
mkdir -p "$root"
for p in $pkgs; do
  deb=$(compgen -G "$debs/${p}_*.deb" | sort -V | tail -n1)
  dpkg-deb -x "$deb" "$root"
done

qemu=$root/usr/bin/qemu-system-x86_64
libpath=$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu
# qemu's TCG accelerator is a loadable module in Debian's build; check it too.
for bin in "$qemu" "$root/usr/lib/x86_64-linux-gnu/qemu/accel-tcg-x86_64.so"; do
  if LD_LIBRARY_PATH=$libpath ldd "$bin" | grep 'not found'; then
    log "FAILED: $bin has unresolved libraries (above) even with LD_LIBRARY_PATH=$libpath"
    exit 1
  fi
done
LD_LIBRARY_PATH=$libpath "$qemu" --version | head -n1 | sed 's/^/[vm prepare] /'

kernel=$(ls "$root"/boot/vmlinuz-* | head -n1)
node "$here/mkinitramfs.mjs" --root "$root" --out "$cache/initramfs.cpio" | sed 's/^/[vm prepare] /'
ln -sf "${kernel#$cache/}" "$cache/vmlinuz"

echo "$key" >"$stamp"
log "ready: $(du -sh "$cache" | cut -f1) in $cache (kernel $(basename "$kernel"), $(wc -w <<<"$pkgs") packages); $(elapsed) s"
