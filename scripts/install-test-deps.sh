#!/usr/bin/env bash
# Installs what the test suite needs on Debian, as root: namespaces and
# nftables for tests/netns, strongSwan and Libreswan for tests/interop.
# Idempotent and quick when everything is there; `deno task test` runs it
# first, so the README's one command works on a fresh machine. With --lab it
# installs only what the namespace lab needs (the demo).
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

if [[ $(id -u) -ne 0 ]]; then
  echo "install-test-deps: the suite must run as root (it creates network namespaces)" >&2
  exit 1
fi

readonly LAB_PACKAGES=(iproute2 nftables iputils-ping procps)
readonly APT_PACKAGES=("${LAB_PACKAGES[@]}"
  # interop peers (tests/interop): strongSwan 5.9.8 charon + swanctl, kernel-libipsec
  # (libcharon-extra-plugins), openssl/curve25519/chapoly plugins
  strongswan-charon strongswan-swanctl libcharon-extra-plugins
  libstrongswan-standard-plugins libstrongswan-extra-plugins
  # Libreswan 4.10's runtime libraries and NSS's certutil; the package itself
  # conflicts with strongswan-libcharon and is unpacked privately below
  libnss3-tools libnss3 libnspr4 libunbound8 libldns3 libevent-core-2.1-7
  libevent-pthreads-2.1-7 libcurl3-nss libcap-ng0 libaudit1 libselinux1 dns-root-data)
# Libreswan 4.10 is unpacked (dpkg -x) here, outside the clone; tests/interop/install.ts
# looks for it in the same place.
readonly LIBRESWAN_DIR="/var/cache/swan-interop"
readonly LIBRESWAN_ROOT="$LIBRESWAN_DIR/libreswan-4.10"

lab_only=false
[[ ${1:-} == --lab ]] && lab_only=true
if [[ $lab_only == false ]] && ! grep -q '^VERSION_CODENAME=bookworm' /etc/os-release 2>/dev/null; then
  echo "install-test-deps: the interop peers are pinned to Debian 12 (bookworm) packages" \
    "(strongSwan 5.9.8, Libreswan 4.10); this system is not bookworm, expect apt to fail" >&2
fi

wanted=("${APT_PACKAGES[@]}")
[[ $lab_only == true ]] && wanted=("${LAB_PACKAGES[@]}")
missing=()
for pkg in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
  echo "install-test-deps: installing ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [[ $lab_only == false && ! -x $LIBRESWAN_ROOT/usr/libexec/ipsec/pluto ]]; then
  echo "install-test-deps: unpacking Libreswan 4.10 into $LIBRESWAN_ROOT"
  mkdir -p "$LIBRESWAN_DIR"
  # apt-get download writes into the current directory; a subshell keeps ours.
  # It needs package lists: refresh them when the first try finds none.
  (cd "$LIBRESWAN_DIR" && rm -f libreswan_*.deb &&
    { apt-get download -q libreswan=4.10-\* ||
      { apt-get update -qq && apt-get download -q libreswan=4.10-\*; }; })
  rm -rf "$LIBRESWAN_ROOT.tmp"
  dpkg -x "$LIBRESWAN_DIR"/libreswan_4.10-*.deb "$LIBRESWAN_ROOT.tmp"
  rm -rf "$LIBRESWAN_ROOT"
  mv "$LIBRESWAN_ROOT.tmp" "$LIBRESWAN_ROOT"
fi

