#!/usr/bin/env bash
# `npm run setup:vulkan`: a software Vulkan driver (Mesa >= 25 lavapipe, from Debian's
# bookworm-backports) in .cache/vulkan, so that `nst --backend webgpu` runs on machines without a
# GPU (tests of the WebGPU code path; 6-10x slower than wasm). Nothing is installed system-wide:
# the packages are downloaded with a private apt configuration and unpacked with dpkg -x, so the
# system's own libraries (the ones Chromium uses) stay as they are. nst finds the driver itself
# (trainer/src/node-backend.ts); NST_VULKAN_DIR names another folder.
# Debian 12 (bookworm) or a derivative with apt; needs the Vulkan loader (libvulkan1).
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${NST_VULKAN_DIR:-$PWD/.cache/vulkan}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ -f "$target/lvp_icd.json" ]; then
  echo "lavapipe is already in $target"
  exit 0
fi
# Not grep -q: it stops reading at the first match, ldconfig dies of SIGPIPE, and pipefail reads that as no match.
if ! ldconfig -p | grep 'libvulkan\.so\.1' > /dev/null; then
  echo "The Vulkan loader (libvulkan.so.1) is missing: apt-get install libvulkan1, then run this again." >&2
  exit 1
fi

mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
cat > "$work/sources.list" <<LIST
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-backports main
LIST
apt_private=(-o "Dir::Etc::sourcelist=$work/sources.list" -o Dir::Etc::sourceparts=- -o "Dir::State::Lists=$work/lists"
  -o "Dir::Cache=$work/cache" -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
apt-get "${apt_private[@]}" update -qq
# What installing the driver would add or upgrade on this machine, computed against its own package state.
packages=$(apt-get "${apt_private[@]}" -s install --no-install-recommends mesa-vulkan-drivers/bookworm-backports |
  awk '/^Inst /{ release = ($0 ~ /[Bb]ackports/) ? "/bookworm-backports" : ""; print $2 release }')
echo "Downloading: $packages"
(cd "$work" && apt-get "${apt_private[@]}" download $packages)
mkdir -p "$target"
for deb in "$work"/*.deb; do dpkg -x "$deb" "$target"; done
driver=$(find "$target" -name libvulkan_lvp.so | head -n 1)
[ -n "$driver" ] || { echo "No libvulkan_lvp.so in the downloaded packages." >&2; exit 1; }
# The driver manifest with an absolute library path: the loader then needs no library search path.
cat > "$target/lvp_icd.json" <<JSON
{ "file_format_version": "1.0.0", "ICD": { "library_path": "$driver", "api_version": "1.4.305" } }
JSON
echo "lavapipe (Mesa $(dpkg-deb -f "$work"/mesa-vulkan-drivers_*.deb Version)) is in $target"
