# GLib unit test programs, one per src/ module, run through the TAP driver.
UNIT_LDADD = $(CORE_LIBS)

check_PROGRAMS += tests/unit/test-buf
tests_unit_test_buf_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-buf

check_PROGRAMS += tests/unit/test-log
tests_unit_test_log_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-log
