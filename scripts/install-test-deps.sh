#!/usr/bin/env bash
# Installs the real tools the test suite checks rendered files with. apt needs root: as
# another user it asks sudo for the apt commands alone.
# Debian 12: ruby (ruby -c), vagrant + vagrant-libvirt (vagrant validate for both
# providers), systemd (systemd-analyze verify), containerd (reads our config.toml),
# shellcheck (generated scripts); for the test hosts: debootstrap (their root
# filesystem), iproute2 (namespaces, bridges), openssh-client (keys, agent, and the
# OpenSSH side of the benchmarks), procps, systemd-container (systemd-nspawn, for
# hosts with systemd as PID 1), apt-utils and gnupg (the signed package mirror the
# tests serve to the hosts); qemu-system-x86 and e2fsprogs (a VM with a real kernel,
# booted from an ext4 image), busybox-static (the one-binary image a container runs);
# for the end-to-end test on real Vagrant: libvirt-daemon-system, libvirt-clients,
# dnsmasq-base and iptables (libvirt's networks), qemu-utils (the test box's qcow2).
# For bundles: skopeo (copies images) and docker-registry (the registry the bundle test
# pushes its images to), gpgv (checks repository signatures); for rpm bundles: rpm
# (rpmkeys checks package signatures; rpmbuild and rpmsign make the test packages),
# createrepo-c (the bundle's repodata) and dnf (installs from the bundle in the test).
# For the managed control-plane endpoint: keepalived (keepalived -t) and haproxy
# (haproxy -c) check the rendered configs, and their packaged units the drop-ins.
set -euo pipefail
packages=(ruby vagrant vagrant-libvirt systemd containerd shellcheck debootstrap iproute2 openssh-client procps systemd-container apt-utils gnupg gpgv qemu-system-x86 e2fsprogs busybox-static libvirt-daemon-system libvirt-clients dnsmasq-base iptables qemu-utils skopeo docker-registry rpm createrepo-c dnf keepalived haproxy)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "test dependencies already installed: ${packages[*]}"
  exit 0
fi
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
