# SPDX-License-Identifier: GPL-2.0
# Sourced by every script: reads config/splice.conf and offers the helpers
# that report progress and failures the same way everywhere.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../config/splice.conf
. "$TOP/config/splice.conf"

BUILD="$TOP/$BUILD_DIR"
TREE="$TOP/$TREE_DIR"
STOCK="$TOP/$STOCK_DIR"
OUT="$TOP/$OUT_DIR"
# RUN_TAG gives a second run beside the first (another developer's, or a
# helper's) its own selftests, headers, initramfs, console logs and step
# logs; the kernels' objects stay shared (build-kernel locks them).
RUN_TAG=${RUN_TAG:-}
TAGGED=${RUN_TAG:+-$RUN_TAG}
LOGS="$OUT/logs$TAGGED"
HEADERS="$OUT/headers$TAGGED"
SELFTESTS_OUT="$OUT/selftests$TAGGED"

STEP=${STEP:-$(basename "$0")}
START=${START:-$(date +%s)}
export START

elapsed() {
	local s=$(( $(date +%s) - START ))
	printf '%d:%02d' $(( s / 60 )) $(( s % 60 ))
}

say() {
	printf '[%s %s] %s\n' "$(elapsed)" "$STEP" "$*"
}

die() {
	printf '[%s %s] FAILED: %s\n' "$(elapsed)" "$STEP" "$*" >&2
	exit 1
}

# run_logged LOGNAME CMD...: run CMD with its output in $LOGS/LOGNAME.log,
# print a heartbeat every 30 s, and on failure name the step and the log.
run_logged() {
	local log="$LOGS/$1.log" pid rc=0 ticks=0
	shift
	mkdir -p "$LOGS"
	"$@" >"$log" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		ticks=$(( ticks + 1 ))
		if (( ticks % 30 == 0 )); then
			say "... still running ($(wc -l <"$log") lines of log)"
		fi
	done
	wait "$pid" || rc=$?
	if (( rc != 0 )); then
		tail -n 25 "$log" | sed 's/^/    /' >&2
		die "'$*' exited $rc; full log: $log"
	fi
}

# variant_src VARIANT: the source tree a kernel variant is built from.
variant_src() {
	case "$1" in
	ours|ours-debug) echo "$TREE" ;;
	stock|stock-debug) echo "$STOCK" ;;
	*) die "unknown kernel variant '$1' (ours, ours-debug, stock, stock-debug)" ;;
	esac
}

variant_is_debug() {
	[[ "$1" == *-debug ]]
}

# kconfig_defines SRC SYM: whether the tree at SRC has a Kconfig entry for
# SYM (without CONFIG_).  A series option may be missing from an early
# patch of the series, never from a tree that defines it.
kconfig_defines() {
	git -C "$1" grep -q "^config $2\$" -- '*Kconfig*'
}

# ccache, when it works here, makes a rebuild in a fresh clone cheap: with
# paths taken relative to the checkout, another clone hits the same cache.
# One job more than CPUs keeps them busy while a job waits for the disk or
# for ccache.
kmake() {
	local cc=gcc
	ccache -p >/dev/null 2>&1 && cc="ccache gcc"
	CCACHE_BASEDIR="$TOP" CCACHE_NOHASHDIR=1 make ARCH="$KARCH" CC="$cc" \
		-j"$(( $(nproc) + 1 ))" "$@"
}

# The patches named in patches/series, in order.
series_patches() {
	grep -v -e '^#' -e '^[[:space:]]*$' "$TOP/patches/series" || true
}

# A hash of the series as a whole, to tell whether patches/ changed.
series_hash() {
	(cat "$TOP/patches/series"
	 series_patches | while read -r p; do cat "$TOP/patches/$p"; done) |
		sha1sum | cut -d' ' -f1
}

# Where apply-series and export-series record which series and which work
# tree commit were last in step.
SERIES_STATE="$TREE/.git/splice-applied"
