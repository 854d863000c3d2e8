/* escape_suite.c: the classic escapes, for every runtime (docs/escape.md). */
#pragma once
int escape_suite(int argc, char **argv);
