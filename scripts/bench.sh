#!/usr/bin/env bash
# scripts/bench.sh: benchmark Shrinkwrap against the tools a user would otherwise pick, side by side,
# in one run, on the same machine and the same corpus.
#
# Usage:
#   scripts/bench.sh [--only zip|thumbs] [CORPUS_DIR]
#     CORPUS_DIR defaults to /tmp/shrinkwrap-corpus. Build it with
#     /work/shared/corpus/make_images.sh and make_zip_corpus.sh (see that README).
#
# Environment:
#   SHRINKWRAP=path   binary under test (default: <repo>/target/release/shrinkwrap; if that is
#                     missing and SHRINKWRAP is unset, `cargo build --release` is run first)
#   RUNS=N            run every tool N times (rounds interleaved) and report medians (default 1)
#   ANCHORS=dir       baseline scripts (default: <script dir>/../../shared/corpus/anchors)
#   PYTHON=path       interpreter with Pillow (default: first of /usr/bin/python3, python3 that
#                     can `import PIL`); also used for the zipfile baseline
#   SEVENZIP=path     7-Zip binary (default: 7zz, else 7z)
#   SEVENZIP_LEVELS   7-Zip -mx levels to run (default "1 5"; empty: no 7-Zip)
#   IM=path           ImageMagick binary (default: magick, else /usr/bin/convert; a `convert` that is
#                     not ImageMagick is refused)
#   PIGZ=0            skip the informational pigz row (one 481 MB tar, gzip not zip)
#   SAMPLE=0          do not sample the process tree's memory (see below)
#   BENCH_OUT=dir     where outputs go (default: a fresh mktemp dir, removed at the end)
#   KEEP_OUT=1        keep the outputs of the last round
#   STRICT=1          exit 3 if any target is FAIL or N/A (default: exit 0 once everything has run)
#
# What is measured, per tool: wall time and peak RSS from GNU time (`/usr/bin/time -f '%e %M'`),
# output size. GNU time's %M is the peak RSS of the single largest process, so for tools that run
# several processes (Pillow's multiprocessing pool, xargs -P2 of vipsthumbnail/convert) it
# understates the total. The script therefore also samples the whole process tree every
# SAMPLE_INTERVAL seconds (default 0.2) and reports the peak of the sum of PSS (proportional set
# size, so pages shared after fork are not counted twice) over all processes of the tool: column
# "tree MiB". Sampling can miss peaks shorter than the interval; for a single process the exact
# figure is the "RSS MiB" column.
#
# Units: data sizes and throughput in MB = 10^6 bytes; memory in MiB (2^20 bytes).
# Caches cannot be dropped here; instead every corpus file is read once (`cat > /dev/null`) before
# timing so all tools read from the page cache, and `sync` runs between tools (outside timing) so
# one tool's writeback does not land on the next.
#
# Targets checked (PASS/FAIL lines at the end):
#   ours zip >= 2.5x faster than `zip -r -6`; ours archive <= 1% larger than Info-ZIP's;
#   ours zip peak RSS <= 150 MiB; ours thumbs throughput >= 1.3x Pillow pool;
#   ours thumbs peak RSS <= 600 MiB.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

ONLY=all
CORPUS=
while [ $# -gt 0 ]; do
  case $1 in
    --only) [ $# -ge 2 ] || { echo "--only needs zip|thumbs" >&2; exit 2; }; ONLY=$2; shift 2 ;;
    --only=*) ONLY=${1#--only=}; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
    *) [ -z "$CORPUS" ] || { echo "only one CORPUS_DIR" >&2; exit 2; }; CORPUS=$1; shift ;;
  esac
done
case $ONLY in all|zip|thumbs) ;; *) echo "--only must be zip or thumbs" >&2; exit 2 ;; esac
CORPUS=${CORPUS:-/tmp/shrinkwrap-corpus}
CORPUS=$(cd "$CORPUS" && pwd) || { echo "corpus dir not found" >&2; exit 2; }
RUNS=${RUNS:-1}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "RUNS must be a positive integer" >&2; exit 2; }
SAMPLE=${SAMPLE:-1}
SAMPLE_INTERVAL=${SAMPLE_INTERVAL:-0.2}
SEVENZIP_LEVELS=${SEVENZIP_LEVELS-1 5}
PIGZ=${PIGZ:-1}
DO_ZIP=0; DO_THUMBS=0
[ "$ONLY" = thumbs ] || DO_ZIP=1
[ "$ONLY" = zip ] || DO_THUMBS=1

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
  [ -n "${PYTHON:-}" ] || { PYTHON=$(command -v python3 || true); warn "no python3 with Pillow (apt-get install python3-pil); Pillow row will fail"; }
fi

if [ -z "${SEVENZIP:-}" ]; then
  SEVENZIP=$(command -v 7zz || command -v 7z || true)
fi

if [ -z "${IM:-}" ]; then
  for c in "$(command -v magick || true)" /usr/bin/convert "$(command -v convert || true)"; do
    [ -n "$c" ] && [ -x "$c" ] || continue
    # refuse stand-ins (e.g. a script named convert that only forwards): need real ImageMagick, no wrapper
    if [ "$(head -c2 "$c")" != '#!' ] && "$c" -version 2>/dev/null | grep -q ImageMagick; then IM=$c; break; fi
  done
fi

if [ -z "${SHRINKWRAP:-}" ]; then
  SHRINKWRAP=$REPO_ROOT/target/release/shrinkwrap
  if [ ! -x "$SHRINKWRAP" ]; then
    echo "== $SHRINKWRAP missing: cargo build --release" >&2
    (cd "$REPO_ROOT" && cargo build --release) || die "cargo build --release failed"
  fi
fi
case $SHRINKWRAP in
  */*) [ -x "$SHRINKWRAP" ] || die "SHRINKWRAP=$SHRINKWRAP is not executable"
       SHRINKWRAP=$(cd "$(dirname "$SHRINKWRAP")" && pwd)/$(basename "$SHRINKWRAP") ;;
  *)   SHRINKWRAP=$(command -v "$SHRINKWRAP") || die "SHRINKWRAP not found in PATH" ;;
esac

# ---------------------------------------------------------------- corpus
ZC=$CORPUS/zipcorpus
IMAGES=$CORPUS/images
LIST=$CORPUS/images.list
if [ $DO_ZIP = 1 ]; then
  [ -d "$ZC/mixed" ] || die "$ZC/mixed missing (run make_zip_corpus.sh)"
  ZIP_IN_BYTES=$(find "$ZC/mixed" -type f -printf '%s\n' | awk '{s+=$1} END{print s+0}')
  ZIP_IN_FILES=$(find "$ZC/mixed" -type f | wc -l)
fi
if [ $DO_THUMBS = 1 ]; then
  [ -d "$IMAGES" ] && [ -f "$LIST" ] || die "$IMAGES or $LIST missing (run make_images.sh)"
  N_IMAGES=$(grep -c . "$LIST")
  IMG_BYTES=$(xargs -d '\n' -a "$LIST" stat -c %s | awk '{s+=$1} END{print s+0}')
fi

if [ -n "${BENCH_OUT:-}" ]; then
  OUT=$BENCH_OUT; mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
else
  OUT=$(mktemp -d "${TMPDIR:-/tmp}/shrinkwrap-bench.XXXXXX")
  [ "${KEEP_OUT:-0}" = 1 ] || trap 'rm -rf "$OUT"' EXIT
fi
LOGS=$OUT/logs; mkdir -p "$LOGS"

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

declare -A WALL RSS TREE BYTES STATUS NOTE
TOOLS_ZIP=() TOOLS_THUMBS=()
declare -A LABEL

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

# ---------------------------------------------------------------- tool definitions
have() { [ -n "$1" ] && command -v "$1" >/dev/null 2>&1; }

if [ $DO_ZIP = 1 ]; then
  TOOLS_ZIP=(ours_zip infozip pyzip)
  LABEL[ours_zip]="shrinkwrap zip -6"; LABEL[infozip]="zip -r -6"; LABEL[pyzip]="Python zipfile -6"
  have zip || { warn "zip not installed; skipping Info-ZIP"; STATUS[infozip]=skipped; }
  for l in $SEVENZIP_LEVELS; do
    TOOLS_ZIP+=("7z_mx$l"); LABEL[7z_mx$l]="7-Zip -tzip -mx=$l -mmt=2"
    have "$SEVENZIP" || STATUS[7z_mx$l]=skipped
  done
  if [ "$PIGZ" = 1 ] && [ -f "$ZC/big/big.tar" ]; then
    TOOLS_ZIP+=(pigz); LABEL[pigz]="pigz -6 -p2 big.tar (gzip)*"
    have pigz || STATUS[pigz]=skipped
    PIGZ_IN_BYTES=$(stat -c %s "$ZC/big/big.tar")
  fi
fi
if [ $DO_THUMBS = 1 ]; then
  TOOLS_THUMBS=(ours_thumbs pil_pool vips magick)
  LABEL[ours_thumbs]="shrinkwrap thumbs -j2"; LABEL[pil_pool]="Pillow Pool(2)"
  LABEL[vips]="vipsthumbnail x2"; LABEL[magick]="ImageMagick x2"
  have vipsthumbnail || { warn "vipsthumbnail missing (apt-get install libvips-tools)"; STATUS[vips]=skipped; }
  [ -n "${IM:-}" ] || { warn "real ImageMagick not found (apt-get install imagemagick)"; STATUS[magick]=skipped; }
fi

zip_cmd() {  # prints nothing; runs tool $1 once, output in $OUT
  local id=$1
  case $id in
    ours_zip) rm -f "$OUT/ours.zip"
      run_tool "$id" "$ZC" "$SHRINKWRAP" zip "$ZC/mixed" --output "$OUT/ours.zip" --level 6
      BYTES[$id]=$(fsize "$OUT/ours.zip") ;;
    infozip) rm -f "$OUT/infozip.zip"
      run_tool "$id" "$ZC" zip -r -6 -q "$OUT/infozip.zip" mixed
      BYTES[$id]=$(fsize "$OUT/infozip.zip") ;;
    pyzip) rm -f "$OUT/py.zip"
      run_tool "$id" "$ZC" "$PYTHON" "$ANCHORS/python_zip.py" 6 "$ZC/mixed" "$OUT/py.zip"
      BYTES[$id]=$(fsize "$OUT/py.zip") ;;
    7z_mx*) local l=${id#7z_mx}; rm -f "$OUT/7z_mx$l.zip"
      run_tool "$id" "$ZC" "$SEVENZIP" a -tzip "-mx=$l" -mmt=2 -bd "$OUT/7z_mx$l.zip" mixed
      BYTES[$id]=$(fsize "$OUT/7z_mx$l.zip") ;;
    pigz) rm -f "$OUT/big.tar.gz"
      run_tool "$id" "$ZC" sh -c 'exec pigz -6 -p2 -c big/big.tar > "$1"' sh "$OUT/big.tar.gz"
      BYTES[$id]=$(fsize "$OUT/big.tar.gz") ;;
  esac
}

thumbs_cmd() {
  local id=$1 d=$OUT/$1
  rm -rf "$d"
  case $id in
    ours_thumbs)  # ours creates the output dir itself
      run_tool "$id" "$CORPUS" "$SHRINKWRAP" thumbs "$IMAGES" --output "$d" --size 256 --format jpeg --quality 85 --jobs 2 ;;
    pil_pool) mkdir -p "$d"
      run_tool "$id" "$CORPUS" "$PYTHON" "$ANCHORS/pillow_thumbs.py" pool default 2 "$LIST" "$d" ;;
    vips) mkdir -p "$d"
      run_tool "$id" "$CORPUS" env VIPS_CONCURRENCY=1 xargs -d '\n' -a "$LIST" -P2 -n8 \
        vipsthumbnail -s 256x256 -o "$d/%s.jpg[Q=85,strip]" ;;
    magick) mkdir -p "$d"  # MAGICK_THREAD_LIMIT=1: two single-threaded workers, like the others
      run_tool "$id" "$CORPUS" env MAGICK_THREAD_LIMIT=1 xargs -d '\n' -a "$LIST" -P2 -I{} \
        sh -c 'b=${1##*/}; exec "$0" "$1" -thumbnail 256x256 -quality 85 "$2/${b%.*}.jpg"' "$IM" {} "$d" ;;
  esac
  BYTES[$id]=$(if [ -d "$d" ]; then find "$d" -type f -printf '%s\n' | awk '{s+=$1} END{print s+0}'; else echo 0; fi)
  NOTE[$id]="$(count_files "$d")/$N_IMAGES thumbs"
}

# ---------------------------------------------------------------- header + warm-up
echo "== shrinkwrap bench  $(date -u '+%Y-%m-%d %H:%M:%SZ')  host=$(hostname)  cores=$(nproc)  RUNS=$RUNS"
echo "   cpu: $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
echo "   corpus: $CORPUS   outputs: $OUT"
echo "   shrinkwrap: $SHRINKWRAP"
echo "   python: $PYTHON ($("$PYTHON" -c 'import sys,PIL; print(sys.version.split()[0], "Pillow", PIL.__version__)' 2>/dev/null || echo no Pillow))"
[ $DO_ZIP = 1 ] && echo "   zip: $(zip -v 2>/dev/null | sed -n 2p | sed 's/^ *//')  7-Zip: ${SEVENZIP:-none} $("${SEVENZIP:-true}" 2>/dev/null | grep -m1 -o '7-Zip[^:]*' || true)"
[ $DO_THUMBS = 1 ] && echo "   vips: $(vips --version 2>/dev/null || echo none)  IM: ${IM:-none} $("${IM:-true}" -version 2>/dev/null | sed -n 1p | awk '{print $3}')"

echo "== warm-up: reading the corpus into the page cache"
if [ $DO_ZIP = 1 ]; then
  find "$ZC/mixed" -type f -print0 | xargs -0 cat > /dev/null
  if [ "$PIGZ" = 1 ] && [ -f "$ZC/big/big.tar" ]; then cat "$ZC/big/big.tar" > /dev/null; fi
fi
if [ $DO_THUMBS = 1 ]; then xargs -d '\n' -a "$LIST" cat > /dev/null; fi
cat "$SHRINKWRAP" > /dev/null

# ---------------------------------------------------------------- checks on every ours-run
CHECK_WARN=0
check_ours_zip() {  # round
  local z=$OUT/ours.zip n top
  if [ ! -f "$z" ]; then
    warn "round $1: ours produced no archive ($z)"; CHECK_WARN=1; STATUS[ours_zip]=${STATUS[ours_zip]:-NO-OUTPUT}; return 0
  fi
  if unzip -tq "$z" > "$LOGS/ours_unzip_t.log" 2>&1; then
    echo "check round $1: unzip -tq ours.zip OK" >&2
  else
    warn "round $1: unzip -tq ours.zip FAILED:"; tail -n5 "$LOGS/ours_unzip_t.log" >&2; CHECK_WARN=1; STATUS[ours_zip]=BAD-ZIP
  fi
  n=$(unzip -Z1 "$z" 2>/dev/null | grep -vc '/$' || true)
  top=$(unzip -Z1 "$z" 2>/dev/null | cut -d/ -f1 | sort -u | tr '\n' ' ' || true)
  NOTE[ours_zip]="$n/$ZIP_IN_FILES files"
  [ "$n" = "$ZIP_IN_FILES" ] || { warn "round $1: ours.zip has $n file entries, corpus has $ZIP_IN_FILES"; CHECK_WARN=1; }
  [ "$top" = "mixed " ] || { warn "round $1: ours.zip top-level entries are '$top', expected 'mixed'"; CHECK_WARN=1; }
  return 0
}
check_ours_thumbs() {  # round
  local n; n=$(count_files "$OUT/ours_thumbs")
  if [ "$n" = "$N_IMAGES" ]; then
    echo "check round $1: ours wrote $n/$N_IMAGES thumbnails" >&2
  else
    warn "round $1: ours wrote $n thumbnails for $N_IMAGES images"; CHECK_WARN=1
    STATUS[ours_thumbs]=${STATUS[ours_thumbs]:-INCOMPLETE}
  fi
  return 0
}

# ---------------------------------------------------------------- runs
for ((r = 1; r <= RUNS; r++)); do
  for id in "${TOOLS_ZIP[@]}"; do
    [ "${STATUS[$id]:-}" = skipped ] && continue
    echo "== round $r/$RUNS: ${LABEL[$id]}" >&2
    zip_cmd "$id"
    if [ "$id" = ours_zip ]; then check_ours_zip "$r"; fi
  done
  for id in "${TOOLS_THUMBS[@]}"; do
    [ "${STATUS[$id]:-}" = skipped ] && continue
    echo "== round $r/$RUNS: ${LABEL[$id]}" >&2
    thumbs_cmd "$id"
    if [ "$id" = ours_thumbs ]; then check_ours_thumbs "$r"; fi
  done
done

# ---------------------------------------------------------------- file counts of the anchors
if [ $DO_ZIP = 1 ]; then
  for id in "${TOOLS_ZIP[@]}"; do  # file entries in each anchor's archive, for comparison
    case $id in infozip) f=infozip.zip ;; pyzip) f=py.zip ;; 7z_mx*) f=$id.zip ;; *) continue ;; esac
    [ -f "$OUT/$f" ] && NOTE[$id]="$(unzip -Z1 "$OUT/$f" 2>/dev/null | grep -vc '/$' || true)/$ZIP_IN_FILES files"
  done
fi

# ---------------------------------------------------------------- report
# F: metric accessors (medians)
mw() { echo "${WALL[$1]:-}" | median; }
mr() { echo "${RSS[$1]:-}" | median; }
mt() { echo "${TREE[$1]:-}" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0 && a > 0) printf "%.2f", a / b; else print "n/a" }'; }
xratio() { local r; r=$(ratio "$1" "$2"); [ "$r" = n/a ] && echo n/a || echo "${r}x"; }

report() {  # kind ours_id ids...
  local kind=$1 ours=$2; shift 2
  local ow; ow=$(mw "$ours")
  printf '\n%-30s %8s %12s %9s %9s %13s %7s %10s  %s\n' "tool" "wall s" \
    "$([ "$kind" = zip ] && echo "MB/s in" || echo "images/s")" "RSS MiB" "tree MiB" "output B" \
    "$([ "$kind" = zip ] && echo ratio || echo "")" "wall/ours" "notes"
  local id w thr rs tr rt vs in
  for id in "$@"; do
    if [ "${STATUS[$id]:-}" = skipped ]; then printf '%-30s %8s\n' "${LABEL[$id]}" skipped; continue; fi
    w=$(mw "$id"); in=${ZIP_IN_BYTES:-0}; [ "$id" = pigz ] && in=${PIGZ_IN_BYTES:-0}
    if [ "$kind" = zip ]; then
      thr=$(awk -v n="$in" -v w="$w" 'BEGIN{ if (w > 0) printf "%.1f", n / 1e6 / w; else print "n/a" }')
      rt=$(awk -v o="${BYTES[$id]:-0}" -v n="$in" 'BEGIN{ printf "%.4f", o / n }')
    else
      thr=$(awk -v n="$N_IMAGES" -v w="$w" 'BEGIN{ if (w > 0) printf "%.1f", n / w; else print "n/a" }')
      rt=""
    fi
    rs=$(awk -v k="$(mr "$id")" 'BEGIN{ printf "%.1f", k / 1024 }')
    tr=$(awk -v k="$(mt "$id")" 'BEGIN{ if (k > 0) printf "%.1f", k / 1024; else print "-" }')
    vs=$(xratio "$w" "$ow"); [ "$id" = "$ours" ] && vs="(ours)"
    w=$(awk -v w="$w" 'BEGIN{ printf "%.2f", w }')
    printf '%-30s %8s %12s %9s %9s %13s %7s %10s  %s\n' "${LABEL[$id]}" "$w" "$thr" "$rs" "$tr" \
      "${BYTES[$id]:-0}" "$rt" "$vs" "${STATUS[$id]:+[${STATUS[$id]}] }${NOTE[$id]:-}$([ "$RUNS" -gt 1 ] && echo "; runs: ${WALL[$id]% }s")"
  done
}

RESULTS=()
target() {  # name ok(1/0/na) detail
  local s; case $2 in 1) s=PASS ;; 0) s=FAIL ;; *) s="N/A " ;; esac
  RESULTS+=("$s  $1: $3")
}
cmp_ge() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a == "n/a" || a == "") print "na"; else print (a + 0 >= b + 0) ? 1 : 0 }'; }
cmp_le() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a == "n/a" || a == "") print "na"; else print (a + 0 <= b + 0) ? 1 : 0 }'; }
ours_ok() { [ -z "${STATUS[$1]:-}" ]; }

if [ $DO_ZIP = 1 ]; then
  echo; echo "== ZIP: $ZC/mixed, $ZIP_IN_FILES files, $(awk -v b="$ZIP_IN_BYTES" 'BEGIN{printf "%.1f", b/1e6}') MB, deflate level 6"
  report zip ours_zip "${TOOLS_ZIP[@]}"
  [ -z "${LABEL[pigz]:-}" ] || echo "  * pigz: one file big.tar ($(awk -v b="${PIGZ_IN_BYTES:-0}" 'BEGIN{printf "%.1f", b/1e6}') MB), gzip stream, informational only"
  ow=$(mw ours_zip)
  for id in "${TOOLS_ZIP[@]}"; do
    [ "$id" = ours_zip ] || [ "${STATUS[$id]:-}" = skipped ] && continue
    echo "  ${LABEL[$id]} / ours = $(xratio "$(mw "$id")" "$ow")"
  done
  if [ "${STATUS[infozip]:-}" != skipped ]; then
    sd=$(awk -v o="${BYTES[ours_zip]:-0}" -v i="${BYTES[infozip]:-0}" 'BEGIN{ if (o > 0 && i > 0) printf "%+.2f", (o - i) * 100 / i; else print "n/a" }')
    echo "  size: ours vs Info-ZIP = ${sd}%  (${BYTES[ours_zip]:-0} vs ${BYTES[infozip]:-0} bytes)"
    sp=$(ratio "$(mw infozip)" "$ow"); ours_ok ours_zip || sp=n/a
    target "zip speed"  "$(cmp_ge "$sp" 2.5)" "zip -r -6 / ours = ${sp}$([ "$sp" = n/a ] || echo x) (need >= 2.5x)"
    [ "${BYTES[ours_zip]:-0}" -gt 0 ] && ours_ok ours_zip || sd=n/a
    target "zip size"   "$(cmp_le "$sd" 1.0)" "ours vs Info-ZIP = ${sd}% (need <= +1.00%)"
  fi
  zr=$(awk -v k="$(mr ours_zip)" 'BEGIN{ printf "%.1f", k / 1024 }'); ours_ok ours_zip || zr=n/a
  target "zip memory" "$(cmp_le "$zr" 150)" "ours peak RSS = ${zr} MiB (need <= 150)"
fi
if [ $DO_THUMBS = 1 ]; then
  echo; echo "== THUMBNAILS: $IMAGES, $N_IMAGES images, $(awk -v b="$IMG_BYTES" 'BEGIN{printf "%.1f", b/1e6}') MB, fit 256x256, JPEG q85, 2 workers"
  report thumbs ours_thumbs "${TOOLS_THUMBS[@]}"
  echo "  RSS MiB = GNU time %M (largest single process); tree MiB = sampled peak of sum of PSS over the tool's processes"
  ow=$(mw ours_thumbs)
  for id in "${TOOLS_THUMBS[@]}"; do
    [ "$id" = ours_thumbs ] || [ "${STATUS[$id]:-}" = skipped ] && continue
    echo "  ${LABEL[$id]} / ours = $(xratio "$(mw "$id")" "$ow")"
  done
  if [ "${STATUS[pil_pool]:-}" != skipped ]; then
    tp=$(ratio "$(mw pil_pool)" "$ow"); ours_ok ours_thumbs || tp=n/a
    target "thumbs speed" "$(cmp_ge "$tp" 1.3)" "ours throughput / Pillow pool = ${tp}$([ "$tp" = n/a ] || echo x) (need >= 1.3x, all $N_IMAGES thumbnails written)"
  fi
  # ours is one process, but take the larger of %M and the sampled tree sum in case it ever forks
  tr=$(awk -v a="$(mr ours_thumbs)" -v b="$(mt ours_thumbs)" 'BEGIN{ printf "%.1f", (a > b ? a : b) / 1024 }')
  ours_ok ours_thumbs || tr=n/a
  target "thumbs memory" "$(cmp_le "$tr" 600)" "ours peak RSS = ${tr} MiB (need <= 600)"
fi

echo; echo "== targets"
FAILS=0
NAS=0
for l in "${RESULTS[@]}"; do echo "$l"; [[ $l == PASS* ]] || FAILS=$((FAILS + 1)); [[ $l == N/A* ]] && NAS=1; done
[ "$NAS" = 0 ] || echo "(N/A: ours failed, produced no/incomplete output, or the anchor was skipped; counts as a failure with STRICT=1)"
[ "$CHECK_WARN" = 0 ] || echo "(output checks on ours printed warnings above)"
[ "${KEEP_OUT:-0}" = 1 ] && echo "outputs kept in $OUT"
if [ "${STRICT:-0}" = 1 ] && [ "$FAILS" -gt 0 ]; then exit 3; fi
exit 0
