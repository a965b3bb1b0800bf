#!/bin/sh
# bench/readme.sh TABLE README: puts TABLE (markdown) into README between
# <!-- bench:begin --> and <!-- bench:end -->, in the "## Performance"
# section, which is added at the end when missing.  Touches only README,
# replaced in one rename.

table=$1
readme=$2
tmp=$readme.bench.tmp
if ! grep -q '^<!-- bench:begin -->$' "$readme"; then
	{
		cat "$readme"
		printf '\n## Performance\n\n'
		printf '`make bench` measures the same bash through a raw PTY, '
		printf 'OpenSSH (`ssh -tt` to a\nthrowaway sshd on 127.0.0.1) '
		printf 'and capsem (`capsem-shell --temp --local`),\nwith one '
		printf 'PTY driver (`bench/ptybench.c`); the chart is '
		printf '`bench-ratios.png`,\nthe numbers `bench-results.csv`, '
		printf 'the analysis `bench/NOTES.md`.\n\n'
		printf '<!-- bench:begin -->\n<!-- bench:end -->\n'
	} >"$tmp" || exit 1
else
	cp "$readme" "$tmp" || exit 1
fi
awk -v f="$table" '
/^<!-- bench:begin -->$/ {
	print
	while ((getline l < f) > 0)
		print l
	skip = 1
	next
}
/^<!-- bench:end -->$/ { skip = 0 }
!skip' "$tmp" >"$tmp.2" && mv "$tmp.2" "$readme"
st=$?
rm -f "$tmp"
exit $st
