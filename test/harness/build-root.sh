#!/usr/bin/env bash
# Builds the Debian root filesystem the test hosts boot from, into $1 (created
# atomically: built in $1.partial, renamed when complete). Host keys, users' keys and
# network settings are NOT baked in: every host gets its own at start.
set -euo pipefail
target=${1:?usage: build-root.sh TARGET_DIR}
packages=${2:?usage: build-root.sh TARGET_DIR PACKAGES}

# The mirror comes from apt's own configuration, never a hard-coded host.
mirror=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)
if [ -z "$mirror" ]; then
  mirror=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' /etc/apt/sources.list 2>/dev/null)
fi
[ -n "$mirror" ] || { echo "build-root: no Debian mirror in apt's sources" >&2; exit 1; }

partial="$target.partial"
rm -rf "$partial"
mkdir -p "$(dirname "$target")"
debootstrap --variant=minbase --include="$packages" bookworm "$partial" "$mirror" >"$partial.log" 2>&1 || {
  echo "build-root: debootstrap failed; last lines of $partial.log:" >&2
  tail -n 20 "$partial.log" >&2
  exit 1
}

# No baked-in host keys: each host generates its own at start.
rm -f "$partial"/etc/ssh/ssh_host_*
# Accounts: kube has passwordless sudo (the normal case for a lab VM); pw has sudo that
# wants a password (to prove kubestrap says so instead of hanging).
chroot "$partial" useradd -m -s /bin/bash kube
chroot "$partial" useradd -m -s /bin/bash pw
# Without a password hash the accounts are locked, and sshd (UsePAM no) refuses them.
chroot "$partial" usermod -p '*' kube
echo 'pw:not-a-real-password' | chroot "$partial" chpasswd
echo 'kube ALL=(ALL) NOPASSWD:ALL' > "$partial/etc/sudoers.d/kube"
echo 'pw ALL=(ALL) ALL' > "$partial/etc/sudoers.d/pw"
chmod 0440 "$partial"/etc/sudoers.d/*
cat > "$partial/etc/ssh/sshd_config.d/kubestrap-test.conf" <<'CONF'
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
UseDNS no
CONF
apt_clean() { rm -rf "$partial"/var/cache/apt/archives/*.deb "$partial"/var/lib/apt/lists/*; }
apt_clean
mv "$partial.log" "$partial/var/log/kubestrap-build-root.log"
mv "$partial" "$target"
