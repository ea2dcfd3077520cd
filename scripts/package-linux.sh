#!/usr/bin/env bash
# Builds the Linux packages with the Tauri bundler, in one run: the `.deb`
# (target/<profile>/bundle/deb/Warden_<version>_amd64.deb) and the `.rpm`
# (target/<profile>/bundle/rpm/Warden-<version>-1.x86_64.rpm). Each has the desktop app,
# `warden` and `warden-sessions` on PATH, a desktop entry and icon, and commented
# examples for /etc/warden/ that its install script copies only when absent
# (installers/linux/).
# `--debug` packages debug builds (what the test command installs); the default is a
# release build.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
profile=release
tauri_flags=()
if [ "${1:-}" = "--debug" ]; then
  profile=debug
  tauri_flags=(--debug)
fi
target="$(realpath -m "${CARGO_TARGET_DIR:-target}")"
# The whole workspace, as the test command builds it, with the app serving its bundled UI:
# the same features everywhere, so nothing is compiled twice (a build of the app alone, as
# `tauri build` makes, unifies dependencies' features differently and rebuilds them all).
cargo_flags=(--locked --workspace --bins --features warden-desktop/custom-protocol)
[ "$profile" = release ] && cargo_flags+=(--release)
npm run build -w ui
cargo build "${cargo_flags[@]}"
overlay="$target/linux-overlay.json"
files='
          "/usr/bin/warden": "'"$target/$profile/warden"'",
          "/usr/bin/warden-sessions": "'"$target/$profile/warden-sessions"'",
          "/usr/share/warden/examples/requirements.toml": "'"$PWD/installers/linux/etc-warden/requirements.toml"'",
          "/usr/share/warden/examples/managed_config.toml": "'"$PWD/installers/linux/etc-warden/managed_config.toml"'",
          "/usr/share/doc/warden/admin.md": "'"$PWD/docs/admin.md"'"'
cat >"$overlay" <<JSON
{
  "bundle": {
    "targets": ["deb", "rpm"],
    "linux": {
      "deb": {
        "files": {$files
        },
        "depends": ["libayatana-appindicator3-1"],
        "postInstallScript": "$PWD/installers/linux/postinst"
      },
      "rpm": {
        "files": {$files
        },
        "depends": ["libayatana-appindicator-gtk3"],
        "postInstallScript": "$PWD/installers/linux/rpm-post"
      }
    }
  }
}
JSON
(cd src-tauri && ../node_modules/.bin/tauri bundle "${tauri_flags[@]}" --bundles deb,rpm --config "$overlay" --ci)
ls "$target/$profile/bundle/deb/"*.deb "$target/$profile/bundle/rpm/"*.rpm
