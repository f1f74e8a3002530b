#!/bin/bash
# A real VM for tests and walk-throughs: QEMU (software emulation; KVM here
# may not run a stock kernel) booting Debian's kernel from a small initramfs
# (static busybox, iproute2, the virtio-net and 8021q modules). Its NIC is a
# tap device on the host, which `kuryrctl vm plug` puts on br-int like any
# hypervisor's. Commands run inside the guest over a second serial port.
#
#   vm.sh image DIR                   build DIR/initrd.cpio.gz (~1 s)
#   vm.sh start DIR TAP MAC [NETNS]   make tap TAP (in NETNS), boot the VM
#                                     with NIC MAC on it, wait until the
#                                     guest answers (VM_BOOT_TIMEOUT, 180 s)
#   vm.sh exec DIR CMD                run shell text CMD in the guest; print
#                                     its output, exit with its status
#                                     (VM_EXEC_TIMEOUT, 60 s)
#   vm.sh stop DIR                    power off, delete the tap
#
# DIR holds the image, the console log (console.log), the control socket
# and qemu's pid. Needs qemu-system-x86, linux-image-amd64, busybox-static,
# cpio (scripts/deps.sh).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

die() {
	echo "vm.sh: $*" >&2
	exit 1
}

kernel_version() {
	local k
	k=$(find /boot -maxdepth 1 -name 'vmlinuz-*-amd64' | sort -V | tail -n 1)
	[ -n "$k" ] || die "no /boot/vmlinuz-*-amd64 (install linux-image-amd64)"
	echo "${k#/boot/vmlinuz-}"
}

# The guest's /init: mount, load the NIC driver, serve commands on ttyS1.
# Each command arrives as one base64 line; its output goes back followed by
# a line "__KC_RC=<status>__".
guest_init() {
	cat <<-'INIT'
		#!/bin/sh
		export PATH=/usr/sbin:/usr/bin:/sbin:/bin
		mount -t proc proc /proc
		mount -t sysfs sys /sys
		mount -t devtmpfs dev /dev
		mount -t tmpfs tmpfs /run
		mount -t tmpfs tmpfs /tmp
		mkdir -p /run/netns
		for m in virtio_pci virtio_net 8021q; do modprobe "$m"; done
		ip link set lo up
		stty -F /dev/ttyS1 raw -echo
		exec 3<>/dev/ttyS1
		echo KC_READY
		while read -r line <&3; do
			echo "$line" | base64 -d >/tmp/cmd
			sh -c '. /etc/prelude; . /tmp/cmd' </dev/null >&3 2>&3
			printf '\n__KC_RC=%d__\n' "$?" >&3
		done
		poweroff -f
	INIT
}

image() {
	local dir=$1 kv m r lib
	kv=$(kernel_version)
	m=/lib/modules/$kv
	command -v cpio >/dev/null || die "cpio is not installed"
	[ -x /bin/busybox ] || die "busybox-static is not installed"
	mkdir -p "$dir"
	r=$(mktemp -d)
	# shellcheck disable=SC2064
	trap "rm -rf '$r'" RETURN
	mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,run,tmp,lib64}
	cp /bin/busybox "$r/bin/"
	for a in $("$r/bin/busybox" --list); do
		[ "$a" = busybox ] || [ "$a" = ip ] || ln -sf busybox "$r/bin/$a"
	done
	# iproute2's ip: busybox's has no netns and no VLAN options.
	cp -L /usr/sbin/ip "$r/usr/sbin/ip"
	for lib in $(ldd /usr/sbin/ip | awk '/=> \//{print $3}'); do
		install -D "$(readlink -f "$lib")" "$r$lib"
	done
	cp -L /lib64/ld-linux-x86-64.so.2 "$r/lib64/"
	# busybox sh runs its own applets before PATH: make "ip" iproute2's.
	echo 'ip() { /usr/sbin/ip "$@"; }' >"$r/etc/prelude"
	for mod in drivers/virtio/virtio.ko drivers/virtio/virtio_ring.ko \
		drivers/virtio/virtio_pci.ko drivers/virtio/virtio_pci_legacy_dev.ko \
		drivers/virtio/virtio_pci_modern_dev.ko net/core/failover.ko \
		drivers/net/net_failover.ko drivers/net/virtio_net.ko net/802/garp.ko \
		net/802/stp.ko net/802/mrp.ko net/llc/llc.ko net/8021q/8021q.ko; do
		[ -f "$m/kernel/$mod" ] && install -D -m 644 "$m/kernel/$mod" "$r$m/kernel/$mod"
	done
	cp "$m"/modules.{dep,alias,builtin,order} "$r$m/"
	guest_init >"$r/init"
	chmod 755 "$r/init"
	(cd "$r" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$dir/initrd.cpio.gz"
	echo "/boot/vmlinuz-$kv" >"$dir/kernel"
}

start() {
	local dir=$1 tap=$2 mac=$3
	NS=${4:-}
	local deadline
	[ -f "$dir/initrd.cpio.gz" ] || image "$dir"
	command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86 is not installed"
	run ip tuntap add "$tap" mode tap || die "cannot make tap $tap${NS:+ in netns $NS}"
	run ip link set "$tap" up
	printf '%s\n%s\n' "$tap" "$NS" >"$dir/tap"
	rm -f "$dir/console.log" "$dir/ctl.sock"
	# -daemonize: qemu outlives this script; its pid is in qemu.pid.
	run qemu-system-x86_64 -accel tcg -m 192 -smp 1 -no-reboot \
		-display none -monitor none -daemonize -pidfile "$dir/qemu.pid" \
		-kernel "$(cat "$dir/kernel")" -initrd "$dir/initrd.cpio.gz" \
		-append "console=ttyS0 panic=-1 quiet" \
		-serial "file:$dir/console.log" \
		-chardev "socket,id=ctl,path=$dir/ctl.sock,server=on,wait=off" -serial chardev:ctl \
		-netdev "tap,id=n0,ifname=$tap,script=no,downscript=no" \
		-device "virtio-net-pci,netdev=n0,mac=$mac,csum=off,guest_csum=off" ||
		{
			stop "$dir"
			die "qemu did not start"
		}
	deadline=$((SECONDS + ${VM_BOOT_TIMEOUT:-180}))
	until grep -q KC_READY "$dir/console.log" 2>/dev/null; do
		if ! alive "$(cat "$dir/qemu.pid")" || [ "$SECONDS" -ge "$deadline" ]; then
			tail -n 20 "$dir/console.log" >&2 2>/dev/null
			stop "$dir"
			die "the guest did not come up (console above)"
		fi
		sleep 0.2
	done
}

exec_() {
	local dir=$1
	shift
	[ -S "$dir/ctl.sock" ] || die "no VM running in $dir"
	python3 - "$dir/ctl.sock" "$*" "${VM_EXEC_TIMEOUT:-60}" <<-'PY'
		import base64, re, socket, sys, time
		path, cmd, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
		s = socket.socket(socket.AF_UNIX)
		s.connect(path)
		s.sendall(base64.b64encode(cmd.encode()) + b"\n")
		buf, end = b"", time.monotonic() + timeout
		while True:
		    m = re.search(rb"\n__KC_RC=(\d+)__\n", buf)
		    if m:
		        sys.stdout.buffer.write(buf[:m.start()])
		        sys.exit(int(m.group(1)))
		    left = end - time.monotonic()
		    if left <= 0:
		        sys.stdout.buffer.write(buf)
		        sys.exit("vm.sh: no answer from the guest in %gs" % timeout)
		    s.settimeout(left)
		    try:
		        chunk = s.recv(65536)
		    except socket.timeout:
		        continue
		    if not chunk:
		        sys.exit("vm.sh: the guest hung up")
		    buf += chunk
	PY
}

stop() {
	local dir=$1 tap ns
	stop_pid "$dir/qemu.pid"
	if [ -f "$dir/tap" ]; then
		{
			read -r tap
			read -r ns || true
		} <"$dir/tap"
		NS=$ns run ip link del "$tap" 2>/dev/null || true
		rm -f "$dir/tap"
	fi
	rm -f "$dir/ctl.sock"
}

case "${1:-}" in
image) image "${2:?DIR}" ;;
start) start "${2:?DIR}" "${3:?TAP}" "${4:?MAC}" "${5:-}" ;;
exec)
	dir=${2:?DIR}
	shift 2
	exec_ "$dir" "$@"
	;;
stop) stop "${2:?DIR}" ;;
*)
	echo "usage: $0 image DIR | start DIR TAP MAC [NETNS] | exec DIR CMD | stop DIR" >&2
	exit 2
	;;
esac
