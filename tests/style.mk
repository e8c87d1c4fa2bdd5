# Style checks run as tests: banned functions and hand-decoded wire data.
TESTS += tests/stylecheck.sh
EXTRA_DIST += tests/stylecheck.sh
