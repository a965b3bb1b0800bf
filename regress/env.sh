# The environment both runners (regress/run.sh for `make check`,
# regress/reliability/run.sh for `make reliability`) give what they run.
# Sourced, POSIX sh.

# test_env TOP BUILDDIR: B, the build directory (BUILDDIR, relative to TOP
# unless absolute), and exported for the tests: CAPSEM_TOP (the tree),
# CAPSEM_BUILD, CAPSEM_LIBEXECDIR, CAPSEM_VECTORS (the shared golden
# vectors, unless already set) and a PATH that finds the built programs
# first.
test_env() {
	case $2 in /*) B=$2 ;; *) B=$1/$2 ;; esac
	export CAPSEM_TOP="$1"
	export CAPSEM_BUILD="$B"
	export CAPSEM_LIBEXECDIR="$B/libexec"
	export CAPSEM_VECTORS="${CAPSEM_VECTORS:-$1/../shared/vectors}"
	export PATH="$B/bin:$B/sbin:$B/regress:$PATH"
}
