#!/usr/bin/env bash
# Builds every bpf-objs/*.bpf.c into bpf-objs/*.bpf.o, reproducibly.
#
#   scripts/build-bpf-objs.sh            rebuild the committed objects in place
#   scripts/build-bpf-objs.sh --check    build into a temp dir; exit 1 naming every
#                                        committed .o that differs, is missing or has
#                                        no source (what CI runs)
#   scripts/build-bpf-objs.sh --vmlinux  also regenerate bpf-objs/vmlinux.h from the
#                                        running kernel's BTF (normally it stays
#                                        committed so builds do not depend on the kernel)
#
# Reproducibility: the sources are copied into a fresh directory whose path always has
# the same length (/tmp/tsbpf.XXXXXX, see STAGE below), compiled there by relative path
# with that directory mapped out of debug info (-ffile-prefix-map), and only the finished
# objects are copied back (or compared). So the bytes depend only on the sources,
# vmlinux.h, libbpf-dev's headers and the clang-19 build (its version string is in
# .comment and DWARF), not on where the repository is cloned: the order clang-19 gives
# some BTF types (PTR targets) follows its heap layout, which the lengths of the working
# directory and of the output path shift, so compiling in the clone gave other bytes
# (iter, core, attach_net) for clone paths of 22 or 26 characters, prefix map or not.
# Checked on Debian 12, clang 19 from apt.llvm.org.
#
# Per-file exceptions (flags_for below): nobtf.bpf.c is built without -g (no .BTF).
# Linked objects (parts_for below): X.bpf.o is X.bpf.c plus more sources (not named
# *.bpf.c), each compiled alone, then statically linked by `bpftool gen object` (libbpf's
# linker, as libbpf-bootstrap's Makefile does): weak_override.bpf.c + weak_override.strong.c.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
CLANG=${CLANG:-clang-19}
BPFTOOL=${BPFTOOL:-bpftool}
OBJDIR=bpf-objs

die() { echo "build-bpf-objs: $*" >&2; exit 1; }

ensure_tools() {
  local missing=()
  command -v "$CLANG" >/dev/null 2>&1 || missing+=("clang-19")
  [ -f /usr/include/bpf/bpf_helpers.h ] || missing+=("libbpf-dev")
  command -v "$BPFTOOL" >/dev/null 2>&1 || missing+=("bpftool")
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "build-bpf-objs: installing clang-19 llvm-19 libbpf-dev bpftool (missing: ${missing[*]})" >&2
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y clang-19 llvm-19 libbpf-dev bpftool
    command -v "$CLANG" >/dev/null 2>&1 || die "$CLANG still not found after apt-get install"
    [ -f /usr/include/bpf/bpf_helpers.h ] || die "libbpf-dev headers still missing after apt-get install"
    command -v "$BPFTOOL" >/dev/null 2>&1 || die "$BPFTOOL still not found after apt-get install"
  else
    die "missing ${missing[*]}: install clang-19, libbpf-dev and bpftool (apt-get install -y clang-19 llvm-19 libbpf-dev bpftool), or run as root with apt-get to have this script do it"
  fi
}

# Where every compile runs: a new directory of a FIXED path length (not under $TMPDIR,
# whose length varies), removed on exit. Its name is random but its length is what
# matters (checked with many names): a template of another length gives other bytes
# than the committed objects for some fixtures (iter, core, attach_net).
STAGE_TEMPLATE=/tmp/tsbpf.XXXXXX

# Common flags, run inside the stage directory. -I bpf-objs finds vmlinux.h;
# <bpf/bpf_helpers.h> etc come from libbpf-dev in /usr/include. The stage directory is
# added by stage_sources (-ffile-prefix-map=<stage>=.).
COMMON=(-O2 -target bpf -D__TARGET_ARCH_x86 -I "$OBJDIR"
        -Wall -Wno-unused-function -Werror)

flags_for() {
  case "$1" in
    nobtf) ;;             # no -g: no .BTF / .BTF.ext (that is what it tests)
    # <bpf/usdt.bpf.h> includes <linux/errno.h>, which wants <asm/errno.h>: the
    # multiarch directory, as libbpf-bootstrap's Makefile adds it (after the others)
    usdt) printf '%s\n' -g -idirafter /usr/include/x86_64-linux-gnu ;;
    *) printf '%s\n' -g ;;
  esac
}

# The other sources linked into <name>.bpf.o, one per line (none for most).
parts_for() {
  case "$1" in
    weak_override) printf '%s\n' "$OBJDIR/weak_override.strong.c" ;;
  esac
}

# stage_sources: copies the fixture sources (*.c, *.h) into a new $STAGE/$OBJDIR and
# sets STAGE; the caller's EXIT trap removes it.
stage_sources() {
  STAGE=$(mktemp -d "$STAGE_TEMPLATE") || die "mktemp -d $STAGE_TEMPLATE failed"
  [ ${#STAGE} -eq ${#STAGE_TEMPLATE} ] || die "mktemp gave $STAGE, not a path as long as $STAGE_TEMPLATE"
  mkdir "$STAGE/$OBJDIR"
  cp -p "$OBJDIR"/*.c "$OBJDIR"/*.h "$STAGE/$OBJDIR/"
  COMMON+=(-ffile-prefix-map="$STAGE"=. -fdebug-prefix-map="$STAGE"=.)
}

# build: compiles every staged source into $STAGE/$OBJDIR/<name>.bpf.o, inside $STAGE
# (same relative names, same output paths, whatever the clone's path)
build() (
  cd "$STAGE" || die "cd $STAGE failed"
  local out=$OBJDIR src name flags parts part objs i
  for src in "$OBJDIR"/*.bpf.c; do
    name=$(basename "$src" .bpf.c)
    mapfile -t flags < <(flags_for "$name")
    mapfile -t parts < <(parts_for "$name")
    if [ ${#parts[@]} -eq 0 ]; then
      LC_ALL=C "$CLANG" "${flags[@]}" "${COMMON[@]}" -c "$src" -o "$out/$name.bpf.o" \
        || die "compiling $src failed"
      continue
    fi
    objs=()
    i=0
    for part in "$src" "${parts[@]}"; do
      [ -f "$part" ] || die "$part (a part of $name.bpf.o) is missing"
      LC_ALL=C "$CLANG" "${flags[@]}" "${COMMON[@]}" -c "$part" -o "$out/$name.part$i.o" \
        || die "compiling $part failed"
      objs+=("$out/$name.part$i.o")
      i=$((i + 1))
    done
    "$BPFTOOL" gen object "$out/$name.bpf.o" "${objs[@]}" >/dev/null || die "bpftool gen object $name.bpf.o failed"
    rm -f "${objs[@]}"
  done
)

mode=build
for arg in "$@"; do
  case "$arg" in
    --check) mode=check ;;
    --vmlinux) regen_vmlinux=1 ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) die "unknown argument: $arg" ;;
  esac
done

ensure_tools

if [ "${regen_vmlinux:-0}" = 1 ]; then
  command -v bpftool >/dev/null 2>&1 || die "bpftool not found (needed for --vmlinux)"
  bpftool btf dump file /sys/kernel/btf/vmlinux format c > "$OBJDIR/vmlinux.h"
  echo "build-bpf-objs: regenerated $OBJDIR/vmlinux.h from /sys/kernel/btf/vmlinux"
fi

STAGE=
trap '[ -z "$STAGE" ] || rm -rf "$STAGE"' EXIT
stage_sources
build

if [ "$mode" = build ]; then
  cp "$STAGE/$OBJDIR"/*.bpf.o "$OBJDIR/"
  echo "build-bpf-objs: built $(ls "$OBJDIR"/*.bpf.c | wc -l) objects in $OBJDIR/"
  exit 0
fi

stale=()
for obj in "$STAGE/$OBJDIR"/*.bpf.o; do
  name=$(basename "$obj")
  if [ ! -f "$OBJDIR/$name" ]; then
    stale+=("$OBJDIR/$name (not committed)")
  elif ! cmp -s "$obj" "$OBJDIR/$name"; then
    stale+=("$OBJDIR/$name (differs from a rebuild of ${name%.o}.c)")
  fi
done
for obj in "$OBJDIR"/*.bpf.o; do
  [ -e "$obj" ] || continue
  [ -f "$OBJDIR/$(basename "$obj" .o).c" ] || stale+=("$obj (no source)")
done
if [ ${#stale[@]} -gt 0 ]; then
  echo "build-bpf-objs --check: stale objects (run scripts/build-bpf-objs.sh and commit):" >&2
  printf '  %s\n' "${stale[@]}" >&2
  echo "  ($("$CLANG" --version | head -1))" >&2
  exit 1
fi
echo "build-bpf-objs --check: all $(ls "$OBJDIR"/*.bpf.o | wc -l) objects match their sources"
