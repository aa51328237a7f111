# src/common: small pure helpers shared by every module, one header each
# (owner: whoever needs one). No jansson beyond json_util, no system calls
# beyond malloc. COMMON_SOURCES is reused by tests/fuzz (own flags).
COMMON_SOURCES = \
	src/common/b64.h src/common/b64.c src/common/json_util.h src/common/json_util.c \
	src/common/num.h src/common/num.c src/common/path.h src/common/path.c \
	src/common/strv.h src/common/strv.c src/common/utf8.h src/common/utf8.c \
	src/common/sha256.h src/common/sha256.c
noinst_LIBRARIES += src/common/libcommon.a
src_common_libcommon_a_SOURCES = $(COMMON_SOURCES)
src_common_libcommon_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
COMMON_LIBS = src/common/libcommon.a
