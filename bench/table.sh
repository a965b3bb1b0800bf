#!/bin/sh
# bench/table.sh CSV: the bench results as a markdown table, with the
# ratios of capsem to the other two paths and the targets (an
# environment variable WAKE_MAX, the busiest capsem process's wakeups/s,
# judges the per-process wakeup target).  Reads CSV, writes stdout only.

awk -F, -v wmax="${WAKE_MAX:-}" '
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
	if (f == "screen_parse")
		return ("none (off the relay path; capsem throughput " \
		    "includes it)")
	if (f == "throughput")
		return ("≥0.9x raw, >ssh: " verdict(c >= 0.9 * r && c > s,
		    sprintf("%.2fx raw", c / r)))
	if (f == "echo_p50")
		return ("≤50 us: " verdict(c <= 50, sprintf("%.1fx", c / 50)))
	if (f == "echo_p99")
		return ("≤150 us: " verdict(c <= 150,
		    sprintf("%.1fx", c / 150)))
	if (f == "exit_p50")
		return ("≤2 ms: " verdict(c <= 2, sprintf("%.1fx", c / 2)))
	if (f == "start_p50")
		return ("≤30 ms: " verdict(c <= 30, sprintf("%.1fx", c / 30)))
	if (f == "reconnect_p50")
		return ("<100 ms: " verdict(c < 100,
		    sprintf("%.1fx", c / 100)))
	if (f == "rss_idle")
		return ("<8 MiB: " verdict(c < 8192,
		    sprintf("%.1fx", c / 8192)))
	if (f == "wakeups_idle" && wmax != "")
		return ("<1/s per process (busiest " wmax "): " \
		    verdict(wmax < 1, sprintf("%.1fx", wmax)))
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
