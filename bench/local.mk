# bench/local.mk - the benchmark (bench/run, bench/latency-proxy) and the
# fault-injection proxy of the integration tests, which share one source:
# tests/tools/netproxy.c is built as bench/latency-proxy and as
# tests/tools/fault-proxy. tests/tools/tcp-probe measures paths through them.
noinst_PROGRAMS += bench/latency-proxy tests/tools/fault-proxy tests/tools/tcp-probe
bench_latency_proxy_SOURCES = tests/tools/netproxy.c
bench_latency_proxy_CPPFLAGS = $(AM_CPPFLAGS) -DNETPROXY_ROLE_LATENCY
tests_tools_fault_proxy_SOURCES = tests/tools/netproxy.c
tests_tools_fault_proxy_CPPFLAGS = $(AM_CPPFLAGS) -DNETPROXY_ROLE_FAULT
tests_tools_tcp_probe_SOURCES = tests/tools/tcp-probe.c

# Own list (tests/integration/local.mk assigns INTEGRATION_TESTS after us).
BENCH_INTEGRATION_TESTS = tests/integration/netproxy.bats
if HAVE_BATS
TESTS += $(BENCH_INTEGRATION_TESTS)
endif
EXTRA_DIST += $(BENCH_INTEGRATION_TESTS) tests/integration/lib/netproxy.bash \
	bench/run bench/plot.gp bench/README.md
