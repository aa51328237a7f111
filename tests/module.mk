# tests: each part owns a fragment.
include $(srcdir)/tests/unit/module.mk
include $(srcdir)/tests/jail/module.mk
include $(srcdir)/tests/fuzz/module.mk
