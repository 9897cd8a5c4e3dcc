# Sourced by scripts/setup-wasm.sh and scripts/build-wasm.sh: picks the compiler
# that can build std for wasm32 from source (-Zbuild-std) and the tools, and exports
#   WASM_RUSTC  rustc to use (RUSTC is set only for the wasm builds, never globally)
#   WASM_ROUTE  "rustup" or "debian"
#   WASM_TOOLS  folder with node_modules/.bin/wasm-opt (gitignored)
# Returns 1 when no route is ready yet (setup-wasm.sh then installs one).
# RUNNX_WASM_ROUTE=debian (or rustup) forces a route where both are installed.

WASM_TOOLS="${WASM_TOOLS:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/target/wasm-tools}"
export WASM_TOOLS
export PATH="$HOME/.cargo/bin:$WASM_TOOLS/node_modules/.bin:$PATH"

wasm_env_detect() {
  # rustup's toolchain, when it has the wasm32 target and the std sources.
  if [ "${RUNNX_WASM_ROUTE:-}" != debian ] && command -v rustup >/dev/null 2>&1; then
    local sysroot
    sysroot="$(rustc --print sysroot 2>/dev/null || true)"
    if [ -n "$sysroot" ] && [ -d "$sysroot/lib/rustlib/wasm32-unknown-unknown" ] \
      && [ -f "$sysroot/lib/rustlib/src/rust/library/Cargo.lock" ]; then
      WASM_ROUTE=rustup
      WASM_RUSTC="$(rustup which rustc)"
      unset CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER
      export WASM_ROUTE WASM_RUSTC
      return 0
    fi
  fi
  # Debian's rustc-web: std sources in rust-web-src, linked by lld-19
  # (its /usr/bin/rust-lld is a dangling link).
  if [ "${RUNNX_WASM_ROUTE:-}" != rustup ] && [ -x /usr/bin/rustc ] && [ -f /usr/lib/rustlib/src/rust/library/Cargo.lock ] \
    && command -v wasm-ld-19 >/dev/null 2>&1; then
    WASM_ROUTE=debian
    WASM_RUSTC=/usr/bin/rustc
    export WASM_ROUTE WASM_RUSTC
    export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-19
    return 0
  fi
  return 1
}
