#!/usr/bin/env bash
# Installs the Debian packages Depotline needs outside of npm.
# Safe to re-run: when everything is already present it does not touch apt at all
# (so it works offline and without root on a prepared machine).
set -euo pipefail

PACKAGES=(
  postgresql redis-server            # sync-server storage/cache (tests start a throwaway cluster)
  libsecret-1-dev                    # headers for keytar's native build
  gnome-keyring dbus dbus-x11        # a Secret Service so keytar works headless in tests
  libsecret-tools                    # secret-tool, used by the test keychain preflight
  chromium                           # browser for desktop UI tests
  python3 make g++                   # node-gyp: keytar, @journeyapps/sqlcipher, better-sqlite3
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  # dpkg-query exits non-zero for never-seen packages; "deinstall ok config-files" also counts as missing.
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  echo "install-system-deps: all ${#PACKAGES[@]} system packages already installed."
  exit 0
fi

echo "install-system-deps: missing: ${missing[*]}"

SUDO=()
if ((EUID != 0)); then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "install-system-deps: need root to install packages, but not root and sudo is not available." >&2
    echo "  Run as root:  apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi

# Only install what is missing, so re-runs never upgrade packages behind the user's back.
"${SUDO[@]}" apt-get update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${missing[@]}"
echo "install-system-deps: done."
