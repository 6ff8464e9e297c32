#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes whatsapp-files-http.pcap: two plain-HTTP downloads, one from a WhatsApp media host
(Host: mms.whatsapp.net, path /mms/image/..., which nDPI 4.2 reports as WhatsAppFiles, its
sub-protocol for WhatsApp's media connections) and one from a host that only contains that
name (Host: mms.whatsapp.net.example.org, which nDPI's substring match also calls WhatsApp).
imguard reports the first as whatsapp with file_transfer (nDPI's sub-protocol) and the
second as http. Seeded, so a rerun writes the same file. Run from this folder."""
import os, random, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from im_synth import C2S, S2C, tcp_session, write_flows

rng = random.Random(20261201)


def download(host, path):
    body = rng.randbytes(1200)
    req = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: WhatsApp/2.23.20\r\n"
           "Accept: */*\r\n\r\n").encode()
    resp = (b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 1200\r\n\r\n" + body)
    return [(C2S, req), (S2C, resp)]


write_flows("whatsapp-files-http.pcap", [
    tcp_session(("10.41.0.10", 50110), ("10.41.0.20", 80),
                download("mms.whatsapp.net", "/mms/image/Aa0bC1dE2fG3hI4jK5lM6nO7.enc")),
    tcp_session(("10.41.0.10", 50111), ("10.41.0.21", 80),
                download("mms.whatsapp.net.example.org", "/mms/image/photo.jpg"),
                t0=1700000005.0),
])
