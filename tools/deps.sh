#!/bin/sh
# deps.sh [NAME CHECK...]: check dependencies; install what is missing with
# apt-get when run as root, otherwise print the exact command and fail.
# With no arguments: every build and test dependency, as `make deps` (and
# so `make check`) wants before anything is built.  The vm/ scripts pass
# their own NAME (the prefix of the messages) and CHECKs, one of:
#	cmd:PROG:PACKAGE	PROG is on PATH (or in /usr/sbin, /sbin)
#	pc:MODULE:PACKAGE	pkg-config knows MODULE (all missing without
#				pkg-config)
#	file:GLOB:PACKAGE	a file matches GLOB
#	deb:PACKAGE		the Debian package is installed
#	builddeps		the unmet build dependencies of ./debian/control
#				(dpkg-checkbuilddeps, once dpkg-dev is there)

if [ $# -eq 0 ]; then
	# The build and the tests; libclang-rt provides the fuzzer and
	# sanitizer runtimes used by clang.
	set -- deps cmd:pkg-config:pkg-config cmd:cc:gcc cmd:make:make \
	    cmd:tmux:tmux cmd:valgrind:valgrind cmd:clang:clang cmd:bash:bash \
	    cmd:asciinema:asciinema cmd:script:bsdutils \
	    cmd:vim:vim cmd:less:less cmd:top:procps \
	    pc:libbsd-overlay:libbsd-dev pc:msgpack:libmsgpack-dev \
	    pc:cmocka:libcmocka-dev pc:libseccomp:libseccomp-dev \
	    pc:jansson:libjansson-dev \
	    'file:/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a:libclang-rt-dev'
fi
name=$1
shift

missing=""
for c in "$@"; do
	what=${c#*:}
	what=${what%:*}
	pkg=${c##*:}
	case $c in
	cmd:*)
		PATH=$PATH:/usr/sbin:/sbin command -v "$what" >/dev/null 2>&1 ||
		    missing="$missing $pkg"
		;;
	pc:*)
		command -v pkg-config >/dev/null 2>&1 &&
		    pkg-config --exists "$what" || missing="$missing $pkg"
		;;
	file:*)
		# shellcheck disable=SC2086
		ls $what >/dev/null 2>&1 || missing="$missing $pkg"
		;;
	deb:*)
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null |
		    grep -q 'ok installed' || missing="$missing $pkg"
		;;
	builddeps)
		command -v dpkg-checkbuilddeps >/dev/null 2>&1 || continue
		missing="$missing $(dpkg-checkbuilddeps 2>&1 |
		    sed -n 's/.*Unmet build dependencies: //p' |
		    sed 's/([^)]*)//g; s/|[^ ]*//g')"
		;;
	*)
		echo "$name: deps.sh: unknown check '$c'" >&2
		exit 2
		;;
	esac
done

# shellcheck disable=SC2086
missing=$(printf '%s\n' $missing | sort -u | tr '\n' ' ')
missing=${missing% }
[ -z "$missing" ] && exit 0

cmd="apt-get install -y --no-install-recommends $missing"
if [ "$(id -u)" != 0 ]; then
	echo "$name: missing: $missing" >&2
	echo "$name: run as root: apt-get update && $cmd" >&2
	exit 1
fi
echo "$name: installing: $missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && $cmd >/dev/null ||
    { echo "$name: '$cmd' failed" >&2; exit 1; }
