# bench/plot.gp - the benchmark chart, drawn by bench/run:
#   gnuplot -e "dataprefix='…'; outfile='…'; rtts='0 20'; subtitle='…'" bench/plot.gp
# One data file per round trip R, named dataprefix.R, with rows:
#   "workload" sshfs_seconds sftpfs_seconds        (NaN = n/a)
# One panel per round trip; wall time per workload on a log scale, lower is better.
set terminal pngcairo size 1200,520 font "DejaVu Sans,10"
set output outfile
n = words(rtts)
set multiplot layout 1, n title "sftpfs vs sshfs: seconds per workload (log scale, lower is better)\n".subtitle
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set grid ytics
set xtics rotate by -35 scale 0 noenhanced
set key top left
set datafile missing "NaN"
do for [i = 1:n] {
	r = word(rtts, i)
	set title sprintf("%s ms round trip", r)
	plot sprintf("%s.%s", dataprefix, r) using 2:xtic(1) title "sshfs" lc rgb "#888888", \
	     '' using 3 title "sftpfs" lc rgb "#2a7ab0"
}
unset multiplot
