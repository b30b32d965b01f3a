#ifndef TSQ_WORDCODE_H
#define TSQ_WORDCODE_H

#include <stddef.h>

/* Render bytes as a phrase of word pairs (malloc'd, NUL-terminated). */
char *wc_encode(const unsigned char *p, size_t n);

#endif
