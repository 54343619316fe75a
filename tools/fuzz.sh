#!/usr/bin/env bash
# Builds the libFuzzer targets of Fuzz/ and runs each for a given time.
#
#   tools/fuzz.sh [SECONDS-PER-TARGET] [TARGET...]      targets: image safetensors pth config
#
#   tools/fuzz.sh 15                   # CI smoke: every target 15 s
#   FUZZ_PARALLEL=2 tools/fuzz.sh 600  # the long run: 10 minutes each, two at a time
#
# Each target keeps its corpus in .fuzz/corpus/<target> (grows from run to run; gitignored)
# and is seeded from ../shared/corpora (or $IMG2IMG_CORPORA) for images, the test fixtures
# (Tests/*/Fixtures) for checkpoints, and small files this script writes. Limits:
# -rss_limit_mb=2048 (also the malloc limit: one allocation above it is a crash) and
# -timeout=10 s per input. A crash, leak, timeout or out-of-memory input is saved in
# .fuzz/artifacts/<target>/ and makes the script exit non-zero; turn it into a regression
# test under Tests/*/Fixtures (see Tests/FuzzRegressionTests).
# Prints, per target: executions, execs/s, seconds, corpus size, peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
command -v swift >/dev/null || export PATH="$PATH:/opt/swift/usr/bin"

seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(image safetensors pth config)
parallel=${FUZZ_PARALLEL:-1}
corpora=${IMG2IMG_CORPORA:-$root/../shared/corpora}

product() {
    case "$1" in
        image) echo FuzzImage ;; safetensors) echo FuzzSafeTensors ;; pth) echo FuzzPth ;; config) echo FuzzConfig ;;
        *) echo "fuzz.sh: unknown target '$1' (image safetensors pth config)" >&2; exit 2 ;;
    esac
}
for t in "${targets[@]}"; do product "$t" >/dev/null; done

# The fuzz package depends on this one through .fuzz/img2img -> .. (identity "img2img").
mkdir -p .fuzz
ln -sfn .. .fuzz/img2img

# MARK: build (release: the fuzzer runs many times faster; preconditions stay on)
flags=(--package-path Fuzz --scratch-path .build-fuzz -c release
       -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld
       -Xcc -fsanitize=fuzzer-no-link,address)
for t in "${targets[@]}"; do
    echo "fuzz: building $(product "$t")"
    swift build "${flags[@]}" --product "$(product "$t")" 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]' || true
    [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "fuzz: build of $t failed" >&2; exit 1; }
done
bin=$(swift build "${flags[@]}" --show-bin-path)

# MARK: seeds (symlinks and small generated files under .fuzz/seeds; nothing is copied into the repo)
seeds=.fuzz/seeds
rm -rf "$seeds"
mkdir -p "$seeds"/{image,safetensors,pth,config}
if [ -d "$corpora" ]; then
    find "$corpora" -type f \( -iname '*.png' -o -iname '*.jpg' -o -iname '*.jpeg' \) -size -64k -print0 |
        while IFS= read -r -d '' f; do ln -sf "$f" "$seeds/image/$(echo "$f" | md5sum | cut -c1-16)"; done
else
    echo "fuzz: no corpora at $corpora: image seeds are the generated ones only"
fi
printf '\x89PNG\r\n\x1a\n' > "$seeds/image/png-signature"
printf '\xff\xd8\xff\xe0\x00\x10JFIF\x00' > "$seeds/image/jpeg-signature"
for f in Tests/*/Fixtures/*.safetensors; do ln -sf "$root/$f" "$seeds/safetensors/$(basename "$f")"; done
for f in Tests/*/Fixtures/*.pth; do ln -sf "$root/$f" "$seeds/pth/$(basename "$f")"; done
st() {  # a safetensors file from a header text and a payload size
    local header=$1 payload=$2 out=$3
    python3 - "$header" "$payload" "$out" <<'PY'
import struct, sys
h = sys.argv[1].encode(); open(sys.argv[3], "wb").write(struct.pack("<Q", len(h)) + h + b"\0" * int(sys.argv[2]))
PY
}
if command -v python3 >/dev/null; then
    st '{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}' 16 "$seeds/safetensors/small-f32"
    st '{"__metadata__":{"k":"v"},"a":{"dtype":"F16","shape":[3],"data_offsets":[0,6]},"b":{"dtype":"I64","shape":[],"data_offsets":[6,14]}}' 14 "$seeds/safetensors/mixed"
    st '{"a":{"dtype":"BF16","shape":[0],"data_offsets":[0,0]}}' 0 "$seeds/safetensors/empty-tensor"
fi
cfgs=('{"kind":"generator","netG":"resnet_9blocks","input_nc":3,"output_nc":3,"ngf":64,"norm":"instance","use_dropout":false,"padding_type":"reflect"}'
      '{"kind":"generator","netG":"unet_32","ngf":2,"norm":"batch","use_dropout":true}'
      '{"kind":"discriminator","netD":"n_layers","n_layers_D":2,"ndf":2,"input_nc":6}'
      '{"kind":"discriminator","netD":"pixel","ndf":1}'
      '{"kind":"dcgan_generator","nz":4,"ngf":2,"image_size":16}'
      '{"kind":"cgan_discriminator","ndf":1,"image_size":8,"num_classes":3,"embed_dim":2}'
      '{"batchInEpoch":3,"classes":["cat","dog"]}'
      '{"format":1,"model":"pix2pix","progress":{"epoch":1,"iteration":4},"rng":{"trainer":"1"},"optimizers":{},"losses":{}}')
i=0; for c in "${cfgs[@]}"; do printf '%s' "$c" > "$seeds/config/generated-$i"; i=$((i + 1)); done
# the metadata of a real training checkpoint, written by the target itself
[ -x "$bin/FuzzConfig" ] && FUZZ_WRITE_SEEDS="$seeds/config" "$bin/FuzzConfig" >/dev/null 2>&1 || true

# MARK: run
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
export SWIFT_BACKTRACE=enable=no   # libFuzzer and ASan report crashes; Swift's backtracer would get in the way
maxlen() { case "$1" in image) echo 65536 ;; config) echo 8192 ;; *) echo 131072 ;; esac; }
run_one() {
    local t=$1 p log status
    p=$(product "$t")
    mkdir -p ".fuzz/corpus/$t" ".fuzz/artifacts/$t"
    log=".fuzz/$t.log"
    set +e
    "$bin/$p" ".fuzz/corpus/$t" "$seeds/$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -max_len="$(maxlen "$t")" -print_final_stats=1 -artifact_prefix=".fuzz/artifacts/$t/" >"$log" 2>&1
    status=$?
    set -e
    local execs rate peak corpus secs
    execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
    rate=$(grep -E '^stat::average_exec_per_sec' "$log" | awk '{print $2}')
    peak=$(grep -E '^stat::peak_rss_mb' "$log" | awk '{print $2}')
    secs=$(grep -E '^Done [0-9]+ runs in' "$log" | sed -E 's/.* in ([0-9]+) second.*/\1/')
    corpus=$(find ".fuzz/corpus/$t" -type f | wc -l)
    if [ "$status" -eq 0 ]; then
        echo "fuzz $t: ok: ${execs:-?} execs in ${secs:-$seconds} s (${rate:-?} execs/s), corpus $corpus files, peak RSS ${peak:-?} MB"
    else
        echo "fuzz $t: FAILED (exit $status): ${execs:-?} execs, see $log; inputs in .fuzz/artifacts/$t/:"
        grep -E 'ERROR: |SUMMARY: |Fatal error|Test unit written|Precondition failed|out-of-memory|timeout' "$log" | head -12 | sed 's/^/    /'
    fi
    return "$status"
}

failed=0
pids=(); names=()
for t in "${targets[@]}"; do
    if [ "$parallel" -le 1 ]; then
        run_one "$t" || failed=1
    else
        run_one "$t" & pids+=($!); names+=("$t")
        if [ ${#pids[@]} -ge "$parallel" ]; then wait "${pids[0]}" || failed=1; pids=("${pids[@]:1}"); fi
    fi
done
for p in "${pids[@]}"; do wait "$p" || failed=1; done
[ "$failed" -eq 0 ] && echo "fuzz: no crash" || echo "fuzz: crashes found (see above)"
exit "$failed"
