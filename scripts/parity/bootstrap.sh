#!/usr/bin/env bash
# tsbpf next to libbpf on every libbpf-bootstrap example (issue 13's closing table,
# docs/parity.md). Run as root from anywhere, after `npm run build`:
#
#   scripts/parity/bootstrap.sh [--src DIR] [--out DIR]
#
#   --src DIR   a libbpf-bootstrap checkout (default: git clone --depth 1 of
#               https://github.com/libbpf/libbpf-bootstrap into the scratch dir)
#   --out DIR   the scratch dir (default ${TMPDIR:-/tmp}/tsbpf-parity-bootstrap); nothing
#               is written inside the repository
#
# What it does, in the scratch dir:
#   1. vmlinux.h from this kernel's BTF (bpftool btf dump file /sys/kernel/btf/vmlinux);
#   2. every examples/c/*.bpf.c built as its Makefile builds it: clang-19 -g -O2 -target bpf
#      -D__TARGET_ARCH_x86, clang's system include dirs as -idirafter, then
#      `bpftool gen object X.bpf.o X.tmp.bpf.o` (libbpf's linker). The BPF headers are
#      libbpf-dev's (/usr/include/bpf), the library the reference links with, where the
#      Makefile takes its libbpf submodule's;
#   3. libbpf's verdict per program: scripts/parity/libbpf-verdict.c linked with libbpf-dev
#      (each program loaded alone: bpf_object__load is all-or-nothing), then auto-attached
#      (bpf_program__attach) and detached;
#   4. tsbpf's verdict per program: node bin/load.js X.bpf.o --json (the CLI retries
#      without a rejected program, so every program gets its own verdict), then for each
#      accepted program node bin/load.js X.bpf.o --only P --attach --duration 0.1 --json;
#   5. a markdown table on stdout (scripts/parity/table.mjs), a row per program, and exit 1
#      when a verdict differs.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CLANG=${CLANG:-clang-19}
BPFTOOL=${BPFTOOL:-bpftool}
SRC=
OUT=${TMPDIR:-/tmp}/tsbpf-parity-bootstrap

die() { echo "parity/bootstrap: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --src) SRC=${2:?--src needs a directory}; shift 2 ;;
    --out) OUT=${2:?--out needs a directory}; shift 2 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) die "unknown argument: $1" ;;
  esac
done

[ "$(id -u)" = 0 ] || die "loading needs root (CAP_BPF, CAP_SYS_ADMIN)"
for t in "$CLANG" "$BPFTOOL" gcc node git; do command -v "$t" >/dev/null 2>&1 || die "$t not found (apt-get install clang-19 bpftool gcc git)"; done
[ -f /usr/include/bpf/libbpf.h ] || die "libbpf-dev is missing (apt-get install libbpf-dev)"
[ -f "$ROOT/dist/cli/main.js" ] || die "build tsbpf first: npm run build in $ROOT"
case "$(cd "$(dirname "$OUT")" 2>/dev/null && pwd)/" in "$ROOT"/*) die "--out must be outside the repository" ;; esac

mkdir -p "$OUT/obj"
if [ -z "$SRC" ]; then
  SRC=$OUT/libbpf-bootstrap
  [ -d "$SRC/.git" ] || git clone -q --depth 1 https://github.com/libbpf/libbpf-bootstrap "$SRC"
fi
EX=$SRC/examples/c
[ -d "$EX" ] || die "$EX does not exist: --src must be a libbpf-bootstrap checkout"
commit=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)

"$BPFTOOL" btf dump file /sys/kernel/btf/vmlinux format c > "$OUT/vmlinux.h"
mapfile -t sysinc < <("$CLANG" -v -E - </dev/null 2>&1 | sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter\n\1|p }')

built=()
for src in "$EX"/*.bpf.c; do
  name=$(basename "$src" .bpf.c)
  if "$CLANG" -g -O2 -target bpf -D__TARGET_ARCH_x86 -I"$OUT" -I"$EX" "${sysinc[@]}" \
      -c "$src" -o "$OUT/obj/$name.tmp.bpf.o" 2>"$OUT/obj/$name.clang.log" \
    && "$BPFTOOL" gen object "$OUT/obj/$name.bpf.o" "$OUT/obj/$name.tmp.bpf.o" >/dev/null 2>>"$OUT/obj/$name.clang.log"; then
    built+=("$OUT/obj/$name.bpf.o")
  else
    echo "parity/bootstrap: $name.bpf.c does not build (see $OUT/obj/$name.clang.log)" >&2
  fi
done

gcc -O2 -Wall -o "$OUT/libbpf-verdict" "$ROOT/scripts/parity/libbpf-verdict.c" -lbpf
"$OUT/libbpf-verdict" "${built[@]}" > "$OUT/libbpf.tsv"
tsbpf() { # OUT ARGS...: the CLI's JSON into OUT; exit 1 is a refusal (the JSON says which), anything else a crash
  local out=$1 rc=0
  shift
  node "$ROOT/bin/load.js" "$@" --json > "$out" 2> "${out%.json}.err" || rc=$?
  [ "$rc" -le 1 ] || die "node bin/load.js $* exited $rc: $(head -3 "${out%.json}.err")"
}
for o in "${built[@]}"; do
  tsbpf "${o%.bpf.o}.tsbpf.json" "$o"
  # attach one program at a time, as the reference does (the CLI stops at the first failure)
  mapfile -t progs < <(node -e 'for (const p of JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).objects[0]?.programs ?? []) if (p.verdict === "accepted") console.log(p.name)' "${o%.bpf.o}.tsbpf.json")
  for p in "${progs[@]}"; do
    tsbpf "${o%.bpf.o}.$p.attach.json" "$o" --only "$p" --attach --duration 0.1
  done
done

node "$ROOT/scripts/parity/table.mjs" --libbpf "$OUT/libbpf.tsv" --commit "$commit" "${built[@]}"
