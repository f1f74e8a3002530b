#!/bin/bash
# Install what Kuryr-C needs to build, run and test, from Debian's archive.
# Idempotent: does nothing when everything is already installed.
set -euo pipefail

PKGS=(
	# build
	meson ninja-build pkg-config gcc clang clang-format
	libmnl-dev libjansson-dev libsqlite3-dev libinih-dev libmicrohttpd-dev libcurl4-openssl-dev
	libyaml-dev
	libcmocka-dev libgnutls28-dev libclang-rt-14-dev
	# run: Open vSwitch (userspace datapath) and OVN
	openvswitch-switch ovn-central ovn-host iproute2 sqlite3 python3
	# test: reference CNI plugins, busybox (ping, nc), Go to build cnitool
	containernetworking-plugins busybox-static golang-go golang-github-appc-cni-dev
	dpkg-dev hyperfine
	# test: iptables, the network lock of a workload moved with its TCP connections
	iptables
	# test: a real neutron-server (ML2/OVN) with MariaDB, and the openstack CLI
	neutron-server python3-pymysql mariadb-server python3-openstackclient
	# test: a real Keystone, and neutron-server's middleware that asks it
	keystone python3-keystonemiddleware
	# test: a real VM (QEMU, Debian's kernel) beside the containers, socat for its
	# management NIC's forwards (scripts/vm.sh)
	qemu-system-x86 linux-image-amd64 cpio socat
	# test: podman (CNI backend, crun) as a runtime in a mount namespace of its own
	podman crun
	# test: a real dockerd (libnetwork remote driver)
	docker.io
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
# Where systemd runs, keep packages from starting their own OVS/OVN: Kuryr-C
# starts private instances (scripts/ovn.sh).
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null
apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" >/dev/null
