#!/usr/bin/env bash
# `npm run setup:vgg`: the loss network that `nst train` and `nst eval` use by default, in the
# project's .cache/vgg19: Keras's VGG19 ImageNet weights (Simonyan & Zisserman 2014, released
# CC BY 4.0), converted by `nst import-vgg`. NST_VGG_SOURCE may name a folder that already holds a
# converted copy (model.json + shards) to take instead of downloading.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=.cache/vgg19
url=https://storage.googleapis.com/tensorflow/keras-applications/vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5
if [ -f "$target/model.json" ]; then
  echo "VGG19 is already in $target"
  exit 0
fi
if [ -n "${NST_VGG_SOURCE:-}" ]; then
  mkdir -p "$target"
  cp "$NST_VGG_SOURCE"/model.json "$NST_VGG_SOURCE"/*.bin "$target"/
  echo "Copied VGG19 from $NST_VGG_SOURCE into $target"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "Downloading $url (80 MB)"
curl --fail --location --output "$work/vgg19_notop.h5" "$url"
npx nst import-vgg "$work/vgg19_notop.h5" --out "$target"
