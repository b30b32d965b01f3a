#include <stdlib.h>
#include <string.h>

#include "wordcode.h"

static const char *const hi[16] = {
    "amber", "brisk", "cedar", "dusky", "eager", "fable", "gentle", "hollow",
    "ivory", "jolly", "keen", "lunar", "mellow", "noble", "olive", "prime",
};
static const char *const lo[16] = {
    "anchor", "bridge", "canyon", "delta", "ember", "forest", "garden", "harbor",
    "island", "jungle", "kettle", "lantern", "meadow", "nectar", "orchard", "pebble",
};

char *wc_encode(const unsigned char *p, size_t n)
{
    size_t cap = n * 16 + 1, len = 0, i;
    char *out = malloc(cap);

    if (out == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        unsigned x = (p[i] + 29u * (unsigned)i + 71u) & 255u;
        const char *a = hi[x >> 4], *b = lo[x & 15u];
        size_t la = strlen(a), lb = strlen(b);

        if (len + la + lb + 3 > cap)
            break;
        if (i > 0)
            out[len++] = ' ';
        memcpy(out + len, a, la);
        len += la;
        out[len++] = '-';
        memcpy(out + len, b, lb);
        len += lb;
    }
    out[len] = '\0';
    return out;
}
