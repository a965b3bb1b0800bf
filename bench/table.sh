#!/bin/sh
# bench/table.sh CSV: the bench results as a markdown table, with the
# ratios of capsem to the other two paths and the targets of issue 16
# (ratios within the run where there is something to compare with).
# Reads CSV, writes stdout only.

awk -F, '
function ratio(a, b) {
	if (a == "" || b == "" || b + 0 == 0)
		return ("")
	return (sprintf("%.2fx", a / b))
}
function verdict(ok, by) {
	return (ok ? "met" : "**missed** (" by ")")
}
function target(f, r, s, c) {
	if (c == "")
		return ("")
	if (f == "screen_parse" || f == "screen_parse_all")
		return ("none (off the relay path; capsem throughput " \
		    "includes it)")
	if (f == "throughput")
		return ("≥0.95x raw: " verdict(c >= 0.95 * r,
		    sprintf("%.2fx raw", c / r)))
	if (f == "echo_p50")
		return ("≤2x raw, ≤0.5x ssh: " verdict(c <= 2 * r &&
		    c <= 0.5 * s, sprintf("%.2fx raw, %.2fx ssh", c / r,
		    c / s)))
	if (f == "echo_p99")
		return ("≤0.5x ssh: " verdict(c <= 0.5 * s,
		    sprintf("%.2fx ssh", c / s)))
	if (f == "exit_p50")
		return ("≤0.7x ssh: " verdict(c <= 0.7 * s,
		    sprintf("%.2fx ssh", c / s)))
	if (f == "start_p50")
		return ("≤30 ms: " verdict(c <= 30, sprintf("%.1fx", c / 30)))
	if (f == "reconnect_p50")
		return ("<100 ms: " verdict(c < 100,
		    sprintf("%.1fx", c / 100)))
	if (f == "wakeups_idle")
		return ("≤1.5/s in all: " verdict(c <= 1.5,
		    sprintf("%.2fx", c / 1.5)))
	if (f ~ /^pss_[0-9]+$/ && f != "pss_1")
		return ("≤2.5 MiB a session: " verdict(c <= 2560,
		    sprintf("%.2fx", c / 2560)))
	if (f ~ /^density_[0-9]+_p99$/)
		return ("≤50 ms: " verdict(c <= 50000,
		    sprintf("%.1fx", c / 50000)))
	if (f ~ /^codec_filewrite_/)
		return ("≤30,000: " verdict(c <= 30000,
		    sprintf("%.1fx", c / 30000)))
	return ("")
}
NR == 1 {
	print "| figure | unit | raw | ssh | capsem | capsem/raw | " \
	    "capsem/ssh | target |"
	print "|---|---|--:|--:|--:|--:|--:|---|"
	next
}
{
	printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, \
	    $4, $5, ratio($5, $3), ratio($5, $4), target($1, $3, $4, $5)
}' "$1"
