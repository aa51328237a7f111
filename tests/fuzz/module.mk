# tests/fuzz: libFuzzer targets (owner: api). Built only with
# ./configure --enable-fuzzers CC=clang (see tests/fuzz/run.sh). The target
# compiles its own copy of the api and common sources so they carry the fuzzer's
# coverage instrumentation without changing the flags of libapi.a.
if ENABLE_FUZZERS
noinst_PROGRAMS += tests/fuzz/fuzz_req
tests_fuzz_fuzz_req_SOURCES = tests/fuzz/fuzz_req.c $(API_SOURCES) $(COMMON_SOURCES)
nodist_tests_fuzz_fuzz_req_SOURCES = $(API_GEN_SOURCES)
tests_fuzz_fuzz_req_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer
tests_fuzz_fuzz_req_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_req_LDADD = $(JANSSON_LIBS)
endif
EXTRA_DIST += tests/fuzz/run.sh tests/fuzz/req.dict tests/fuzz/corpus
