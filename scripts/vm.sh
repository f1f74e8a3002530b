#!/bin/bash
# A real VM for tests and walk-throughs: QEMU (software emulation; KVM here
# may not run a stock kernel) booting Debian's kernel from a small initramfs
# (static busybox, iproute2, the virtio-net, 8021q and macvlan modules, and
# with KURYR_BUILD=BUILD_DIR kuryrd, kuryr-cni and kuryrctl of that build,
# with their libraries; VM_BINS and VM_MODULES add what a benchmark needs,
# below). Its NIC is a tap device on the host, which
# `kuryrctl vm plug` puts on br-int like any hypervisor's. Commands run
# inside the guest over a second serial port.
#
#   vm.sh image DIR                   build DIR/initrd.cpio.gz (~1 s; start
#                                     builds it if missing)
#   vm.sh start DIR TAP MAC [NETNS]   make tap TAP (in NETNS), boot the VM
#                                     with NIC MAC on it, wait until the
#                                     guest answers (VM_BOOT_TIMEOUT, 180 s)
#   vm.sh exec DIR CMD                run shell text CMD in the guest; print
#                                     its output, exit with its status
#                                     (VM_EXEC_TIMEOUT, 60 s)
#   vm.sh stop DIR                    power off, delete the tap
#
# The guest's NICs, at fixed PCI addresses so their names are too:
#   eth0 (00:03.0)  the data NIC, MAC MAC, on tap TAP: the port on br-int
#                   (later a trunk's parent).
#   eth1 (00:04.0)  the management NIC, only with VM_FORWARD: how kuryrd in
#                   the guest reaches the control plane without the data
#                   path. QEMU's user networking (slirp) with restrict=on:
#                   the guest (10.0.2.15/24, no default route, no IPv6) reaches
#                   nothing on the host or beyond but what VM_FORWARD names.
#                   VM_FORWARD="PORT=TARGET ..." forwards the guest's TCP
#                   connections to 10.0.2.100:PORT to TARGET, unix:PATH or
#                   tcp:HOST:PORT (HOST as seen from NETNS, where qemu
#                   runs), e.g. "6641=unix:$RUN/ovn/nb.sock
#                   9696=tcp:127.0.0.1:9696". For each connection QEMU
#                   starts socat (its complaints in DIR/forward.log).
#
# For benchmarks, both read when the image is built:
#   VM_BINS="SRC=DEST ..."  more ELF binaries, each SRC as DEST in the guest
#                           with its libraries, e.g. the reference CNI
#                           plugins "/usr/lib/cni/macvlan=/usr/lib/cni/macvlan"
#   VM_MODULES="MOD ..."    more kernel modules for the guest's init to
#                           load (with their dependencies), e.g. "vxlan veth"
#
# DIR holds the image, the console log (console.log), the control socket
# and qemu's pid. Needs qemu-system-x86, linux-image-amd64, busybox-static,
# cpio, socat (scripts/deps.sh).
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
# Each command arrives as one line, its MD5 and its base64; its output goes
# back followed by a line "__KC_RC=<status>__". A line whose MD5 does not
# match (damaged on the serial line) is answered "__KC_RESEND__" and sent
# again, twice at most.
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
		for m in $(cat /etc/modules); do modprobe "$m"; done
		hostname kuryr-guest
		ip link set lo up
		# The management NIC (VM_FORWARD): slirp's network, and no
		# default route, which is eth0's to take.
		if [ -e /sys/class/net/eth1 ]; then
			ip link set eth1 up
			ip addr add 10.0.2.15/24 dev eth1
		fi
		stty -F /dev/ttyS1 raw -echo
		exec 3<>/dev/ttyS1
		echo KC_READY
		while read -r sum line <&3; do
			# A line that arrived damaged is asked for again.
			echo "$line" | base64 -d >/tmp/cmd 2>/dev/null
			if [ "$(md5sum </tmp/cmd)" != "$sum  -" ]; then
				printf '\n__KC_RESEND__\n' >&3
				continue
			fi
			sh -c '. /etc/prelude; . /tmp/cmd' </dev/null >&3 2>&3
			printf '\n__KC_RC=%d__\n' "$?" >&3
		done
		poweroff -f
	INIT
}

# The modules the guest's init loads, in order; the image holds each with
# what modules.dep says it needs. macvlan: for containers on macvlan
# sub-interfaces of eth0.
GUEST_MODULES="virtio_pci virtio_net 8021q macvlan"

# guest_bin ROOT SRC DEST: the ELF binary SRC as ROOT/DEST, without debug
# info (most of a debug build's size, and unpacked at every boot), and every
# shared library it links (as ldd finds them here).
guest_bin() {
	local r=$1 src=$2 dest=$3 lib
	mkdir -p "$r${dest%/*}"
	strip --strip-debug -o "$r$dest" "$src" 2>/dev/null || cp -L "$src" "$r$dest"
	chmod 755 "$r$dest"
	for lib in $(ldd "$src" 2>/dev/null | awk '/=> \//{print $3}'); do
		[ -e "$r$lib" ] || install -D "$(readlink -f "$lib")" "$r$lib"
	done
}

image() {
	local dir=$1 kv m r mod dep f b
	kv=$(kernel_version)
	m=/lib/modules/$kv
	command -v cpio >/dev/null || die "cpio is not installed"
	[ -x /bin/busybox ] || die "busybox-static is not installed"
	mkdir -p "$dir"
	r=$(mktemp -d)
	# shellcheck disable=SC2064
	trap "rm -rf '$r'" RETURN
	mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc/kuryr,proc,sys,dev,run,tmp,var/lib,lib64}
	cp /bin/busybox "$r/bin/"
	for a in $("$r/bin/busybox" --list); do
		[ "$a" = busybox ] || [ "$a" = ip ] || ln -sf busybox "$r/bin/$a"
	done
	# iproute2's ip: busybox's has no netns and no VLAN options.
	guest_bin "$r" /usr/sbin/ip /usr/sbin/ip
	# Kuryr-C's own, from the build in $KURYR_BUILD; without it, none.
	if [ -n "${KURYR_BUILD:-}" ]; then
		for b in sbin/kuryrd bin/kuryr-cni bin/kuryrctl; do
			[ -x "$KURYR_BUILD/src/${b#*/}" ] || die "no $KURYR_BUILD/src/${b#*/} (KURYR_BUILD: a build dir)"
			guest_bin "$r" "$KURYR_BUILD/src/${b#*/}" "/usr/$b"
		done
	fi
	for b in ${VM_BINS:-}; do
		[ -x "${b%%=*}" ] || die "VM_BINS: no executable ${b%%=*}"
		case ${b#*=} in /*) ;; *) die "VM_BINS: \"$b\" is not SRC=/DEST" ;; esac
		guest_bin "$r" "${b%%=*}" "${b#*=}"
	done
	cp -L /lib64/ld-linux-x86-64.so.2 "$r/lib64/"
	# busybox sh runs its own applets before PATH: make "ip" iproute2's.
	echo 'ip() { /usr/sbin/ip "$@"; }' >"$r/etc/prelude"
	local modules="$GUEST_MODULES ${VM_MODULES:-}"
	for mod in $modules; do
		if ! dep=$(grep -E "/$mod\.ko(\.[a-z]+)?:" "$m/modules.dep"); then
			grep -Eq "/$mod\.ko\$" "$m/modules.builtin" || die "no module $mod in $m"
			continue
		fi
		for f in ${dep/:/}; do install -D -m 644 "$m/$f" "$r$m/$f"; done
	done
	echo "$modules" >"$r/etc/modules"
	cp "$m"/modules.{dep,alias,builtin,order} "$r$m/"
	guest_init >"$r/init"
	chmod 755 "$r/init"
	(cd "$r" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$dir/initrd.cpio.gz"
	echo "/boot/vmlinuz-$kv" >"$dir/kernel"
}

# The management NIC's MAC (any one: slirp answers whatever it is).
MGMT_MAC=52:54:00:4b:43:02

# mgmt_netdev DIR: the -netdev of the management NIC, from $VM_FORWARD.
# restrict=on leaves the guest only the guestfwd rules; ipv6=off keeps
# slirp from advertising a prefix and an IPv6 default route to the guest
# (IPv6 is eth0's, as the default route is); QEMU runs each
# rule's command (parsed as by a shell, no shell involved) per connection,
# on the connection as its stdin and stdout.
mgmt_netdev() {
	local dir=$1 f port target addr opts=user,id=n1,restrict=on,net=10.0.2.0/24,ipv6=off
	command -v socat >/dev/null || die "socat is not installed (scripts/deps.sh)"
	for f in $VM_FORWARD; do
		port=${f%%=*} target=${f#*=}
		case $port in '' | *[!0-9]*) die "VM_FORWARD: \"$f\" is not PORT=TARGET" ;; esac
		# Commas end a qemu option (and start socat's), quotes a word.
		case $target in *[,\'\"]*) die "VM_FORWARD: no commas or quotes in \"$target\"" ;; esac
		case $target in
		unix:/*) addr=UNIX-CONNECT:${target#unix:} ;;
		unix:*) addr=UNIX-CONNECT:$PWD/${target#unix:} ;;
		tcp:*:*) addr=TCP:${target#tcp:} ;;
		*) die "VM_FORWARD: \"$target\" is not unix:PATH or tcp:HOST:PORT" ;;
		esac
		opts+=",guestfwd=tcp:10.0.2.100:$port-cmd:socat -lf '$dir/forward.log' STDIO '$addr'"
	done
	echo "$opts"
}

start() {
	local dir=$1 tap=$2 mac=$3
	NS=${4:-}
	local deadline netdev mgmt=()
	[ -f "$dir/initrd.cpio.gz" ] || image "$dir"
	command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86 is not installed"
	# qemu -daemonize works in /: socat's log needs an absolute path.
	dir=$(cd "$dir" && pwd)
	if [ -n "${VM_FORWARD:-}" ]; then
		netdev=$(mgmt_netdev "$dir") || exit 1
		mgmt=(-netdev "$netdev" -device "virtio-net-pci,netdev=n1,mac=$MGMT_MAC,addr=0x4")
	fi
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
		-device "virtio-net-pci,netdev=n0,mac=$mac,csum=off,guest_csum=off,addr=0x3" \
		"${mgmt[@]}" ||
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
		import hashlib
		line = (hashlib.md5(cmd.encode()).hexdigest() + " ").encode() + base64.b64encode(cmd.encode()) + b"\n"
		s.sendall(line)
		buf, end, sent = b"", time.monotonic() + timeout, 1
		while True:
		    if b"\n__KC_RESEND__\n" in buf and sent < 3:
		        buf = buf.split(b"\n__KC_RESEND__\n", 1)[1]
		        s.sendall(line)
		        sent += 1
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
