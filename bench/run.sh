#!/bin/sh
# bench/run.sh BUILD: `make bench`.  Measures, on this machine and through
# one harness (BUILD/bench/ptybench, a PTY driver), the same bash on three
# paths: raw (the shell on a local PTY), ssh (a throwaway sshd on 127.0.0.1,
# ssh -tt, default cipher) and capsem (capsem-shell --temp --local from
# BUILD, its screen model running), plus the screen model's own rate
# (BUILD/bench/screenbench) and the codec's instruction counts under
# callgrind.  Prints the
# markdown table, writes bench-results.csv, bench-ratios.png and bench.md in
# the build directory and, with BENCH_UPDATE=1 after a full run, copies the
# chart and the figures to the top of the tree and puts the table in the
# README's Performance section (bench/readme.sh).  BENCH_QUICK=1 shrinks
# every count for a quick look.
#
# It touches only its own temp directory, the sshd it starts (killed on
# exit, by pid), the sessions capsem-shell makes there (shut down on exit)
# and, as root, installs missing Debian packages.

set -u
B=${1:-build}
TOP=$(pwd)
QUICK=${BENCH_QUICK:-0}
PB=$TOP/$B/bench/ptybench
CB=$TOP/$B/bench/codecbench
SHELLCMD='/bin/bash --norc --noprofile -i'
PROMPT='@bench@ '

if [ "$QUICK" = 1 ]; then
	TPUT_N=1; TPUT_MIB=32; ECHO_N=200; START_N=5; RECON_N=3
	IDLE_S=3; CODEC_N=500; FOOT_N=8; DENS_N=16; DENS_KEYS=300
	EXEC_N=10
else
	TPUT_N=5; TPUT_MIB=256; ECHO_N=2000; START_N=50; RECON_N=20
	IDLE_S=10; CODEC_N=5000; FOOT_N=32; DENS_N=64; DENS_KEYS=2000
	EXEC_N=100
fi

die() {
	echo "bench: $*" >&2
	exit 1
}

# --- what the bench needs -------------------------------------------------

need=
command -v /usr/sbin/sshd >/dev/null 2>&1 || need="$need openssh-server"
command -v ssh >/dev/null 2>&1 || need="$need openssh-client"
command -v gnuplot >/dev/null 2>&1 || need="$need gnuplot-nox"
command -v valgrind >/dev/null 2>&1 || need="$need valgrind"
if [ -n "$need" ]; then
	if [ "$(id -u)" = 0 ]; then
		echo "bench: installing$need" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y $need \
		    >&2 || die "apt-get install$need failed"
	else
		die "missing packages; run: sudo apt-get install -y$need"
	fi
fi
[ "$(id -u)" = 0 ] || die "sshd -f with a private config must run as \
root (run make bench as root)"
SB=$TOP/$B/bench/screenbench
for p in "$PB" "$CB" "$SB" "$TOP/$B/bin/capsem-shell" \
    "$TOP/$B/sbin/capsem-hostd" "$TOP/$B/libexec/capsem-hostd-screen"
do
	[ -x "$p" ] || die "no $p (make all first)"
done

W=$(mktemp -d /tmp/capsem-bench.XXXXXXXX) || die "mktemp"
SSHD=
cleanup() {
	[ -z "$SSHD" ] || kill "$SSHD" 2>/dev/null
	for d in "$W"/tmp/capsem.*; do
		[ -S "$d/attach.sock" ] || continue
		timeout 10 "$TOP/$B/bin/capsem-shell" shutdown -S "$d" \
		    >/dev/null 2>&1
	done
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT HUP TERM
mkdir -p "$W/tmp" || die "mkdir"
cd "$W" || die "cd $W"
export TMPDIR="$W/tmp"
export TERM=xterm
export CAPSEM_LIBEXECDIR="$TOP/$B/libexec"

# --- the three paths --------------------------------------------------------

# The ssh session gets an empty HOME: bash started by sshd reads ~/.bashrc
# even for a command (Debian's SSH_SOURCE_BASHRC), and root's own dot files
# are no part of the bench (one that waited 60 s for a lock made every ssh
# figure fail with "no prompt from ssh"); raw and capsem run --norc too.

ssh-keygen -q -t ed25519 -N '' -f "$W/hostkey" || die "ssh-keygen"
ssh-keygen -q -t ed25519 -N '' -f "$W/userkey" || die "ssh-keygen"
cp "$W/userkey.pub" "$W/authorized_keys"
mkdir -p /run/sshd "$W/home"
PORT=$("$PB" freeport) || die "no free port"
cat >"$W/sshd_config" <<EOF
Port $PORT
ListenAddress 127.0.0.1
HostKey $W/hostkey
PidFile $W/sshd.pid
AuthorizedKeysFile $W/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PrintMotd no
PrintLastLog no
StrictModes no
Subsystem sftp internal-sftp
SetEnv HOME=$W/home
EOF
/usr/sbin/sshd -D -e -f "$W/sshd_config" 2>"$W/sshd.log" &
SSHD=$!

SSH="ssh -tt -F /dev/null -o StrictHostKeyChecking=no \
-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes \
-i $W/userkey -p $PORT root@127.0.0.1"
i=0
until $SSH true >/dev/null 2>&1 </dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || die "sshd on port $PORT does not answer: \
$(tail -n 2 "$W/sshd.log")"
	sleep 0.05
done

# run_path PATH MODE [ptybench options]: the figures of one mode on one
# path, as "key value" lines in $W/PATH.MODE.out (samples in .err).
run_path() {
	rp=$1
	rm=$2
	shift 2
	case $rp in
	raw)
		set -- "$@" "$rm" -- env "PS1=$PROMPT" HISTFILE= $SHELLCMD ;;
	ssh)
		set -- "$@" "$rm" -- $SSH \
		    "PS1='$PROMPT' HISTFILE= exec $SHELLCMD" ;;
	capsem)
		set -- "$@" "$rm" -- "$TOP/$B/bin/capsem-shell" --temp \
		    --local -e "PS1=$PROMPT" -e HISTFILE= --shell "$SHELLCMD" ;;
	esac
	echo "bench: $rp $rm" >&2
	"$PB" "$@" >"$W/$rp.$rm.out" 2>"$W/$rp.$rm.err" ||
	    echo "bench: $rp $rm failed: $(tail -n 1 "$W/$rp.$rm.err")" >&2
}

val() {	# PATH MODE KEY
	awk -v k="$3" '$1 == k { print $2 }' "$W/$1.$2.out" 2>/dev/null
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

yes 'capsem bench: the quick brown fox jumps over the lazy dog 0123456789' |
    head -c $((TPUT_MIB * 1048576)) >"$W/data" || die "data file"

# capsem's throughput includes its screen model: every session runs
# capsem-hostd-screen, which parses a copy of all output.  Its own rate,
# on the same data, is the screen_parse row.
for p in raw ssh capsem; do
	run_path $p tput -n "$TPUT_N" -f "$W/data" -r "$SSHD"
done
echo "bench: capsem screen model" >&2
"$SB" "$W/data" >"$W/capsem.screen.out" 2>"$W/capsem.screen.err" ||
    echo "bench: screenbench failed: $(tail -n 1 "$W/capsem.screen.err")" >&2
rm -f "$W/data"
for p in raw ssh capsem; do
	run_path $p echo -n "$ECHO_N"
	run_path $p start -n "$START_N"
done
run_path capsem reconnect -n "$RECON_N"
run_path ssh idle -n "$IDLE_S" -r "$SSHD"
run_path capsem idle -n "$IDLE_S"
# Footprint: 1 session, then FOOT_N at once (PSS per session); density:
# DENS_N idle sessions at once, a keystroke into any of them.
for p in ssh capsem; do
	run_path $p footprint -n 1 -r "$SSHD"
	mv "$W/$p.footprint.out" "$W/$p.foot1.out"
	mv "$W/$p.footprint.err" "$W/$p.foot1.err"
	run_path $p footprint -n "$FOOT_N" -r "$SSHD"
done
run_path capsem density -n "$DENS_N" -k "$DENS_KEYS"

# --- file copies: cp (raw), scp (ssh), capsem-shell cp (capsem) -------------

# copy_mbs CMD...: median MB/s of CP_N runs of CMD copying $CP_MIB MiB.
copy_mbs() {
	for i in $(seq 1 "$CP_N"); do
		t0=$(date +%s%N)
		"$@" >/dev/null 2>>"$W/cp.err" || { echo "bench: $* failed: \
$(tail -n 1 "$W/cp.err")" >&2; return; }
		t1=$(date +%s%N)
		echo "$CP_MIB $t0 $t1" | awk '{ printf "%.1f\n",
		    $1 * 1048576 / (($3 - $2) / 1000) }'
	done | sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}
CP_MIB=$TPUT_MIB
CP_N=$([ "$QUICK" = 1 ] && echo 1 || echo 3)
SCP="scp -q -F /dev/null -o StrictHostKeyChecking=no \
-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes \
-i $W/userkey -P $PORT"
head -c $((CP_MIB * 1048576)) /dev/urandom >"$W/cpdata" || die "cp data"
mkdir -p "$W/ws"
echo "bench: cp, scp, capsem-shell cp" >&2
CPS=$W/cps
(cd "$W/ws" && "$TOP/$B/bin/capsem-shell" new -d --local -S "$CPS") \
    2>>"$W/cp.err" || echo "bench: capsem-shell new failed" >&2
CP_RAW_IN=$(copy_mbs cp "$W/cpdata" "$W/raw.copy")
CP_RAW_OUT=$(copy_mbs cp "$W/raw.copy" "$W/raw.back")
CP_SCP_IN=$(copy_mbs $SCP "$W/cpdata" "root@127.0.0.1:$W/scp.copy")
CP_SCP_OUT=$(copy_mbs $SCP "root@127.0.0.1:$W/scp.copy" "$W/scp.back")
CP_CAPSEM_IN=$(copy_mbs "$TOP/$B/bin/capsem-shell" cp -q -S "$CPS" \
    "$W/cpdata" :capsem.copy)
CP_CAPSEM_OUT=$(copy_mbs "$TOP/$B/bin/capsem-shell" cp -q -S "$CPS" \
    :capsem.copy "$W/capsem.back")
cmp -s "$W/cpdata" "$W/capsem.back" ||
    echo "bench: capsem-shell cp: the copy out differs" >&2
"$TOP/$B/bin/capsem-shell" shutdown -S "$CPS" >/dev/null 2>&1 ||
    echo "bench: capsem-shell shutdown of the cp session failed" >&2
rm -f "$W/cpdata" "$W/raw.copy" "$W/raw.back" "$W/scp.copy" "$W/scp.back" \
    "$W/capsem.back" "$W/ws/capsem.copy"

# --- exec: `true` round trip, ssh host true against capsem-shell exec -------

# exec_p50 OUT CMD...: the median wall time of EXEC_N runs of CMD, in ms
# (as "exec_true_p50_ms N" in $W/OUT.exec.out); none if a run fails or
# takes over 10 s.
exec_p50() {
	eo=$1
	shift
	: >"$W/$eo.exec.samples"
	: >"$W/$eo.exec.out"
	i=0
	while [ $i -lt "$EXEC_N" ]; do
		t0=$(date +%s%N)
		if ! timeout 10 "$@" </dev/null >/dev/null \
		    2>>"$W/$eo.exec.err"; then
			echo "bench: $eo exec true failed" >&2
			return
		fi
		t1=$(date +%s%N)
		echo $(((t1 - t0) / 1000)) >>"$W/$eo.exec.samples"
		i=$((i + 1))
	done
	sort -n "$W/$eo.exec.samples" | awk '{ v[NR] = $1 }
	    END { printf "exec_true_p50_ms %.2f\n", v[int((NR + 1) / 2)] / 1000 }' \
	    >"$W/$eo.exec.out"
}
echo "bench: exec true" >&2
exec_p50 ssh $(echo "$SSH" | sed 's/ -tt / -T /') true
"$TOP/$B/bin/capsem-shell" new -d -S "$W/xs" --local --shell "$SHELLCMD" \
    2>"$W/capsem.exec.err" || echo "bench: capsem-shell new failed" >&2
exec_p50 capsem "$TOP/$B/bin/capsem-shell" exec -S "$W/xs" -- true
"$TOP/$B/bin/capsem-shell" shutdown -S "$W/xs" >/dev/null 2>&1

# --- codec: instructions per frame under callgrind ---------------------------

codec() {	# MESSAGE enc|dec: instructions per frame
	valgrind --tool=callgrind --callgrind-out-file="$W/cg.$1.$2" \
	    --toggle-collect="$2_$1" "$CB" "$1" "$CODEC_N" \
	    >"$W/cg.$1.$2.log" 2>&1 || { echo "bench: callgrind $1 $2 \
failed" >&2; return; }
	awk -v n="$CODEC_N" '/^(summary|totals):/ { t = $2 }
	    END { if (t != "") printf "%d\n", t / n + 0.5 }' "$W/cg.$1.$2"
}

LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

# --- results -----------------------------------------------------------------

CSV=$TOP/$B/bench-results.csv
{
	echo "figure,unit,raw,ssh,capsem"
	row() {	# FIGURE UNIT KEY MODE: one row from every path's output
		printf '%s,%s,%s,%s,%s\n' "$1" "$2" "$(val raw "$4" "$3")" \
		    "$(val ssh "$4" "$3")" "$(val capsem "$4" "$3")"
	}
	row throughput MB/s tput_p50_mbs tput
	row tput_cpu ms/MB tput_cpu_ms_per_mb tput
	printf 'screen_parse,MB/s,,,%s\n' \
	    "$(val capsem screen screen_parse_mbs)"
	printf 'screen_parse_all,MB/s,,,%s\n' \
	    "$(val capsem screen screen_parse_all_mbs)"
	printf 'screen_snapshot,us,,,%s\n' \
	    "$(val capsem screen screen_snapshot_us)"
	row echo_p50 us echo_p50_us echo
	row echo_p99 us echo_p99_us echo
	row exit_p50 ms exit_p50_ms start
	row start_p50 ms start_p50_ms start
	printf 'reconnect_p50,ms,,,%s\n' \
	    "$(val capsem reconnect reconnect_p50_ms)"
	printf 'cp_in_%dMiB,MB/s,%s,%s,%s\n' "$CP_MIB" "$CP_RAW_IN" \
	    "$CP_SCP_IN" "$CP_CAPSEM_IN"
	printf 'cp_out_%dMiB,MB/s,%s,%s,%s\n' "$CP_MIB" "$CP_RAW_OUT" \
	    "$CP_SCP_OUT" "$CP_CAPSEM_OUT"
	printf 'exec_true_p50,ms,,%s,%s\n' "$(val ssh exec exec_true_p50_ms)" \
	    "$(val capsem exec exec_true_p50_ms)"
	printf 'rss_idle,KiB,,%s,%s\n' "$(val ssh idle rss_idle_kib)" \
	    "$(val capsem idle rss_idle_kib)"
	printf 'wakeups_idle,per s,,%s,%s\n' \
	    "$(val ssh idle wakeups_idle_per_s)" \
	    "$(val capsem idle wakeups_idle_per_s)"
	for k in pss_kib pss_guest_kib pss_host_kib; do
		printf '%s_1,KiB,,%s,%s\n' "${k%_kib}" \
		    "$(val ssh foot1 $k)" "$(val capsem foot1 $k)"
	done
	for k in pss_kib pss_guest_kib pss_host_kib; do
		printf '%s_%s,KiB,,%s,%s\n' "${k%_kib}" "$FOOT_N" \
		    "$(val ssh footprint $k)" "$(val capsem footprint $k)"
	done
	printf 'density_%s_p99,us,,,%s\n' "$DENS_N" \
	    "$(val capsem density density_p99_us)"
	for m in pong filewrite audit; do
		for f in enc dec; do
			printf 'codec_%s_%s,instructions,,,%s\n' "$m" "$f" \
			    "$(codec $m $f)"
		done
	done
} >"$CSV.tmp" && mv "$CSV.tmp" "$CSV"

# The per-process details the table sums up, for bench/NOTES.md.
{
	echo "capsem idle processes (VmRSS, wakeups/s over $IDLE_S s):"
	sed 's/^idle: /  /' "$W/capsem.idle.err"
	echo "wakeups/s, the busiest capsem process:" \
	    "$(val capsem idle wakeups_idle_max_per_proc)"
	echo "ssh idle processes:"
	sed 's/^idle: /  /' "$W/ssh.idle.err"
	echo "capsem, one session (PSS):"
	sed 's/^footprint: /  /' "$W/capsem.foot1.err"
	echo "ssh, one session (PSS):"
	sed 's/^footprint: /  /' "$W/ssh.foot1.err"
	echo "throughput (each cat):"
	for p in raw ssh capsem; do
		sed "s/^/  $p /" "$W/$p.tput.err"
	done
} >"$TOP/$B/bench-details.txt"

MACHINE="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo |
    head -n 1), $(nproc) CPU, $(awk '/MemTotal/ { printf "%d GiB", \
$2 / 1048576 + 0.5 }' /proc/meminfo) RAM, Linux $(uname -r)"
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
MD=$TOP/$B/bench.md
{
	echo "Measured $DATE on $MACHINE; load average $LOAD0 at the start," \
	    "$LOAD1 at the end.$([ "$QUICK" = 1 ] && echo ' QUICK RUN.')"
	echo "Counts: throughput median of $TPUT_N cats of $TPUT_MIB MiB," \
	    "copies median of $CP_N of $CP_MIB MiB (cp, scp, capsem-shell cp)," \
	    "echo $ECHO_N round trips, start and exit medians of $START_N" \
	    "sessions, reconnect median of $RECON_N, idle over $IDLE_S s," \
	    "PSS of 1 and of $FOOT_N sessions at once, density: $DENS_KEYS" \
	    "keystrokes into $DENS_N idle sessions," \
	    "exec true median of $EXEC_N (ssh -T host true, capsem-shell" \
	    "exec -S on a running session)," \
	    "codec over $CODEC_N frames (encode, decode each)."
	echo "capsem's throughput is measured with its screen model running:" \
	    "capsem-hostd-screen parses a copy of all output at the lowest" \
	    "CPU priority; screen_parse is its own rate on the same data as" \
	    "the PTY writes it (CR LF; a model slower than the relay falls" \
	    "behind in a burst and starts over; the relay never waits for" \
	    "it), screen_parse_all its rate with every byte fed to libvterm" \
	    "(text that scrolls off unseen is not), screen_snapshot the" \
	    "time to draw the 80x24 screen it left."
	echo
	sh "$TOP/bench/table.sh" "$CSV"
} >"$MD"
cat "$MD"

# The tree is left as it was unless asked (BENCH_UPDATE=1, full runs only):
# the figures, the chart and the table stay in the build directory.
sh "$TOP/bench/chart.sh" "$CSV" "$TOP/$B/bench-ratios.png" "$W" ||
    echo "bench: no chart" >&2
if [ "${BENCH_UPDATE:-0}" != 1 ]; then
	echo "bench: results in $B/ (bench-results.csv, bench-ratios.png," \
	    "bench.md); BENCH_UPDATE=1 puts them in the README" >&2
elif [ "$QUICK" = 1 ]; then
	echo "bench: quick run, README not updated" >&2
else
	cp "$TOP/$B/bench-ratios.png" "$TOP/bench-ratios.png" &&
	    cp "$CSV" "$TOP/bench-results.csv" ||
	    die "chart not copied"
	sh "$TOP/bench/readme.sh" "$MD" "$TOP/README.md" ||
	    die "README not updated"
fi
