#include "tsq.h"

unsigned tsq_strip_count(unsigned height, unsigned rows_per_strip)
{
    if (rows_per_strip == 0 || rows_per_strip > height)
        return 1;
    return (height + rows_per_strip - 1) / rows_per_strip;
}
