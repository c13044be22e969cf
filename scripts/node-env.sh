# shellcheck shell=bash
# Sourced (not run) by every project script: makes sure a Node >= 22.12 is first on PATH.
# When the system Node is older (Debian 12 machines ship Node 20), it fetches Node from the
# npm registry's `node-<os>-<arch>` package into .tools/ inside the checkout (git-ignored)
# and prepends it to PATH for this shell only. The system Node is never touched.
EMBEDQ_NODE_VERSION="${EMBEDQ_NODE_VERSION:-24.21.0}"
_embedq_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_embedq_tools="$_embedq_root/.tools"

_embedq_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=12)?0:1)' 2>/dev/null
}

if [ -x "$_embedq_tools/node/bin/node" ]; then
  export PATH="$_embedq_tools/node/bin:$PATH"
fi
if ! _embedq_node_ok; then
  case "$(uname -m)" in
    x86_64) _arch=x64 ;; aarch64|arm64) _arch=arm64 ;; *) _arch="$(uname -m)" ;;
  esac
  _os="$(uname -s | tr '[:upper:]' '[:lower:]')"
  _pkg="node-$_os-$_arch@$EMBEDQ_NODE_VERSION"
  echo "embedq: system Node is $(node -v 2>/dev/null || echo missing); fetching $_pkg from the npm registry into .tools/node" >&2
  if ! command -v npm >/dev/null 2>&1; then
    echo "embedq: npm is not installed, so Node $EMBEDQ_NODE_VERSION cannot be fetched. Install Node >= 22.12 (https://nodejs.org) and retry." >&2
    return 1 2>/dev/null || exit 1
  fi
  _tmp="$(mktemp -d)"
  if ! (cd "$_tmp" && npm pack --silent "$_pkg" >/dev/null 2>&1 && tar xzf ./*.tgz); then
    rm -rf "$_tmp"
    echo "embedq: could not fetch $_pkg from the npm registry. Install Node >= 22.12 yourself and retry." >&2
    return 1 2>/dev/null || exit 1
  fi
  rm -rf "$_embedq_tools/node" && mkdir -p "$_embedq_tools" && mv "$_tmp/package" "$_embedq_tools/node" && rm -rf "$_tmp"
  export PATH="$_embedq_tools/node/bin:$PATH"
  _embedq_node_ok || { echo "embedq: fetched Node does not run on this machine" >&2; return 1 2>/dev/null || exit 1; }
  echo "embedq: using Node $(node -v) from .tools/node" >&2
fi
unset _embedq_tools _arch _os _pkg _tmp
