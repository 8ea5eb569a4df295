#!/usr/bin/env bash
# scripts/bench.sh: benchmark Shrinkwrap against the tools a user would otherwise pick, side by side,
# in one run, on the same machine and the same corpora: every workload of issue 7, and extracting
# (issue 14).
#
# Usage:
#   scripts/bench.sh [--only zip|thumbs|extract] [CORPUS_DIR]
#     CORPUS_DIR defaults to /tmp/shrinkwrap-corpus. Build it with /work/shared/corpus/make_images.sh,
#     make_zip_corpus.sh, then make_generated.sh (see that README).
#
# Workloads (WORKLOADS="tiny100k mixed ..." runs some of them; default: all of the --only group):
#   tiny1k, tiny10k, tiny100k  generated/tiny: 1,000 / 10,000 / 100,000 files of 70 bytes
#                              (1, 10, 100 folders): ours vs Info-ZIP `zip -r -6`; per-item cost
#   small                      zipcorpus/small (22,702 kernel headers, 143 MB) vs Info-ZIP
#   mixed                      zipcorpus/mixed (476 MB) vs Info-ZIP, Python zipfile, 7-Zip
#   big                        zipcorpus/big/big.tar (one 481 MB file) vs `pigz -6 -p2`
#   head                       generated/head/m.bin (random first 256 KiB, then 300 MB of the tar)
#                              vs `pigz -6 -p2`
#   photos                     images/ (203 photos): thumbnails 256 px, JPEG q85, 2 workers, vs
#                              Pillow Pool(2), vipsthumbnail x2, ImageMagick x2
#   jpeg2k                     generated/small_jpeg (2,000 JPEGs of 320x240) vs Pillow Pool(2)
#   formats                    formats/ (make_formats.sh): the HEIC, AVIF and JPEG XL files, thumbnails
#                              256 px, JPEG q85, 2 workers, vs vipsthumbnail x2 (libheif, libjxl)
#   extract                    Info-ZIP's archive of zipcorpus/mixed (`zip -r -q`, made once, untimed)
#                              extracted into a fresh folder: `shrinkwrap extract` vs `unzip -q`
#                              and `7zz x`; every tool's output checked byte-exact (`diff -r`)
#                              with modification times kept (whole seconds)
# Ours also runs with --no-journal on tiny100k and jpeg2k (the journal's cost, issue 9).
#
# Environment:
#   SHRINKWRAP=path   binary under test (default: <repo>/target/release/shrinkwrap; if that is
#                     missing and SHRINKWRAP is unset, `cargo build --release` is run first)
#   RUNS=N            run every case N times, rounds interleaved, and report medians (default 3)
#   WORKLOADS="..."   the workloads to run (see above)
#   ANCHORS=dir       baseline scripts (default: <script dir>/../../shared/corpus/anchors)
#   PYTHON=path       interpreter with Pillow (default: first python3 that can `import PIL`); also
#                     runs the zipfile baseline
#   SEVENZIP=path     7-Zip binary (default: 7zz, else 7z)
#   SEVENZIP_LEVELS   7-Zip -mx levels to run on mixed (default "1 5"; empty: no 7-Zip)
#   IM=path           ImageMagick binary (default: magick, else /usr/bin/convert; a `convert` that is
#                     not ImageMagick is refused)
#   SAMPLE=0          do not sample the process tree's memory (see below)
#   BENCH_OUT=dir     where outputs go (default: a fresh mktemp dir, removed at the end)
#   KEEP_OUT=1        keep the outputs of the last round
#   STRICT=1          exit 3 if any target is FAIL or N/A (default: exit 0 once everything has run)
#
# What is measured, per case: wall time and peak RSS from GNU time (`/usr/bin/time -f '%e %M'`),
# output size. GNU time's %M is the peak RSS of the single largest process, so for tools that run
# several processes (Pillow's pool, xargs -P2) it understates the total; the script also samples
# the whole process tree every SAMPLE_INTERVAL seconds (default 0.2) and reports the peak of the
# sum of PSS over its processes: column "tree MiB" (sampling can miss short peaks).
#
# Units: sizes and throughput in MB = 10^6 bytes; memory in MiB (2^20 bytes). Ratios are of
# medians from this one run. Caches cannot be dropped here; instead every corpus file is read once
# before timing so all tools read from the page cache, and `sync` runs between cases (outside
# timing) so one tool's writeback does not land on the next. The load average and the busiest
# other processes are printed at the start and the end: the machine may be shared.
#
# Targets (PASS/FAIL lines at the end; issue 7):
#   tiny100k >= 1.5x Info-ZIP; small >= 2.0x Info-ZIP; mixed >= 3.5x Info-ZIP and archive
#   <= 1.005x Info-ZIP's; big >= 1.6x pigz -6 -p2 and archive <= 1.01x pigz's; head archive
#   <= 1.02x pigz's; ours zip peak RSS <= 64 MiB on every zip workload.
#   (issue 15) photos >= 2.5x Pillow Pool(2) and ours <= 256 MiB; jpeg2k >= 2.5x Pillow Pool(2);
#   formats >= 0.8x vipsthumbnail x2; ours thumbnails otherwise <= 300 MiB.
#   (issue 14) extract >= 1.8x `unzip -q` and >= 1.3x `7zz x`; ours extract <= 64 MiB.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

ONLY=all
CORPUS=
while [ $# -gt 0 ]; do
  case $1 in
    --only) [ $# -ge 2 ] || { echo "--only needs zip|thumbs|extract" >&2; exit 2; }; ONLY=$2; shift 2 ;;
    --only=*) ONLY=${1#--only=}; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
    *) [ -z "$CORPUS" ] || { echo "only one CORPUS_DIR" >&2; exit 2; }; CORPUS=$1; shift ;;
  esac
done
case $ONLY in all|zip|thumbs|extract) ;; *) echo "--only must be zip, thumbs or extract" >&2; exit 2 ;; esac
CORPUS=${CORPUS:-/tmp/shrinkwrap-corpus}
CORPUS=$(cd "$CORPUS" && pwd) || { echo "corpus dir not found" >&2; exit 2; }
RUNS=${RUNS:-3}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "RUNS must be a positive integer" >&2; exit 2; }
SAMPLE=${SAMPLE:-1}
SAMPLE_INTERVAL=${SAMPLE_INTERVAL:-0.2}
SEVENZIP_LEVELS=${SEVENZIP_LEVELS-1 5}

ZIP_WORKLOADS=(tiny1k tiny10k tiny100k small mixed big head)
THUMB_WORKLOADS=(photos jpeg2k formats)
EXTRACT_WORKLOADS=(extract)
case $ONLY in
  zip) DEFAULT_WL="${ZIP_WORKLOADS[*]}" ;;
  thumbs) DEFAULT_WL="${THUMB_WORKLOADS[*]}" ;;
  extract) DEFAULT_WL="${EXTRACT_WORKLOADS[*]}" ;;
  *) DEFAULT_WL="${ZIP_WORKLOADS[*]} ${THUMB_WORKLOADS[*]} ${EXTRACT_WORKLOADS[*]}" ;;
esac
read -r -a WL <<< "${WORKLOADS:-$DEFAULT_WL}"
declare -A WANT
for w in "${WL[@]}"; do
  case " ${ZIP_WORKLOADS[*]} ${THUMB_WORKLOADS[*]} ${EXTRACT_WORKLOADS[*]} " in *" $w "*) WANT[$w]=1 ;;
    *) echo "unknown workload: $w" >&2; exit 2 ;; esac
done
wants() { [ -n "${WANT[$1]:-}" ]; }

warn() { echo "WARNING: $*" >&2; }
die() { echo "error: $*" >&2; exit 1; }

# ---------------------------------------------------------------- tools
TIME=/usr/bin/time
"$TIME" --version 2>&1 | grep -q GNU || die "$TIME is not GNU time (apt-get install time)"

ANCHORS=${ANCHORS:-$SCRIPT_DIR/../../shared/corpus/anchors}
[ -d "$ANCHORS" ] && ANCHORS=$(cd "$ANCHORS" && pwd) || die "anchors dir not found: $ANCHORS (set ANCHORS=)"

if [ -z "${PYTHON:-}" ]; then
  for p in /usr/bin/python3 python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import PIL' 2>/dev/null; then PYTHON=$(command -v "$p"); break; fi
  done
  [ -n "${PYTHON:-}" ] || { PYTHON=$(command -v python3 || true); warn "no python3 with Pillow (pip install pillow); Pillow rows will fail"; }
fi
SEVENZIP=${SEVENZIP:-$(command -v 7zz || command -v 7z || true)}
if [ -z "${IM:-}" ]; then
  for c in "$(command -v magick || true)" /usr/bin/convert "$(command -v convert || true)"; do
    [ -n "$c" ] && [ -x "$c" ] || continue
    # refuse stand-ins (e.g. a script named convert that only forwards): need real ImageMagick
    if [ "$(head -c2 "$c")" != '#!' ] && "$c" -version 2>/dev/null | grep -q ImageMagick; then IM=$c; break; fi
  done
fi

BUILD_NOTE=
if [ -z "${SHRINKWRAP:-}" ]; then
  SHRINKWRAP=$REPO_ROOT/target/release/shrinkwrap
  if [ ! -x "$SHRINKWRAP" ]; then
    echo "== $SHRINKWRAP missing: cargo build --release" >&2
    (cd "$REPO_ROOT" && cargo build --release) || die "cargo build --release failed"
  fi
  BUILD_NOTE="repo $(git -C "$REPO_ROOT" log -1 --format='%h %s' 2>/dev/null | cut -c1-70)$(git -C "$REPO_ROOT" diff --quiet 2>/dev/null || echo ' (+ uncommitted changes)')"
fi
case $SHRINKWRAP in
  */*) [ -x "$SHRINKWRAP" ] || die "SHRINKWRAP=$SHRINKWRAP is not executable"
       SHRINKWRAP=$(cd "$(dirname "$SHRINKWRAP")" && pwd)/$(basename "$SHRINKWRAP") ;;
  *)   SHRINKWRAP=$(command -v "$SHRINKWRAP") || die "SHRINKWRAP not found in PATH" ;;
esac
have() { [ -n "$1" ] && command -v "$1" >/dev/null 2>&1; }

# ---------------------------------------------------------------- corpora
ZC=$CORPUS/zipcorpus
GEN=$CORPUS/generated
TINY=$GEN/tiny
IMAGES=$CORPUS/images
LIST=$CORPUS/images.list
JLIST=$GEN/small_jpeg.list
FORMATS_LIST=$CORPUS/formats.list
need() { [ -e "$1" ] || die "$1 missing ($2)"; }
for w in tiny1k tiny10k tiny100k; do wants $w && need "$TINY/d099" "run make_generated.sh"; done
wants small && need "$ZC/small" "run make_zip_corpus.sh"
wants mixed && need "$ZC/mixed" "run make_zip_corpus.sh"
wants extract && need "$ZC/mixed" "run make_zip_corpus.sh"
wants big && need "$ZC/big/big.tar" "run make_zip_corpus.sh"
wants head && need "$GEN/head/m.bin" "run make_zip_corpus.sh, then make_generated.sh"
wants photos && { need "$IMAGES" "run make_images.sh"; need "$LIST" "run make_images.sh"; }
wants jpeg2k && need "$JLIST" "run make_generated.sh"
wants formats && need "$FORMATS_LIST" "run make_images.sh, then make_formats.sh"
TINY10K=(d000 d001 d002 d003 d004 d005 d006 d007 d008 d009)

# Input bytes and items per workload (items: files, or images).
declare -A IN_BYTES IN_ITEMS
tree_bytes() { find "$@" -type f -printf '%s\n' | awk '{s+=$1} END{print s+0}'; }
tree_files() { find "$@" -type f | wc -l; }
wants tiny1k && { IN_BYTES[tiny1k]=$(tree_bytes "$TINY/d000"); IN_ITEMS[tiny1k]=$(tree_files "$TINY/d000"); }
wants tiny10k && { IN_BYTES[tiny10k]=$(cd "$TINY" && tree_bytes "${TINY10K[@]}"); IN_ITEMS[tiny10k]=$(cd "$TINY" && tree_files "${TINY10K[@]}"); }
wants tiny100k && { IN_BYTES[tiny100k]=$(tree_bytes "$TINY"); IN_ITEMS[tiny100k]=$(tree_files "$TINY"); }
wants small && { IN_BYTES[small]=$(tree_bytes "$ZC/small"); IN_ITEMS[small]=$(tree_files "$ZC/small"); }
wants mixed && { IN_BYTES[mixed]=$(tree_bytes "$ZC/mixed"); IN_ITEMS[mixed]=$(tree_files "$ZC/mixed"); }
# extract: the bytes and files that come out (the archive's uncompressed content)
wants extract && { IN_BYTES[extract]=$(tree_bytes "$ZC/mixed"); IN_ITEMS[extract]=$(tree_files "$ZC/mixed"); }
wants big && { IN_BYTES[big]=$(stat -c %s "$ZC/big/big.tar"); IN_ITEMS[big]=1; }
wants head && { IN_BYTES[head]=$(stat -c %s "$GEN/head/m.bin"); IN_ITEMS[head]=1; }
wants photos && { IN_ITEMS[photos]=$(grep -c . "$LIST"); IN_BYTES[photos]=$(xargs -d '\n' -a "$LIST" stat -c %s | awk '{s+=$1} END{print s+0}'); }
wants jpeg2k && { IN_ITEMS[jpeg2k]=$(grep -c . "$JLIST"); IN_BYTES[jpeg2k]=$(xargs -d '\n' -a "$JLIST" stat -c %s | awk '{s+=$1} END{print s+0}'); }

if [ -n "${BENCH_OUT:-}" ]; then
  OUT=$BENCH_OUT; mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
else
  OUT=$(mktemp -d "${TMPDIR:-/tmp}/shrinkwrap-bench.XXXXXX")
  [ "${KEEP_OUT:-0}" = 1 ] || trap 'rm -rf "$OUT"' EXIT
fi
LOGS=$OUT/logs; mkdir -p "$LOGS"
# formats: the files of the formats we read (HEIC, AVIF, JPEG XL)
FLIST=$OUT/formats-read.list
if wants formats; then
  grep -Ei '\.(heic|heif|avif|jxl)$' "$FORMATS_LIST" > "$FLIST"
  IN_ITEMS[formats]=$(grep -c . "$FLIST")
  IN_BYTES[formats]=$(xargs -d '\n' -a "$FLIST" stat -c %s | awk '{s+=$1} END{print s+0}')
fi

# ---------------------------------------------------------------- measurement
# peak over time of (sum of PSS, KiB) of all descendants of $1 (the GNU time process, excluded)
tree_pss_kb() {
  ps -e -o pid=,ppid= | awk -v root="$1" '
    { par[$1] = $2 }
    END {
      inside[root] = 1; changed = 1
      while (changed) { changed = 0
        for (p in par) if (!(p in inside) && (par[p] in inside)) { inside[p] = 1; changed = 1 } }
      s = 0
      for (p in inside) { if (p == root) continue
        f = "/proc/" p "/smaps_rollup"
        while ((getline line < f) > 0) if (line ~ /^Pss:/) { split(line, a, " "); s += a[2] }
        close(f) }
      print s }'
}

declare -A WALL RSS TREE BYTES STATUS NOTE LABEL WORKLOAD
CASES=()
# case ID WORKLOAD LABEL [skip-reason]
add_case() {
  CASES+=("$1"); WORKLOAD[$1]=$2; LABEL[$1]=$3
  [ -z "${4:-}" ] || STATUS[$1]=skipped
}

# run_tool ID WORKDIR CMD... : one timed run, appends to WALL[ID] RSS[ID] TREE[ID]
run_tool() {
  local id=$1 dir=$2; shift 2
  local tf=$LOGS/$id.time log=$LOGS/$id.log peak=0 cur rc=0 tpid
  sync
  ( cd "$dir" && exec "$TIME" -f '%e %M' -o "$tf" "$@" ) >"$log" 2>&1 &
  tpid=$!
  if [ "$SAMPLE" = 1 ]; then
    while kill -0 "$tpid" 2>/dev/null; do
      cur=$(tree_pss_kb "$tpid" 2>/dev/null || echo 0)
      [ "${cur:-0}" -gt "$peak" ] && peak=$cur
      sleep "$SAMPLE_INTERVAL"
    done
  fi
  wait "$tpid" || rc=$?
  local w m
  read -r w m < <(tail -n1 "$tf" 2>/dev/null || echo "0 0")
  [[ $w =~ ^[0-9.]+$ ]] || { w=0; m=0; }
  WALL[$id]+="$w "; RSS[$id]+="$m "; TREE[$id]+="$peak "
  if [ "$rc" -ne 0 ]; then
    STATUS[$id]=FAILED
    warn "$id exited with status $rc; last lines of $log:"; tail -n5 "$log" >&2 || true
  fi
  sync
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END{ if (!NR) {print 0; exit}
  print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2) }'; }
fsize() { if [ -f "$1" ]; then stat -c %s "$1"; else echo 0; fi; }
count_files() { if [ -d "$1" ]; then find "$1" -type f | wc -l; else echo 0; fi; }

# ---------------------------------------------------------------- cases
SW=$SHRINKWRAP
zipout() { echo "$OUT/$1.zip"; }
if wants tiny1k; then
  add_case ours_tiny1k tiny1k "shrinkwrap zip"
  add_case izip_tiny1k tiny1k "zip -r -6" "$(have zip || echo no zip)"
fi
if wants tiny10k; then
  add_case ours_tiny10k tiny10k "shrinkwrap zip"
  add_case izip_tiny10k tiny10k "zip -r -6" "$(have zip || echo no zip)"
fi
if wants tiny100k; then
  add_case ours_tiny100k tiny100k "shrinkwrap zip"
  add_case ours_tiny100k_nj tiny100k "shrinkwrap zip --no-journal"
  add_case izip_tiny100k tiny100k "zip -r -6" "$(have zip || echo no zip)"
fi
if wants small; then
  add_case ours_small small "shrinkwrap zip"
  add_case izip_small small "zip -r -6" "$(have zip || echo no zip)"
fi
if wants mixed; then
  add_case ours_mixed mixed "shrinkwrap zip"
  add_case izip_mixed mixed "zip -r -6" "$(have zip || echo no zip)"
  add_case pyzip_mixed mixed "Python zipfile -6"
  for l in $SEVENZIP_LEVELS; do
    add_case "7z${l}_mixed" mixed "7-Zip -tzip -mx=$l -mmt=2" "$(have "$SEVENZIP" || echo no 7-Zip)"
  done
fi
if wants big; then
  add_case ours_big big "shrinkwrap zip"
  add_case pigz_big big "pigz -6 -p2 (gzip)" "$(have pigz || echo no pigz)"
fi
if wants head; then
  add_case ours_head head "shrinkwrap zip"
  add_case pigz_head head "pigz -6 -p2 (gzip)" "$(have pigz || echo no pigz)"
fi
if wants photos; then
  add_case ours_photos photos "shrinkwrap thumbs -j2"
  add_case pil_photos photos "Pillow Pool(2)"
  add_case vips_photos photos "vipsthumbnail x2" "$(have vipsthumbnail || echo no vipsthumbnail)"
  add_case magick_photos photos "ImageMagick x2" "$([ -n "${IM:-}" ] || echo no ImageMagick)"
fi
if wants formats; then
  add_case ours_formats formats "shrinkwrap thumbs -j2"
  add_case vips_formats formats "vipsthumbnail x2" "$(have vipsthumbnail || echo no vipsthumbnail)"
fi
if wants extract; then
  add_case ours_extract extract "shrinkwrap extract"
  add_case unzip_extract extract "unzip -q" "$(have unzip || echo no unzip)"
  add_case 7z_extract extract "7-Zip x" "$(have "$SEVENZIP" || echo no 7-Zip)"
fi
if wants jpeg2k; then
  add_case ours_jpeg2k jpeg2k "shrinkwrap thumbs -j2"
  add_case ours_jpeg2k_nj jpeg2k "shrinkwrap thumbs -j2 --no-journal"
  add_case pil_jpeg2k jpeg2k "Pillow Pool(2)"
fi

ours_zip() {  # id workdir inputs...
  local id=$1 dir=$2; shift 2
  local o; o=$(zipout "$id"); rm -f "$o"
  local extra=(); [[ $id == *_nj ]] && extra=(--no-journal)
  run_tool "$id" "$dir" "$SW" zip "$@" --output "$o" --level 6 "${extra[@]}"
  BYTES[$id]=$(fsize "$o")
}
izip() {  # id workdir inputs...
  local id=$1 dir=$2; shift 2
  local o; o=$(zipout "$id"); rm -f "$o"
  run_tool "$id" "$dir" zip -r -6 -q "$o" "$@"
  BYTES[$id]=$(fsize "$o")
}
pigz_case() {  # id file
  local o=$OUT/$1.gz; rm -f "$o"
  run_tool "$1" "$CORPUS" sh -c 'exec pigz -6 -p2 -c "$1" > "$2"' sh "$2" "$o"
  BYTES[$1]=$(fsize "$o")
}
ours_thumbs() {  # id input list
  local id=$1 d=$OUT/$1; rm -rf "$d"
  local extra=(); [[ $id == *_nj ]] && extra=(--no-journal)
  run_tool "$id" "$CORPUS" "$SW" thumbs "$2" --output "$d" --size 256 --format jpeg --quality 85 --jobs 2 "${extra[@]}"
  thumbs_done "$id" "$3"
}
thumbs_done() {  # id list
  local d=$OUT/$1
  BYTES[$1]=$(if [ -d "$d" ]; then find "$d" -type f -printf '%s\n' | awk '{s+=$1} END{print s+0}'; else echo 0; fi)
  NOTE[$1]="$(count_files "$d")/$(grep -c . "$2") thumbs"
}

# The archive every extract case reads: Info-ZIP's, of zipcorpus/mixed (made once, untimed).
XARCH=$OUT/extract-src.zip
extract_done() {  # id: the output's size and file count
  local d=$OUT/$1
  BYTES[$1]=$(if [ -d "$d" ]; then find "$d" -type f -printf '%s\n' | awk '{s+=$1} END{print s+0}'; else echo 0; fi)
  NOTE[$1]="$(count_files "$d")/${IN_ITEMS[extract]} files"
}

run_case() {
  local id=$1 d
  case $id in
    ours_extract) d=$OUT/$id; rm -rf "$d"
      run_tool "$id" "$OUT" "$SW" extract "$XARCH" --output "$d"
      extract_done "$id" ;;
    unzip_extract) d=$OUT/$id; rm -rf "$d"; mkdir -p "$d"
      run_tool "$id" "$OUT" unzip -q "$XARCH" -d "$d"
      extract_done "$id" ;;
    7z_extract) d=$OUT/$id; rm -rf "$d"; mkdir -p "$d"
      run_tool "$id" "$OUT" "$SEVENZIP" x -y -bd -bso0 "-o$d" "$XARCH"
      extract_done "$id" ;;
    ours_tiny1k) ours_zip "$id" "$TINY" d000 ;;
    izip_tiny1k) izip "$id" "$TINY" d000 ;;
    ours_tiny10k) ours_zip "$id" "$TINY" "${TINY10K[@]}" ;;
    izip_tiny10k) izip "$id" "$TINY" "${TINY10K[@]}" ;;
    ours_tiny100k|ours_tiny100k_nj) ours_zip "$id" "$GEN" tiny ;;
    izip_tiny100k) izip "$id" "$GEN" tiny ;;
    ours_small) ours_zip "$id" "$ZC" small ;;
    izip_small) izip "$id" "$ZC" small ;;
    ours_mixed) ours_zip "$id" "$ZC" mixed ;;
    izip_mixed) izip "$id" "$ZC" mixed ;;
    pyzip_mixed) d=$(zipout "$id"); rm -f "$d"
      run_tool "$id" "$ZC" "$PYTHON" "$ANCHORS/python_zip.py" 6 "$ZC/mixed" "$d"
      BYTES[$id]=$(fsize "$d") ;;
    7z*_mixed) local l=${id#7z}; l=${l%_mixed}; d=$(zipout "$id"); rm -f "$d"
      run_tool "$id" "$ZC" "$SEVENZIP" a -tzip "-mx=$l" -mmt=2 -bd "$d" mixed
      BYTES[$id]=$(fsize "$d") ;;
    ours_big) ours_zip "$id" "$ZC" big/big.tar ;;
    pigz_big) pigz_case "$id" "$ZC/big/big.tar" ;;
    ours_head) ours_zip "$id" "$GEN" head/m.bin ;;
    pigz_head) pigz_case "$id" "$GEN/head/m.bin" ;;
    ours_photos) ours_thumbs "$id" "$IMAGES" "$LIST" ;;
    pil_photos) d=$OUT/$id; rm -rf "$d"; mkdir -p "$d"
      run_tool "$id" "$CORPUS" "$PYTHON" "$ANCHORS/pillow_thumbs.py" pool default 2 "$LIST" "$d"
      thumbs_done "$id" "$LIST" ;;
    vips_photos) d=$OUT/$id; rm -rf "$d"; mkdir -p "$d"
      run_tool "$id" "$CORPUS" env VIPS_CONCURRENCY=1 xargs -d '\n' -a "$LIST" -P2 -n8 \
        vipsthumbnail -s 256x256 -o "$d/%s.jpg[Q=85,strip]"
      thumbs_done "$id" "$LIST" ;;
    magick_photos) d=$OUT/$id; rm -rf "$d"; mkdir -p "$d"  # two single-threaded workers
      run_tool "$id" "$CORPUS" env MAGICK_THREAD_LIMIT=1 xargs -d '\n' -a "$LIST" -P2 -I{} \
        sh -c 'b=${1##*/}; exec "$0" "$1" -thumbnail 256x256 -quality 85 "$2/${b%.*}.jpg"' "$IM" {} "$d"
      thumbs_done "$id" "$LIST" ;;
    ours_jpeg2k|ours_jpeg2k_nj) ours_thumbs "$id" "$GEN/small_jpeg" "$JLIST" ;;
    ours_formats) d=$OUT/$id; rm -rf "$d"
      run_tool "$id" "$CORPUS" "$SW" thumbs --files-from "$FLIST" --output "$d" --size 256 \
        --format jpeg --quality 85 --jobs 2
      thumbs_done "$id" "$FLIST" ;;
    vips_formats) d=$OUT/$id; rm -rf "$d"; mkdir -p "$d"
      run_tool "$id" "$CORPUS" env VIPS_CONCURRENCY=1 xargs -d '\n' -a "$FLIST" -P2 -n4 \
        vipsthumbnail -s 256x256 -o "$d/%s.jpg[Q=85,strip]"
      thumbs_done "$id" "$FLIST" ;;
    pil_jpeg2k) d=$OUT/$id; rm -rf "$d"; mkdir -p "$d"
      run_tool "$id" "$CORPUS" "$PYTHON" "$ANCHORS/pillow_thumbs.py" pool default 2 "$JLIST" "$d"
      thumbs_done "$id" "$JLIST" ;;
    *) die "no such case: $id" ;;
  esac
}

# Checks on ours (first round): the archive reads back and holds every input file.
CHECK_WARN=0
# "path mtime-in-whole-seconds" of every file below $1, sorted
mtimes() { (cd "$1" && find . -type f -printf '%P %T@\n' | sed 's/\.[0-9]*$//' | LC_ALL=C sort); }
check_case() {
  local id=$1 o n want
  case $id in
    *_extract)  # every tool's output: byte-exact and with the inputs' modification times
      o=$OUT/$id/mixed
      if ! diff -r -q "$ZC/mixed" "$o" > "$LOGS/$id.diff" 2>&1; then
        warn "$id: not byte-exact: $(head -n3 "$LOGS/$id.diff")"; CHECK_WARN=1; STATUS[$id]=${STATUS[$id]:-NOT-EXACT}
      elif ! cmp -s <(mtimes "$ZC/mixed") <(mtimes "$o"); then
        warn "$id: modification times differ: $(diff <(mtimes "$ZC/mixed") <(mtimes "$o") | sed -n 2p)"
        CHECK_WARN=1; STATUS[$id]=${STATUS[$id]:-MTIMES}
      else
        NOTE[$id]="${NOTE[$id]}, byte-exact, mtimes kept"
      fi
      ;;
    ours_*)
      [[ $id == ours_photos || $id == ours_jpeg2k* || $id == ours_formats ]] && {
        [ "${NOTE[$id]%%/*}" = "${IN_ITEMS[${WORKLOAD[$id]}]}" ] || {
          warn "$id wrote ${NOTE[$id]}"; CHECK_WARN=1; STATUS[$id]=${STATUS[$id]:-INCOMPLETE}; }
        return 0; }
      o=$(zipout "$id")
      if [ ! -f "$o" ]; then warn "$id produced no archive"; CHECK_WARN=1; STATUS[$id]=${STATUS[$id]:-NO-OUTPUT}; return 0; fi
      if ! unzip -tq "$o" > "$LOGS/$id.unzip_t" 2>&1; then
        warn "$id: unzip -tq FAILED"; tail -n5 "$LOGS/$id.unzip_t" >&2; CHECK_WARN=1; STATUS[$id]=BAD-ZIP
      fi
      n=$(unzip -Z1 "$o" 2>/dev/null | grep -vc '/$' || true)
      want=${IN_ITEMS[${WORKLOAD[$id]}]}
      NOTE[$id]="$n/$want files"
      [ "$n" = "$want" ] || { warn "$id: $n file entries, the input has $want"; CHECK_WARN=1; }
      ;;
  esac
  return 0
}

# ---------------------------------------------------------------- header + warm-up
machine() {
  echo "   load average: $(cut -d' ' -f1-3 /proc/loadavg); busiest processes (%CPU since start):"
  ps -e -o pcpu=,comm= --sort=-pcpu | head -n 4 | sed 's/^/     /'
}
echo "== shrinkwrap bench  $(date -u '+%Y-%m-%d %H:%M:%SZ')  host=$(hostname)  cores=$(nproc)  RUNS=$RUNS"
echo "   cpu: $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
echo "   corpus: $CORPUS   outputs: $OUT"
echo "   workloads: ${WL[*]}"
echo "   shrinkwrap: $SHRINKWRAP (sha256 $(sha256sum "$SHRINKWRAP" | cut -c1-12), built $(date -u -r "$SHRINKWRAP" '+%Y-%m-%d %H:%M:%SZ'))${BUILD_NOTE:+ from $BUILD_NOTE}"
echo "   python: $PYTHON ($("$PYTHON" -c 'import sys,PIL; print(sys.version.split()[0], "Pillow", PIL.__version__)' 2>/dev/null || echo no Pillow))"
echo "   zip: $(zip -v 2>/dev/null | sed -n 2p | sed 's/^ *//')  pigz: $(pigz --version 2>&1 | head -1)  7-Zip: ${SEVENZIP:-none}"
echo "   vips: $(vips --version 2>/dev/null || echo none)  IM: ${IM:-none} $("${IM:-true}" -version 2>/dev/null | sed -n 1p | awk '{print $3}')"
machine

if wants extract; then
  echo "== extract: Info-ZIP's archive of zipcorpus/mixed (zip -r -q, untimed)"
  rm -f "$XARCH"; (cd "$ZC" && zip -r -q "$XARCH" mixed) || die "zip -r failed"
  echo "   $XARCH: $(stat -c %s "$XARCH") B, $(unzip -Z1 "$XARCH" | grep -vc '/$') files"
fi

echo "== warm-up: reading the corpora into the page cache"
for w in "${WL[@]}"; do
  case $w in
    tiny1k|tiny10k|tiny100k) find "$TINY" -type f -print0 | xargs -0 cat > /dev/null ;;
    small|mixed) find "$ZC/$w" -type f -print0 | xargs -0 cat > /dev/null ;;
    big) cat "$ZC/big/big.tar" > /dev/null ;;
    head) cat "$GEN/head/m.bin" > /dev/null ;;
    photos) xargs -d '\n' -a "$LIST" cat > /dev/null ;;
    jpeg2k) xargs -d '\n' -a "$JLIST" cat > /dev/null ;;
    formats) xargs -d '\n' -a "$FLIST" cat > /dev/null ;;
    extract) cat "$XARCH" > /dev/null ;;
  esac
done
cat "$SHRINKWRAP" > /dev/null

# A thumbnail or extract case leaves thousands of files, and deleting them between rounds bills
# the next runs for it: ext4's inode allocator (fs/ext4/ialloc.c, `recently_deleted`) skips
# every inode freed in the last 60 s (360 s while its inode-table block is dirty), reading the
# inode table to find out, for each file it creates. `perf record` of a 2,000-file thumbnail run
# made within a minute of such a delete put 27 % of its cycles in that scan (and 22 % more in
# waiting for the directory lock held meanwhile): 1.0 s became 2.3 s, for every tool alike,
# and the round-1 figures alone were free of it. So a finished case's outputs are moved aside
# (a rename frees no inode) into $OUT/spent and deleted once, after the last round; the machine
# is then left SETTLE_SECONDS (default 5) before the next case.
SPENT=$OUT/spent
settle_after() {  # id round
  case $1 in
    *_photos|*_jpeg2k|*_jpeg2k_nj|*_formats|*_extract)
      if [ "$2" != "$RUNS" ] || [ "${KEEP_OUT:-0}" != 1 ]; then
        if [ -e "${OUT:?}/$1" ]; then mkdir -p "$SPENT"; mv "$OUT/$1" "$SPENT/$1.round$2"; fi
      fi
      sync; sleep "${SETTLE_SECONDS:-5}" ;;
  esac
}

# ---------------------------------------------------------------- runs (rounds interleaved)
for ((r = 1; r <= RUNS; r++)); do
  for id in "${CASES[@]}"; do
    [ "${STATUS[$id]:-}" = skipped ] && continue
    echo "== round $r/$RUNS: ${WORKLOAD[$id]}: ${LABEL[$id]}" >&2
    run_case "$id"
    [ "$r" = 1 ] && check_case "$id"
    settle_after "$id" "$r"
  done
done
rm -rf "$SPENT"  # every round's outputs, after the last timed run
for id in "${CASES[@]}"; do  # file entries in the anchors' archives, for comparison
  case $id in izip_*|pyzip_*|7z*) [ -f "$(zipout "$id")" ] && \
    NOTE[$id]="$(unzip -Z1 "$(zipout "$id")" 2>/dev/null | grep -vc '/$' || true)/${IN_ITEMS[${WORKLOAD[$id]}]} files" ;; esac
done

# ---------------------------------------------------------------- report
mw() { echo "${WALL[$1]:-}" | median; }
mr() { echo "${RSS[$1]:-}" | median; }
mt() { echo "${TREE[$1]:-}" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0 && a > 0) printf "%.2f", a / b; else print "n/a" }'; }
ratio3() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0 && a > 0) printf "%.4f", a / b; else print "n/a" }'; }
ok() { [ -z "${STATUS[$1]:-}" ] && [ -n "${WALL[$1]:-}" ]; }
ran() { [ "${STATUS[$1]:-}" != skipped ] && [ -n "${WALL[$1]:-}" ]; }

TITLE_tiny1k="generated/tiny/d000: 1,000 files of 70 B, deflate level 6"
TITLE_tiny10k="generated/tiny/d000-d009: 10,000 files of 70 B, deflate level 6"
TITLE_tiny100k="generated/tiny: 100,000 files of 70 B in 100 folders, deflate level 6"
TITLE_small="zipcorpus/small: kernel headers, deflate level 6"
TITLE_mixed="zipcorpus/mixed, deflate level 6"
TITLE_big="zipcorpus/big/big.tar: one file, deflate level 6 (pigz writes gzip, not zip)"
TITLE_head="generated/head/m.bin: 256 KiB of random bytes, then 300 MB of big.tar"
TITLE_photos="images/: photos, fit in 256x256, JPEG q85, 2 workers"
TITLE_jpeg2k="generated/small_jpeg: 320x240 JPEGs, fit in 256x256, JPEG q85, 2 workers"
TITLE_formats="formats/: HEIC, AVIF and JPEG XL, fit in 256x256, JPEG q85, 2 workers"
TITLE_extract="Info-ZIP's archive of zipcorpus/mixed extracted into a fresh folder (MB/s out)"

report() {  # workload
  local w=$1 ours=ours_$1 title="TITLE_$1"
  local thumbs=0; case $w in photos|jpeg2k|formats) thumbs=1 ;; esac
  echo; echo "== $w: ${!title} ($(printf "%'d" "${IN_ITEMS[$w]}") $([ $thumbs = 1 ] && echo images || echo files), $(awk -v b="${IN_BYTES[$w]}" 'BEGIN{printf "%.1f", b/1e6}') MB)"
  printf '%-32s %8s %10s %9s %9s %13s %7s %10s  %s\n' "tool" "wall s" \
    "$([ $thumbs = 1 ] && echo "images/s" || echo "MB/s in")" "RSS MiB" "tree MiB" "output B" \
    "$([ $thumbs = 1 ] && echo "" || echo ratio)" "wall/ours" "notes"
  local id ow; ow=$(mw "$ours")
  for id in "${CASES[@]}"; do
    [ "${WORKLOAD[$id]}" = "$w" ] || continue
    if [ "${STATUS[$id]:-}" = skipped ]; then printf '%-32s %8s\n' "${LABEL[$id]}" skipped; continue; fi
    local wt thr rs tr rt vs
    wt=$(mw "$id")
    if [ $thumbs = 1 ]; then
      thr=$(awk -v n="${IN_ITEMS[$w]}" -v t="$wt" 'BEGIN{ if (t > 0) printf "%.1f", n / t; else print "n/a" }'); rt=""
    else
      thr=$(awk -v n="${IN_BYTES[$w]}" -v t="$wt" 'BEGIN{ if (t > 0) printf "%.1f", n / 1e6 / t; else print "n/a" }')
      rt=$(awk -v o="${BYTES[$id]:-0}" -v n="${IN_BYTES[$w]}" 'BEGIN{ printf "%.4f", o / n }')
    fi
    rs=$(awk -v k="$(mr "$id")" 'BEGIN{ printf "%.1f", k / 1024 }')
    tr=$(awk -v k="$(mt "$id")" 'BEGIN{ if (k > 0) printf "%.1f", k / 1024; else print "-" }')
    vs=$(ratio "$wt" "$ow"); [ "$vs" = n/a ] || vs="${vs}x"; [ "$id" = "$ours" ] && vs="(ours)"
    printf '%-32s %8.2f %10s %9s %9s %13s %7s %10s  %s\n' "${LABEL[$id]}" "$wt" "$thr" "$rs" "$tr" \
      "${BYTES[$id]:-0}" "$rt" "$vs" "${STATUS[$id]:+[${STATUS[$id]}] }${NOTE[$id]:-}$([ "$RUNS" -gt 1 ] && echo "; runs: ${WALL[$id]% }")"
  done
}

RESULTS=()
target() {  # name ok(1/0/na) detail
  local s; case $2 in 1) s=PASS ;; 0) s=FAIL ;; *) s="N/A " ;; esac
  RESULTS+=("$s  $1: $3")
}
ge() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a == "n/a" || a == "") print "na"; else print (a + 0 >= b + 0) ? 1 : 0 }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a == "n/a" || a == "") print "na"; else print (a + 0 <= b + 0) ? 1 : 0 }'; }
speed_target() {  # workload anchor need
  local w=$1 a=$2 need=$3 r=n/a
  ran "$a" && ok "ours_$w" && r=$(ratio "$(mw "$a")" "$(mw "ours_$w")")
  target "$w speed" "$(ge "$r" "$need")" "${LABEL[$a]} / ours = ${r}$([ "$r" = n/a ] || echo x) (need >= ${need}x)"
}
size_target() {  # workload anchor need
  local w=$1 a=$2 need=$3 r=n/a
  ran "$a" && ok "ours_$w" && [ "${BYTES[ours_$w]:-0}" -gt 0 ] && r=$(ratio3 "${BYTES[ours_$w]}" "${BYTES[$a]:-0}")
  target "$w size" "$(le "$r" "$need")" "ours / ${LABEL[$a]} = ${r}$([ "$r" = n/a ] || echo x) (${BYTES[ours_$w]:-0} vs ${BYTES[$a]:-0} B; need <= ${need}x)"
}
memory_target() {  # workload limit_mib
  local w=$1 m=n/a
  # ours is one process; the larger of GNU time's %M and the sampled tree, in case it ever forks
  ok "ours_$w" && m=$(awk -v a="$(mr "ours_$w")" -v b="$(mt "ours_$w")" 'BEGIN{ printf "%.1f", (a > b ? a : b) / 1024 }')
  target "$w memory" "$(le "$m" "$2")" "ours peak RSS = ${m} MiB (need <= $2 MiB)"
}

for w in "${WL[@]}"; do report "$w"; done

per_item=0
for w in tiny1k tiny10k tiny100k; do wants $w && per_item=1; done
if [ $per_item = 1 ]; then
  echo; echo "== per-item cost (medians): wall time / files, and the marginal cost per file beyond the row before"
  echo "   (the marginal figure leaves out what a run costs whatever its size: start-up, threads, the final sync)"
  printf '%-10s %14s %16s %14s %16s %12s\n' "files" "ours us/file" "ours marginal" "Info-ZIP us/file" "Info-ZIP marginal" "Info-ZIP/ours"
  prev_n="" prev_o="" prev_i=""
  for w in tiny1k tiny10k tiny100k; do
    wants $w || continue
    n=${IN_ITEMS[$w]}
    to=$(mw "ours_$w")
    ti=$(ran "izip_$w" && mw "izip_$w" || echo "")
    o=$(awk -v t="$to" -v n="$n" 'BEGIN{ printf "%.1f", t * 1e6 / n }')
    i=$([ -n "$ti" ] && awk -v t="$ti" -v n="$n" 'BEGIN{ printf "%.1f", t * 1e6 / n }' || echo n/a)
    mo="-" mi="-"
    if [ -n "$prev_n" ]; then
      mo=$(awk -v t="$to" -v p="$prev_o" -v n="$n" -v q="$prev_n" 'BEGIN{ printf "%.1f", (t - p) * 1e6 / (n - q) }')
      [ -n "$ti" ] && [ -n "$prev_i" ] &&
        mi=$(awk -v t="$ti" -v p="$prev_i" -v n="$n" -v q="$prev_n" 'BEGIN{ printf "%.1f", (t - p) * 1e6 / (n - q) }')
    fi
    printf '%-10s %14s %16s %14s %16s %12s\n' "$n" "$o" "$mo" "$i" "$mi" "$(ratio "$i" "$o")x"
    prev_n=$n prev_o=$to prev_i=$ti
  done
fi

journal_note() {  # workload
  local w=$1 on=ours_$1 off=ours_$1_nj
  ran "$on" && ran "$off" || return 0
  echo "  journal on / off ($w): wall $(mw "$on") / $(mw "$off") s = $(ratio "$(mw "$on")" "$(mw "$off")")x," \
    "peak RSS $(awk -v k="$(mr "$on")" 'BEGIN{printf "%.1f", k/1024}') / $(awk -v k="$(mr "$off")" 'BEGIN{printf "%.1f", k/1024}') MiB"
}
if wants tiny100k || wants jpeg2k; then
  echo; echo "== the journal's cost (issue 9)"
  wants tiny100k && journal_note tiny100k
  wants jpeg2k && journal_note jpeg2k
fi

wants tiny100k && speed_target tiny100k izip_tiny100k 1.5
wants small && speed_target small izip_small 2.0
wants mixed && { speed_target mixed izip_mixed 3.5; size_target mixed izip_mixed 1.005; }
wants big && { speed_target big pigz_big 1.6; size_target big pigz_big 1.01; }
wants head && size_target head pigz_head 1.02
wants photos && speed_target photos pil_photos 2.5
wants jpeg2k && speed_target jpeg2k pil_jpeg2k 2.5
wants formats && speed_target formats vips_formats 0.8
wants extract && { speed_target extract unzip_extract 1.8; speed_target extract 7z_extract 1.3; }
for w in "${WL[@]}"; do
  case $w in photos) memory_target "$w" 256 ;; jpeg2k|formats) memory_target "$w" 300 ;; *) memory_target "$w" 64 ;; esac
done

echo; echo "== machine at the end"; machine
echo; echo "== targets"
FAILS=0; NAS=0
for l in "${RESULTS[@]}"; do echo "$l"; [[ $l == PASS* ]] || FAILS=$((FAILS + 1)); [[ $l == N/A* ]] && NAS=1; done
[ "$NAS" = 0 ] || echo "(N/A: ours failed, produced no/incomplete output, or the anchor was skipped; counts as a failure with STRICT=1)"
[ "$CHECK_WARN" = 0 ] || echo "(output checks on ours printed warnings above)"
[ "${KEEP_OUT:-0}" = 1 ] && echo "outputs kept in $OUT"
if [ "${STRICT:-0}" = 1 ] && [ "$FAILS" -gt 0 ]; then exit 3; fi
exit 0
