#include "tsq.h"

struct tag { unsigned id; const char *name; };

static const struct tag tags[] = {
    { 256, "ImageWidth" },      { 257, "ImageLength" },
    { 258, "BitsPerSample" },   { 259, "Compression" },
    { 262, "PhotometricInterpretation" },
    { 273, "StripOffsets" },    { 277, "SamplesPerPixel" },
    { 278, "RowsPerStrip" },    { 279, "StripByteCounts" },
    { 284, "PlanarConfiguration" }, { 317, "Predictor" },
};

const char *tsq_tag_name(unsigned tag)
{
    unsigned i;
    for (i = 0; i < sizeof tags / sizeof tags[0]; i++)
        if (tags[i].id == tag)
            return tags[i].name;
    return "unknown";
}
