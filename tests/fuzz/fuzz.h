/* fuzz.h - the libFuzzer entry point every target in tests/fuzz defines. */
#ifndef SFTPFS_FUZZ_H
#define SFTPFS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
