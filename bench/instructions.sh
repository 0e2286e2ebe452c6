#!/usr/bin/env bash
# bench/instructions.sh IAMQ_BINARY [IAMQ_BINARY …]: the worker's instructions per IAM call
# under valgrind's callgrind, for each given `iamq` binary, in `scripts/bench --quick
# --scenario cpu` (400 users, latency 0, concurrency 256). Instructions, unlike CPU seconds,
# do not move with the machine's load or speed, so two builds (say, main and an older commit
# built elsewhere) compare on a shared machine. Every other binary comes from
# IAMQ_BUILD_DIR (default build/). One JSON object per binary on stdout:
#   {"binary": …, "calls": N, "worker_instructions": N, "instructions_per_call": N}
# The whole worker process is counted (start-up and drain included). Needs valgrind.
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
[ $# -ge 1 ] || { echo "usage: bench/instructions.sh IAMQ_BINARY [IAMQ_BINARY …]" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "bench/instructions.sh: valgrind is not installed" >&2; exit 2; }
build="$(cd "${IAMQ_BUILD_DIR:-build}" && pwd)"
tmp="$(mktemp -d /tmp/iamq-instructions-XXXXXX)"
trap 'rm -rf "$tmp"' EXIT

for bin in "$@"; do
  real="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
  [ -x "$real" ] || { echo "bench/instructions.sh: $bin is not an executable" >&2; exit 2; }
  dir="$tmp/$(date +%s%N)"
  mkdir -p "$dir/bin" "$dir/out"
  for b in iamq-client-load iamq-emulator iamq-emulator-load; do ln -s "$build/bin/$b" "$dir/bin/$b"; done
  # Only the worker runs under callgrind; enqueue and the other commands run as they are.
  cat > "$dir/bin/iamq" <<EOF
#!/bin/sh
case " \$* " in
  *" worker "*) exec valgrind --tool=callgrind --callgrind-out-file=$dir/out/cg.%p "$real" "\$@" ;;
  *) exec "$real" "\$@" ;;
esac
EOF
  chmod +x "$dir/bin/iamq"
  IAMQ_BUILD_DIR="$dir" IAMQ_BENCH_SKIP_SETUP=1 scripts/bench --quick --scenario cpu --json-only \
    > "$dir/bench.json" 2> "$dir/bench.err" || { cat "$dir/bench.err" >&2; exit 1; }
  /usr/bin/python3 - "$real" "$dir" <<'EOF'
import glob, json, re, sys
binary, d = sys.argv[1], sys.argv[2]
calls = None
for line in open(f"{d}/bench.json"):
    line = line.strip()
    if line.startswith("{") and '"scenario": "cpu"' in line:
        calls = json.loads(line)["figures"]["calls"]
total = 0
for f in glob.glob(f"{d}/out/cg.*"):
    with open(f) as fh:
        for l in fh:
            m = re.match(r"(?:summary|totals): (\d+)", l)
            if m:
                total = max(total, int(m.group(1)))
if not calls or not total:
    sys.exit(f"bench/instructions.sh: no figures for {binary} (calls {calls}, instructions {total})")
print(json.dumps({"binary": binary, "calls": calls, "worker_instructions": total,
                  "instructions_per_call": round(total / calls)}))
EOF
done
