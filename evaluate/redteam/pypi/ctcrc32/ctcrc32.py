"""CRC-32C (Castagnoli) in pure Python, table driven."""

_POLY = 0x82F63B78


def _table():
    t = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ _POLY if c & 1 else c >> 1
        t.append(c)
    return t


_TABLE = _table()


def crc32c(data, crc=0):
    """Return the CRC-32C of data (bytes), continuing from crc."""
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


__all__ = ["crc32c"]
