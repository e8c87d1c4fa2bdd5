/*
 * err.c - the string table behind err_str(), generated from ERR_TABLE so a
 * code and its message are written in one place.
 */
#include "config.h"

#include "err.h"

struct err_row {
	int code;
	const char *msg;
};

static const struct err_row err_rows[] = {
#define ERR_STR_ROW(name, value, text) {.code = (value), .msg = (text)},
	ERR_TABLE(ERR_STR_ROW)
#undef ERR_STR_ROW
};

const char *err_str(int code)
{
	for (unsigned i = 0; i < sizeof(err_rows) / sizeof(err_rows[0]); i++) {
		if (err_rows[i].code == code)
			return err_rows[i].msg;
	}
	return "unknown error code";
}
