# src/transport.mk - build fragment owned by one module; included from Makefile.am.
