#ifndef TSQ_H
#define TSQ_H

#include <stddef.h>

#define TSQ_VERSION "1.0.0"

/* selftest.c */
int tsq_selftest(void);

/* lzw.c */
size_t tsq_lzw_bound(size_t n);

/* strip.c */
unsigned tsq_strip_count(unsigned height, unsigned rows_per_strip);

/* tags.c */
const char *tsq_tag_name(unsigned tag);

#endif
