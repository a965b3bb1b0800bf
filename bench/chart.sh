#!/bin/sh
# bench/chart.sh CSV PNG TMPDIR: a gnuplot bar chart of every figure that
# ssh has, each path's value divided by ssh's (ssh = 1; log scale), so
# both directions of "better" read the same way: the bar's height is how
# many times ssh's figure it is.  Writes PNG and TMPDIR/ratios.dat only.

dat=$3/ratios.dat
awk -F, 'NR > 1 && $4 != "" && $4 + 0 > 0 && $5 != "" {
	printf "%s %s %s\n", $1, ($3 == "" ? "NaN" : $3 / $4), $5 / $4
}' "$1" >"$dat"
[ -s "$dat" ] || exit 1
gnuplot <<EOF
set terminal png noenhanced size 900,500
set output "$2"
set title "capsem and a raw PTY relative to ssh -tt (ssh = 1, log scale)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set yrange [0.001:100]
set grid ytics
set ylabel "value / ssh value"
set xtics rotate by -30
set key top left
plot "$dat" using 2:xtic(1) title "raw", "" using 3 title "capsem", \
    1 with lines lt 0 notitle
EOF
