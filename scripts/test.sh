#!/bin/bash
# Run the whole test suite, as root, on a fresh Debian 12 machine:
#   1. install dependencies (scripts/deps.sh) and check formatting,
#   2. build with warnings as errors and run unit + end-to-end suites,
#   3. build with AddressSanitizer + UndefinedBehaviorSanitizer and run
#      them all again,
# then print one closing line: "N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD

scripts/deps.sh

if ! find src tests fuzz -name '*.[ch]' -print0 | xargs -0 clang-format --dry-run --Werror >/dev/null 2>&1; then
	echo "test.sh: sources differ from .clang-format; fix with: find src tests fuzz -name '*.[ch]' | xargs clang-format -i" >&2
	exit 1
fi

export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0

passed=0 failed=0 skipped=0
run_suite() { # BUILDDIR MESON_OPTIONS...
	local b=$1
	shift
	if [ -d "$b" ]; then meson setup --reconfigure "$b" "$@" >/dev/null; else meson setup "$b" "$@" >/dev/null; fi
	ninja -C "$b"
	mkdir -p "$b/tools"
	scripts/cnitool-build.sh "$b/tools" >/dev/null || echo "test.sh: cnitool could not be built; its suite will skip" >&2
	meson test -C "$b" --print-errorlogs --num-processes 2 || true
	# Count from meson's own log: one JSON object per test.
	# The names of failed tests, with their failed checks and the tail of
	# their output, go to the closing summary too: a long log is often
	# read from its end.
	read -r p f s < <(python3 - "$b/meson-logs/testlog.json" "$b/failed.txt" "$b" <<-'PY'
		import json, sys
		p = f = s = 0
		out = open(sys.argv[2], "w")
		for line in open(sys.argv[1]):
		    t = json.loads(line)
		    r = t["result"]
		    if r in ("OK", "EXPECTEDFAIL"): p += 1
		    elif r == "SKIP": s += 1
		    else:
		        f += 1
		        lines = (t.get("stdout") or "").splitlines()
		        tail = [l for l in lines if l.startswith("not ok")][:10] + ["..."] + lines[-15:]
		        out.write("%s: %s (%s)\n" % (r, t["name"], sys.argv[3]))
		        out.writelines("  | %s\n" % l for l in tail)
		# Closed before the counts are printed: the shell reads them
		# and looks at the file at once, before this process exits.
		out.close()
		print(p, f, s, flush=True)
	PY
	)
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	[ ! -s "$b/failed.txt" ] || failures+=$(cat "$b/failed.txt")$'\n'
}
failures=

run_suite build --werror --buildtype=debugoptimized
run_suite build-asan --werror --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false

[ -z "$failures" ] || printf '%s' "$failures"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
