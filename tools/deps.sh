#!/bin/sh
# Check every build and test dependency; install what is missing with
# apt-get when run as root, otherwise print the exact command and fail.
# Called by `make deps` (and so by `make check`) before anything is built.

pcmods="libbsd-overlay:libbsd-dev msgpack:libmsgpack-dev cmocka:libcmocka-dev
libseccomp:libseccomp-dev jansson:libjansson-dev"
# program:package pairs the build and the tests run.
progs="pkg-config:pkg-config cc:gcc make:make tmux:tmux valgrind:valgrind
clang:clang bash:bash"

missing=""
for p in $progs; do
	command -v "${p%%:*}" >/dev/null 2>&1 || missing="$missing ${p#*:}"
done
if command -v pkg-config >/dev/null 2>&1; then
	for m in $pcmods; do
		pkg-config --exists "${m%%:*}" || missing="$missing ${m#*:}"
	done
else
	for m in $pcmods; do missing="$missing ${m#*:}"; done
fi
# libclang-rt provides the fuzzer and sanitizer runtimes used by clang.
if command -v clang >/dev/null 2>&1 &&
    ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a \
    >/dev/null 2>&1; then
	missing="$missing libclang-rt-dev"
fi

[ -z "$missing" ] && exit 0

cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing:$missing" >&2
	echo "deps: run as root: apt-get update && $cmd" >&2
	exit 1
fi
echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && $cmd >/dev/null ||
    { echo "deps: '$cmd' failed" >&2; exit 1; }
