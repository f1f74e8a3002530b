#!/bin/bash
# Install what Kuryr-C needs to build, run and test, from Debian's archive.
# Idempotent: does nothing when everything is already installed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

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
	# test: a real Octavia (API and driver agent) with the OVN provider: load
	# balancers on backend "neutron" (scripts/octavia.sh)
	octavia-api octavia-driver-agent python3-octavia python3-ovn-octavia-provider
	# test: a real VM (QEMU, Debian's kernel) beside the containers, socat for its
	# management NIC's forwards (scripts/vm.sh)
	qemu-system-x86 linux-image-amd64 cpio socat
	# test: podman (CNI backend, crun) as a runtime in a mount namespace of its own
	podman crun
	# test: a real dockerd (libnetwork remote driver)
	docker.io
)

apt_install deps "${PKGS[@]}"
