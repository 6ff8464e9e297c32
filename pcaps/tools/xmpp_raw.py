#!/usr/bin/python3
"""Scripted XMPP client on raw sockets, to drive prosody with openings no library sends.

usage: xmpp_raw.py MODE HOST PORT [--style S] [--chunk N] [--split-decl] [--protocol P]
MODE  stream     : c2s over TCP without TLS; the stream header in --style, written in
                   pieces of --chunk bytes (0: one write) and/or with the XML declaration
                   in its own write (--split-decl); every write is its own segment
                   (TCP_NODELAY and a pause between writes)
      bosh       : XEP-0124/0206 over HTTP POST /http-bind; each request's headers and
                   body are separate writes, as browsers send them
      websocket  : RFC 7395 over ws:// GET /xmpp-websocket with subprotocol --protocol
                   (default xmpp; another value is the look-alike prosody refuses)
STYLE single     : <?xml version='1.0'?><stream:stream ... single quotes
      double     : double quotes, encoding in the declaration
      prefix     : the streams namespace bound to the prefix "ss", newlines, tabs and
                   spaces around "=", attributes in another order
alice@example.test (password secret-alice) authenticates with SASL PLAIN, binds a
resource, sends presence and a chat message to bob@example.test, and closes.  Every
socket operation has a timeout.
"""
import argparse, base64, os, socket, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("mode", choices=["stream", "bosh", "websocket"])
ap.add_argument("host"); ap.add_argument("port", type=int)
ap.add_argument("--style", choices=["single", "double", "prefix"], default="single")
ap.add_argument("--chunk", type=int, default=0)
ap.add_argument("--split-decl", action="store_true")
ap.add_argument("--protocol", default="xmpp")
a = ap.parse_args()

DOMAIN = "example.test"
PLAIN = base64.b64encode(b"\0alice\0secret-alice").decode()
SASL = f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{PLAIN}</auth>"
BIND = ("<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
        "<resource>raw</resource></bind></iq>")
MSG = ("<message to='bob@example.test' type='chat' id='m1'>"
       "<body>Hello Bob, this stream opened in pieces.</body></message>")


def connect():
    s = socket.create_connection((a.host, a.port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def write(s, data, pause=0.05):
    s.sendall(data.encode() if isinstance(data, str) else data)
    time.sleep(pause)


def read_until(s, marker, buf=b""):
    deadline = time.time() + 10
    while marker.encode() not in buf:
        if time.time() > deadline:
            sys.exit(f"timeout waiting for {marker!r}; got {buf[-200:]!r}")
        chunk = s.recv(65536)
        if not chunk:
            sys.exit(f"closed waiting for {marker!r}; got {buf[-200:]!r}")
        buf += chunk
    return buf


def header():
    if a.style == "double":
        return ('<?xml version="1.0" encoding="UTF-8"?>',
                f'<stream:stream to="{DOMAIN}" version="1.0" xml:lang="en" '
                'xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams">',
                "</stream:stream>")
    if a.style == "prefix":
        return ("<?xml version='1.0' ?>\n",
                "<ss:stream\n\txmlns:ss = 'http://etherx.jabber.org/streams'\n\t"
                f"xmlns='jabber:client'  version = '1.0'  to='{DOMAIN}'  xml:lang='en'>",
                "</ss:stream>")
    return ("<?xml version='1.0'?>",
            f"<stream:stream xmlns:stream='http://etherx.jabber.org/streams' "
            f"xmlns='jabber:client' to='{DOMAIN}' version='1.0'>",
            "</stream:stream>")


def stream():
    decl, head, close = header()
    s = connect()
    first = [decl, head] if a.split_decl else [decl + head]
    for part in first:
        if a.chunk > 0:
            for i in range(0, len(part), a.chunk):
                write(s, part[i:i + a.chunk], 0.02)
        else:
            write(s, part)
    buf = read_until(s, "</stream:features>")
    write(s, SASL)
    buf = read_until(s, "<success", buf)
    write(s, decl + head)  # the stream restart after SASL, one write
    buf = read_until(s, "bind", buf)
    buf = read_until(s, "</stream:features>", buf)
    write(s, BIND)
    buf = read_until(s, "bind1", buf)
    write(s, "<presence/>")
    write(s, MSG, 0.5)
    write(s, close)
    try:
        read_until(s, "</stream:stream>", b"")
    except SystemExit:
        pass
    s.close()
    print("stream session done")


def http_post(s, path, body):
    head = (f"POST {path} HTTP/1.1\r\nHost: {DOMAIN}:{a.port}\r\n"
            "Content-Type: text/xml; charset=utf-8\r\n"
            f"Content-Length: {len(body.encode())}\r\nConnection: keep-alive\r\n\r\n")
    write(s, head)
    write(s, body)
    buf = read_until(s, "\r\n\r\n")
    hdr, _, rest = buf.partition(b"\r\n\r\n")
    length = 0
    for line in hdr.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    deadline = time.time() + 10
    while len(rest) < length and time.time() < deadline:
        rest += s.recv(65536)
    return rest.decode(errors="replace")


def bosh():
    s = connect()
    rid = 1573741820
    ns = "xmlns='http://jabber.org/protocol/httpbind'"
    r = http_post(s, "/http-bind",
                  f"<body content='text/xml; charset=utf-8' hold='1' rid='{rid}' to='{DOMAIN}' "
                  f"wait='10' xml:lang='en' ver='1.6' xmpp:version='1.0' {ns} "
                  "xmlns:xmpp='urn:xmpp:xbosh'/>")
    sid = r.split("sid='")[1].split("'")[0] if "sid='" in r else r.split('sid="')[1].split('"')[0]
    def req(payload, extra=""):
        nonlocal rid
        rid += 1
        return http_post(s, "/http-bind", f"<body rid='{rid}' sid='{sid}' {ns}{extra}>{payload}</body>")
    r = req(SASL.replace("<auth ", "<auth "))
    if "success" not in r:
        sys.exit(f"bosh auth failed: {r}")
    req("", f" to='{DOMAIN}' xml:lang='en' xmpp:restart='true' xmlns:xmpp='urn:xmpp:xbosh'")
    req(BIND.replace("<iq ", "<iq xmlns='jabber:client' "))
    req("<presence xmlns='jabber:client'/>")
    req(MSG.replace("<message ", "<message xmlns='jabber:client' "))
    rid += 1
    http_post(s, "/http-bind", f"<body rid='{rid}' sid='{sid}' type='terminate' {ns}/>")
    s.close()
    print("bosh session done")


def ws_frame(text):
    data = text.encode()
    mask = os.urandom(4)
    n = len(data)
    hdr = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + n.to_bytes(2, "big"))
    return hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def ws_read(s, marker, buf=b""):
    return read_until(s, marker, buf)


def websocket():
    s = connect()
    key = base64.b64encode(os.urandom(16)).decode()
    write(s, f"GET /xmpp-websocket HTTP/1.1\r\nHost: {DOMAIN}:{a.port}\r\nUpgrade: websocket\r\n"
             f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
             f"Sec-WebSocket-Protocol: {a.protocol}\r\nOrigin: http://{DOMAIN}\r\n\r\n")
    buf = read_until(s, "\r\n\r\n")
    if b" 101 " not in buf.split(b"\r\n")[0]:
        print("server refused: " + buf.split(b"\r\n")[0].decode())
        s.close()
        return
    op = f"<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='{DOMAIN}' version='1.0'/>"
    write(s, ws_frame(op))
    buf = ws_read(s, "</stream:features>", buf)
    write(s, ws_frame(SASL))
    buf = ws_read(s, "<success", buf)
    write(s, ws_frame(op))
    buf = ws_read(s, "bind", buf)
    write(s, ws_frame(BIND.replace("<iq ", "<iq xmlns='jabber:client' ")))
    buf = ws_read(s, "bind1", buf)
    write(s, ws_frame("<presence xmlns='jabber:client'/>"))
    write(s, ws_frame(MSG.replace("<message ", "<message xmlns='jabber:client' ")), 0.5)
    write(s, ws_frame("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>"), 0.5)
    s.close()
    print("websocket session done")


{"stream": stream, "bosh": bosh, "websocket": websocket}[a.mode]()
