# SPDX-License-Identifier: GPL-3.0-or-later
"""Gnutella 0.6 and Mojito DHT message builders for the synthetic captures in
pcaps/gnutella/ (no Gnutella client is packaged in Debian 12). Written from the Gnutella
0.6 RFC draft (message header and payloads), GGEP 0.51 (extension blocks), the Query
Routing Protocol, LimeWire's vendor-message convention and LimeWire's Mojito message
format (Gnutella header with payload type 0x44 "DHT" and the message version where TTL and
hops would be; then op code, vendor, version, node id, contact address, instance id,
flags, extended header, body; Mojito fields are big-endian, the Gnutella length field
little-endian)."""
import struct

PING, PONG, BYE, ROUTE_TABLE, VENDOR, VENDOR_STD, PUSH, DHT, QUERY, QUERY_HIT = (
    0x00, 0x01, 0x02, 0x30, 0x31, 0x32, 0x40, 0x44, 0x80, 0x81)


def le16(v):
    return struct.pack("<H", v)


def le32(v):
    return struct.pack("<I", v)


def be16(v):
    return struct.pack(">H", v)


def header(guid, kind, ttl, hops, payload):
    """One message: GUID, payload type, TTL, hops, little-endian length, payload."""
    assert len(guid) == 16
    return guid + bytes([kind, ttl, hops]) + le32(len(payload)) + payload


def ggep(extensions):
    """A GGEP block: 0xC3 then (id, data) extensions, the last one flagged."""
    out = b"\xc3"
    for i, (ext_id, data) in enumerate(extensions):
        flags = len(ext_id) | (0x80 if i == len(extensions) - 1 else 0)
        n = len(data)
        if n < 64:
            length = bytes([0x40 | n])
        elif n < 4096:
            length = bytes([0x80 | (n >> 6), 0x40 | (n & 0x3F)])
        else:
            length = bytes([0x80 | (n >> 12), 0x80 | ((n >> 6) & 0x3F), 0x40 | (n & 0x3F)])
        out += bytes([flags]) + ext_id + length + data
    return out


def ipv4(addr):
    return bytes(int(x) for x in addr.split("."))


def pong(port, addr, files, kbytes, ext=b""):
    return le16(port) + ipv4(addr) + le32(files) + le32(kbytes) + ext


def query(text, ext=b"", speed=0x0000):
    return le16(speed) + text + b"\x00" + ext


def query_hit(port, addr, results, servent_id, trailer=b"LIME\x04\x1c\x19\x00"):
    """results: (index, size, name); each with an empty extension block (double NUL)."""
    body = bytes([len(results)]) + le16(port) + ipv4(addr) + le32(1000)
    for index, size, name in results:
        body += le32(index) + le32(size) + name + b"\x00" + b"\x00"
    return body + trailer + servent_id


def push(servent_id, index, addr, port, ext=b""):
    return servent_id + le32(index) + ipv4(addr) + le16(port) + ext


def vendor(code, selector, version, body=b""):
    return code + le16(selector) + le16(version) + body


def qrp_reset(table=65536, infinity=7):
    return b"\x00" + le32(table) + bytes([infinity])


def qrp_patch(seq, size, data, compressor=1, bits=4):
    return bytes([1, seq, size, compressor, bits]) + data


def bye(code, reason):
    return le16(code) + reason + b"\x00"


# --- Mojito ---------------------------------------------------------------------------

def sockaddr(addr, port):
    return b"\x04" + ipv4(addr) + be16(port)


def contact(kuid, addr, port, vendor_code=b"LIME", version=0x0000):
    return vendor_code + be16(version) + kuid + sockaddr(addr, port)


def mojito(guid, opcode, node, addr, port, body, instance=1, flags=0x01):
    """A whole Mojito datagram: Gnutella header (type 0x44, message version 0.0) and the
    Mojito header of the sending node, then the op code's body."""
    payload = bytes([opcode]) + contact(node, addr, port) + bytes([instance, flags]) + be16(0)
    return guid + bytes([DHT, 0, 0]) + le32(len(payload) + len(body)) + payload + body


def entity(creator, primary_key, value_type, data, version=0x0000):
    return creator + primary_key + value_type + be16(version) + be16(len(data)) + data
