# Sourced by a benchmark's run.sh from the repository root: `bench_setup bench/<name> "<what>"`
# brings the project's Node (scripts/node-env.sh), the services (scripts/services.sh), the
# benchmark's own dependencies (its package.json and lockfile, kept out of embedq's; installed on
# first use or when its lockfile changed) and embedq's own when missing.
bench_setup() {
  local dir="$1" what="$2"
  source scripts/node-env.sh
  bash scripts/services.sh up
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "$(basename "$dir"): installing $what into $dir/node_modules" >&2
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
  fi
  if [ ! -d node_modules ]; then
    echo "$(basename "$dir"): installing embedq's own dependencies (npm ci)" >&2
    npm ci --no-audit --no-fund --loglevel=error
  fi
}
