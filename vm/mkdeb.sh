#!/bin/sh
# mkdeb.sh OUT: `make deb`.  Copies the tree (the files git tracks plus the
# new ones it does not ignore) to OUT/src/capsem-VERSION, runs
# dpkg-buildpackage -us -uc -b there (debian/rules builds with the
# top-level Makefile, B=build-deb PREFIX=/usr
# LIBEXECDIR=/usr/libexec/capsem), moves capsem_VERSION_ARCH.deb to OUT
# and runs lintian on it: any error fails.  Touches only OUT.
#
# Missing packaging tools or build dependencies: installed with apt-get as
# root, otherwise the exact command is printed (by tools/deps.sh).
set -eu
OUT=${1:?usage: mkdeb.sh OUT}
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"

sh tools/deps.sh deb deb:dpkg-dev deb:debhelper deb:fakeroot deb:lintian \
    deb:adduser builddeps

ver=$(dpkg-parsechangelog -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
src=$OUT/src/capsem-$ver
rm -rf "$OUT/src"
mkdir -p "$src"
if git rev-parse --git-dir >/dev/null 2>&1; then
	git ls-files -z -co --exclude-standard |
	    grep -zv '^build' | xargs -0 tar -cf - | tar -xf - -C "$src"
else
	tar -cf - --exclude='./build*' . | tar -xf - -C "$src"
fi
(cd "$src" && dpkg-buildpackage -us -uc -b) >"$OUT/build.log" 2>&1 || {
	tail -n 20 "$OUT/build.log" >&2
	# Not kept: its build-deb/**/*.d would be included by the Makefile.
	rm -rf "$OUT/src"
	echo "deb: dpkg-buildpackage failed (log: $OUT/build.log)" >&2
	exit 1
}
deb=capsem_${ver}_${arch}.deb
mv "$OUT/src/$deb" "$OUT/$deb"
rm -rf "$OUT/src"
echo "deb: $OUT/$deb ($(($(wc -c <"$OUT/$deb") / 1024)) KiB)"
lintian --tag-display-limit 0 "$OUT/$deb" >"$OUT/lintian.log" 2>&1 || true
sed 's/^/  /' "$OUT/lintian.log"
if grep -q '^E: ' "$OUT/lintian.log"; then
	echo "deb: lintian reports errors" >&2
	exit 1
fi
echo "deb: lintian: $(grep -c '^E: ' "$OUT/lintian.log") errors," \
    "$(grep -c '^W: ' "$OUT/lintian.log") warnings"
