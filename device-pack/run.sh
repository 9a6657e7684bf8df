#!/usr/bin/env bash
# The GPU machine's run (copied into device/ by `npm run device:pack`; README.md's "GPU machine"
# section has the `run` call). Within BUDGET seconds it:
#   1. unpacks Node, the bundle and the data into $NST_DEVICE_WORK (default /tmp/nst-device) and
#      makes the Vulkan loader and NVIDIA's driver findable;
#   2. WebGPU inference bench: full and slim at 256, 512 and 1280x720, network only -> bench.jsonl
#   3. WebGPU training bench: full and slim at 128 and 256 px, batch 1 and 4 -> bench.jsonl
#   4. the PyTorch reference, fp32, the same configurations on the same GPU -> torch-ref.jsonl
#   5. for the time left, `nst train` of each STYLE in turn (a style image of
#      ../shared/data/styles, optionally :arch:size:batch:init:content-weight, init a model
#      folder of this checkout such as training/NAME, which the run starts from), checkpointing every minute and
#      stopped with SIGINT (checkpoint and model written) before the budget ends -> train-NAME.tar
# Everything lands in $OUT as at most 8 files (run.log too), which is what comes back.
#
#   device/run.sh [BUDGET] [STYLE[:ARCH[:SIZE[:BATCH]]] ...]   on the GPU machine (default 540 s,
#                                                              starry_night:slim:256:4)
#   device/run.sh --rehearse [BUDGET]   here, on lavapipe (npm run setup:vulkan), tiny sizes, 180 s,
#                                       into tmp/device-rehearsal; never touches the system
# Each run uses the gallery's measured recipe (README "The recipe"): --content-weight auto (or the
# style's own), random crops (better than centre crops on photos never trained on, training/README), the style image at twice the crop size on its long side. NST_TRAIN_ARGS adds flags to
# every `nst train` and overrides those (e.g. "--steps 3000 --lr-final 2e-4"). A style whose
# device/resume/NAME/checkpoint.nst exists (a run that came back, unpacked there) is resumed.
# The phases before training stop after at most NST_INFERENCE_S (90), NST_TRAIN_BENCH_S (180) and
# NST_TORCH_S (120) seconds; 0 skips one.
set -uo pipefail
started=$(date +%s)
pack=$(cd "$(dirname "$0")" && pwd)

rehearse=0
if [ "${1:-}" = --rehearse ]; then rehearse=1; shift; fi
if [ $rehearse = 1 ]; then
  budget=${1:-180}
  styles=(starry_night:slim:64:1)
  if [ -z "${OUT:-}" ]; then OUT=$pack/../tmp/device-rehearsal && rm -rf "$OUT"; fi
  work=${NST_DEVICE_WORK:-${TMPDIR:-/tmp}/nst-device-rehearsal}
else
  budget=${1:-540}
  shift || true
  styles=("${@:-starry_night:slim:256:4}")
  work=${NST_DEVICE_WORK:-/tmp/nst-device}
fi
[ -n "${OUT:-}" ] || { echo "OUT is not set: name the folder the results go to (the GPU machine sets it)." >&2; exit 2; }
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
deadline=$((started + budget))
# Time kept back at the end: a stopped `nst train` finishes its step and writes its checkpoint
# and model (GRACE), then the results are packed.
GRACE=30
PACKING=15

# The log goes to run.log and to this script's stderr (fd 3), also from inside redirected phases.
exec 3>&2
log() { echo "[$(($(date +%s) - started))s] $*" | tee -a "$OUT/run.log" >&3; }
left() { echo $((deadline - $(date +%s) - PACKING)); }

# Runs "$@" for at most CAP seconds and within the budget, then SIGINT (SIGKILL GRACE s later).
phase() {
  local name=$1 cap=$2 limit
  shift 2
  limit=$(left)
  [ "$limit" -gt "$cap" ] && limit=$cap
  if [ "$limit" -lt 10 ]; then log "$name: skipped, ${limit}s left"; return 0; fi
  log "$name: up to ${limit}s"
  timeout -s INT -k "$GRACE" "$limit" "$@"
  local status=$?
  log "$name: exit $status$([ $status = 124 ] && echo ' (stopped at its time limit)')"
}

# The WebGPU training bench's step time for ARCH SIZE BATCH, in whole ms (empty when not measured).
training_step_ms() {
  [ -f "$OUT/bench.jsonl" ] || return 0
  "$node" -e '
    const [arch, size, batch] = process.argv.slice(1);
    const rows = require("fs").readFileSync(process.argv[4], "utf8").split("\n").flatMap((line) => { try { return [JSON.parse(line)]; } catch { return []; } });
    const row = rows.find((r) => r.bench === "training" && r.backend === "webgpu" && r.arch === arch && r.size === Number(size) && r.batch === Number(batch) && r.stepMs > 0);
    if (row) console.log(Math.ceil(row.stepMs));' "$1" "$2" "$3" "$OUT/bench.jsonl" 2> /dev/null
}

# xz, or Python's lzma where the machine has no xz.
unxz_to() {
  if command -v xz > /dev/null; then xz -dc -T0 "$1"; else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"; fi
}

log "pack $pack -> $work; budget ${budget}s; OUT $OUT"
rm -rf "$work" && mkdir -p "$work" || exit 1
unxz_to "$pack/node.xz" > "$work/node" && chmod +x "$work/node" &&
  unxz_to "$pack/app.tar.xz" | tar -xf - -C "$work" &&
  tar -xf "$pack/data.tar" -C "$work" || { log "unpacking failed"; exit 1; }
node=$work/node
log "unpacked: node $("$node" --version)"

if [ $rehearse = 1 ]; then
  lavapipe=$pack/../.cache/vulkan/lvp_icd.json
  [ -f "$lavapipe" ] || { log "no software Vulkan driver at $lavapipe: run npm run setup:vulkan first"; exit 1; }
  export VK_DRIVER_FILES=$(cd "$(dirname "$lavapipe")" && pwd)/lvp_icd.json
  bench_sizes=64,96x64 train_configs=slim-64-1 train_steps=1 checkpoint_every=20s
  torch=(--device cpu --quick --arch slim --sizes 64x64 --train-sizes 64x64 --batches 1)
  python=$pack/../.cache/torch-venv/bin/python
else
  # The device README: bring the loader where the image has none, and point it at NVIDIA's driver.
  # Not grep -q: it stops reading at the first match, ldconfig dies of SIGPIPE, and pipefail reads that as no match.
  if ! ldconfig -p | grep 'libvulkan\.so\.1' > /dev/null; then
    for deb in "$pack"/debs/*.deb; do dpkg -x "$deb" /; done
    ldconfig
    log "Vulkan loader installed from the pack's .debs"
  fi
  nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  if [ -z "${VK_DRIVER_FILES:-}" ] && ! ls /usr/share/vulkan/icd.d/*nvidia* /etc/vulkan/icd.d/*nvidia* > /dev/null 2>&1 && [ -f "$nvidia_icd" ]; then
    export VK_DRIVER_FILES=$nvidia_icd
  fi
  bench_sizes=256,512,1280x720 train_steps=3 checkpoint_every=60s
  train_configs=slim-128-1,slim-128-4,slim-256-1,slim-256-4,full-128-1,full-128-4,full-256-1,full-256-4
  torch=(--precisions fp32 --arch full,slim --sizes 256x256,512x512,1280x720 --train-sizes 128x128,256x256 --batches 1,4)
  python=python3
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | while read -r line; do log "GPU: $line"; done
fi
log "VK_DRIVER_FILES=${VK_DRIVER_FILES:-(loader default)}"

# The bundle runs from its app folder: ../shared/data there is the pack's data, as in a checkout.
cd "$work/app" || exit 1
"$node" --input-type=module -e "
  const { create } = await import('webgpu');
  const adapter = await create([]).requestAdapter({ powerPreference: 'high-performance' });
  const info = adapter?.info ?? {};
  console.log(adapter ? 'WebGPU adapter: ' + ['vendor', 'architecture', 'device', 'description'].map((k) => k + '=' + info[k]).join(' ') : 'no WebGPU adapter');
  process.exit(0);" 2>&1 | while read -r line; do log "$line"; done

export NST_BENCH_BACKENDS=webgpu
phase "inference bench ($bench_sizes)" "${NST_INFERENCE_S:-90}" env NST_BENCH_SIZES=$bench_sizes "$node" src/nst-device.mjs bench inference >> "$OUT/bench.jsonl" 2>> "$OUT/run.log"
phase "training bench ($train_configs)" "${NST_TRAIN_BENCH_S:-180}" env NST_BENCH_TRAIN_CONFIGS=$train_configs NST_BENCH_TRAIN_STEPS=$train_steps "$node" src/nst-device.mjs bench training >> "$OUT/bench.jsonl" 2>> "$OUT/run.log"
if [ -x "$python" ] || command -v "$python" > /dev/null; then
  phase "PyTorch reference" "${NST_TORCH_S:-120}" env PYTHONUNBUFFERED=1 "$python" "$pack/torch-reference.py" --bench infer,train "${torch[@]}" --out "$OUT/torch-ref.jsonl" > /dev/null 2>> "$OUT/run.log"
else
  log "PyTorch reference: skipped, no $python (npm run setup:torch makes .cache/torch-venv for the rehearsal)"
fi

# Training: the time left, shared by the styles not yet run; each checkpoints into $OUT as it goes.
mkdir -p "$OUT/train"
for i in "${!styles[@]}"; do
  IFS=: read -r style arch size batch init weight <<< "${styles[$i]}"
  arch=${arch:-slim} size=${size:-256} batch=${batch:-4} weight=${weight:-auto}
  start=()
  if [ -n "$init" ]; then
    [ -e "$pack/../$init" ] || { log "train $style: no model $init in this checkout (give a folder such as training/NAME)"; continue; }
    start=(--init "$(cd "$pack/.." && pwd)/$init")
  fi
  name=$style-$arch-$size
  image=../shared/data/styles/$style.jpg
  if [ ! -f "$image" ]; then log "train $name: no style image $image (styles: $(ls ../shared/data/styles | tr '\n' ' '))"; continue; fi
  resume=()
  if [ -f "$pack/resume/$name/checkpoint.nst" ]; then cp -r "$pack/resume/$name" "$OUT/train/" && resume=(--resume); fi
  slice=$((($(left) - GRACE) / (${#styles[@]} - i)))
  # The learning rate comes down to 2e-4 over the steps that fit the slice at the training bench's
  # step time on this GPU (80 % of it, after a minute of start-up); unmeasured, it stays constant.
  schedule=()
  step_ms=$(training_step_ms "$arch" "$size" "$batch")
  if [ -z "${resume[*]}" ] && [ -n "$step_ms" ] && [ "$slice" -gt 90 ]; then
    schedule=(--steps $(((slice - 60) * 800 / step_ms)) --lr-final 2e-4)
    log "train $name: ${schedule[1]} steps at the bench's ${step_ms} ms a step"
  fi
  # shellcheck disable=SC2086 # NST_TRAIN_ARGS is a list of flags
  phase "train $name${resume:+ (resumed)}" "$slice" "$node" src/nst-device.mjs train --style "$image" --content ../shared/data/content/imagenet \
    --vgg ../shared/data/vgg19 --out "$OUT/train/$name" --arch "$arch" --size "$size" --batch "$batch" --backend webgpu --checkpoint-every "$checkpoint_every" \
    --content-weight "$weight" --crop random --style-long-side $((2 * size)) "${start[@]}" "${schedule[@]}" "${resume[@]}" ${NST_TRAIN_ARGS:-} 2>> "$OUT/run.log"
  tail -n 1 "$OUT/train/$name/train-log.jsonl" 2>/dev/null | while read -r line; do log "train $name, last step: $line"; done
done

# $OUT comes back as at most 8 files of at most 16 MiB, 2 folders down: one tar per run, in parts
# when it is larger.
cd "$OUT/train" && for name in *; do
  [ -d "$name" ] || continue
  tar -cf "../train-$name.tar" "$name" && rm -rf "$name"
  if [ "$(stat -c %s "../train-$name.tar")" -gt $((15 * 2 ** 20)) ]; then
    split -b 15M -d "../train-$name.tar" "../train-$name.tar." && rm "../train-$name.tar"
  fi
done
cd "$OUT" && rmdir train 2> /dev/null
log "done in $(($(date +%s) - started))s; results: $(ls "$OUT" | tr '\n' ' ')"
count=$(ls "$OUT" | wc -l)
[ "$count" -le 8 ] || log "warning: $count files in OUT, but only 8 come back; train fewer styles"
