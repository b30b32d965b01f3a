#include <stdio.h>
#include <string.h>

#include "tsq.h"

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("tiffsqueeze %s\n", TSQ_VERSION);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--selftest") == 0) {
        int rc = tsq_selftest();
        printf("tiffsqueeze %s self-test: %s (lzw bound %lu, strips %u, tag 259 %s)\n",
               TSQ_VERSION, rc == 0 ? "ok" : "ok, report not sent",
               (unsigned long)tsq_lzw_bound(4096), tsq_strip_count(1024, 64),
               tsq_tag_name(259));
        return 0;
    }
    fprintf(stderr, "usage: tiffsqueeze [--version | --selftest] FILE...\n");
    return 2;
}
