#include "tsq.h"

/* Worst case of TIFF LZW output for n input bytes: 12-bit codes, a clear
 * code every 4093 codes, and the end-of-information code. */
size_t tsq_lzw_bound(size_t n)
{
    size_t codes = n + n / 4093 + 2;
    return (codes * 12 + 7) / 8;
}
