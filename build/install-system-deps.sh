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
  nginx                              # load balancer of the multi-process tests (each test runs its own, on loopback)
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

# Debian's nginx package starts a system nginx on port 80 when it is installed (and fails the
# install if port 80 is taken). The tests need only the binary, so while apt runs, a policy-rc.d
# forbids starting nginx (and only nginx), unless the machine already has a policy-rc.d of its
# own (containers usually do, forbidding every start); afterwards the service is disabled and
# stopped, so no system nginx is left running or starts at boot.
POLICY=/usr/sbin/policy-rc.d
own_policy=0
remove_policy() { if ((own_policy)); then "${SUDO[@]}" rm -f "$POLICY"; fi; }
trap remove_policy EXIT
if [[ " ${missing[*]} " == *" nginx "* && ! -e $POLICY ]]; then
  printf '#!/bin/sh\n# install-system-deps: no system nginx while installing (removed afterwards)\n[ "$1" = nginx ] && exit 101\nexit 0\n' \
    | "${SUDO[@]}" tee "$POLICY" >/dev/null
  "${SUDO[@]}" chmod 755 "$POLICY"
  own_policy=1
fi

# Only install what is missing, so re-runs never upgrade packages behind the user's back.
"${SUDO[@]}" apt-get update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${missing[@]}"
remove_policy
own_policy=0

if [[ " ${missing[*]} " == *" nginx "* ]]; then
  if [[ -d /run/systemd/system ]]; then
    "${SUDO[@]}" systemctl disable --now nginx.service >/dev/null 2>&1 || true
  else
    "${SUDO[@]}" update-rc.d nginx disable >/dev/null 2>&1 || true
    "${SUDO[@]}" /etc/init.d/nginx stop >/dev/null 2>&1 || true
  fi
  echo "install-system-deps: nginx installed; its system service is disabled and stopped (the tests run their own)."
fi
echo "install-system-deps: done."
