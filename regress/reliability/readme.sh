#!/bin/sh
# Put a reliability table (build/reliability.md, from a full run of
# regress/reliability/run.sh) into README.md's "## Reliability" section,
# between <!-- reliability:begin --> and <!-- reliability:end -->; the
# section (with the markers) is added at the end when missing.  sed/awk
# only: CI machines may lack python.
#
# usage: regress/reliability/readme.sh TABLE README

table=${1:?usage: readme.sh TABLE README}
readme=${2:?usage: readme.sh TABLE README}
[ -f "$table" ] || { echo "readme.sh: no $table" >&2; exit 1; }
begin='<!-- reliability:begin -->'
end='<!-- reliability:end -->'

if ! grep -qxF "$begin" "$readme" || ! grep -qxF "$end" "$readme"; then
	if ! grep -qx '## Reliability' "$readme"; then
		printf '\n## Reliability\n\n' >>"$readme"
		printf '%s\n' '`make reliability` runs the fault injection' \
		    'scenarios of regress/reliability/ against the real' \
		    'programs in local mode and writes this table (last full' \
		    'run; `RELIABILITY_QUICK=1` is the reduced CI run).' \
		    '' >>"$readme"
	fi
	# The markers go at the end of the section (before the next ##).
	awk -v b="$begin" -v e="$end" '
		/^## / { if (in_s && !done) { print b; print e; print "";
			done = 1 }; in_s = ($0 == "## Reliability") }
		{ print }
		END { if (!done) { print b; print e } }' "$readme" \
	    >"$readme.tmp" && mv "$readme.tmp" "$readme" || exit 1
fi
awk -v b="$begin" -v e="$end" -v t="$table" '
	$0 == b { print; while ((getline l < t) > 0) print l; skip = 1; next }
	$0 == e { skip = 0 }
	!skip { print }' "$readme" >"$readme.tmp" && mv "$readme.tmp" "$readme"
