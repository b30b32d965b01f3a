"""quickcsv: typed, streaming CSV reading."""
import csv
import io

__all__ = ["read", "sniff", "coerce"]
__version__ = "1.0.0"


def sniff(sample):
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return csv.excel


def coerce(value):
    v = value.strip()
    if v == "":
        return None
    for cast in (int, float):
        try:
            return cast(v)
        except ValueError:
            pass
    low = v.lower()
    if low in ("true", "false"):
        return low == "true"
    return v


def read(source, types=True, encoding="utf-8"):
    """Yield dicts from a path, a file object or a string of CSV text."""
    if isinstance(source, str) and "\n" not in source:
        fh = open(source, newline="", encoding=encoding)
        close = True
    elif isinstance(source, str):
        fh = io.StringIO(source)
        close = False
    else:
        fh = source
        close = False
    try:
        sample = fh.read(4096)
        fh.seek(0)
        reader = csv.DictReader(fh, dialect=sniff(sample))
        for row in reader:
            yield {k: (coerce(v) if types and isinstance(v, str) else v) for k, v in row.items()}
    finally:
        if close:
            fh.close()
