# SPDX-License-Identifier: GPL-3.0-or-later
"""Real IM, P2P and web conversations over TCP sockets, for the namespace lab.

  traffic.py serve PORT                  answer every protocol below on PORT (until killed)
  traffic.py talk KIND HOST PORT [--rounds N] [--timeout S]
                                         play KIND's opening, then N more request/reply
                                         rounds; exit 0 when every reply arrived, 3 when the
                                         connection was blocked (no reply / reset / refused)

The openings are the ones imguard's classifiers recognise on any port: the BitTorrent
peer-wire handshake (BEP 3), an XMPP client stream header (RFC 6120 section 4.2), IRC
registration (RFC 2812 section 3.1) and an HTTP/1.1 GET. The server answers in kind.
"""
import socket
import sys
import threading

INFO_HASH = bytes(range(20))
PEER_ID = b"-IG0001-" + b"0123456789ab"
BT_HANDSHAKE = b"\x13BitTorrent protocol" + bytes(8) + INFO_HASH + PEER_ID

OPENINGS = {
    "bittorrent": [BT_HANDSHAKE, b"\x00\x00\x00\x01\x02"],  # handshake, then "interested"
    "xmpp": [
        b"<?xml version='1.0'?><stream:stream to='example.org' xmlns='jabber:client' "
        b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
    ],
    "irc": [b"NICK imguard\r\nUSER imguard 0 * :imguard lab\r\n"],
    "http": [b"GET /index.html HTTP/1.1\r\nHost: server.lab\r\nUser-Agent: lab\r\n"
             b"Accept: */*\r\n\r\n"],
}


def reply_for(data):
    if data.startswith(b"\x13BitTorrent protocol"):
        return b"\x13BitTorrent protocol" + bytes(8) + INFO_HASH + b"-IG0002-" + b"ba9876543210"
    if data.startswith(b"<?xml") or b"<stream:stream" in data:
        return (b"<?xml version='1.0'?><stream:stream from='example.org' id='lab1' "
                b"xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
                b"version='1.0'><stream:features><starttls "
                b"xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>")
    if data.startswith(b"NICK") or data.startswith(b"USER"):
        return (b":irc.lab NOTICE * :*** Looking up your hostname\r\n"
                b":irc.lab 001 imguard :Welcome to the lab IRC network imguard\r\n")
    if data.startswith(b"GET") or data.startswith(b"HEAD"):
        body = b"<html><body>lab</body></html>\n"
        return (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: "
                + str(len(body)).encode() + b"\r\n\r\n" + body)
    return b"ack:" + data[:64]


def serve_conn(conn):
    with conn:
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            try:
                conn.sendall(reply_for(data))
            except OSError:
                return


def serve(port):
    srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("::", port))
    srv.listen(128)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve_conn, args=(conn,), daemon=True).start()


def talk(kind, host, port, rounds, timeout):
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as e:
        print(f"{kind} {host}:{port} blocked (connect: {e})")
        return 3
    sock.settimeout(timeout)
    messages = list(OPENINGS[kind]) + [b"ping %d\r\n" % i for i in range(rounds)]
    try:
        for i, m in enumerate(messages):
            sock.sendall(m)
            if not sock.recv(65536):
                print(f"{kind} {host}:{port} blocked (closed after {i} replies)")
                return 3
    except OSError as e:
        print(f"{kind} {host}:{port} blocked ({e.__class__.__name__} after {i} replies)")
        return 3
    finally:
        sock.close()
    print(f"{kind} {host}:{port} passed ({len(messages)} replies)")
    return 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "serve":
        serve(int(argv[2]))
        return 0
    if len(argv) >= 5 and argv[1] == "talk" and argv[2] in OPENINGS:
        rounds, timeout = 0, 3.0
        rest = argv[5:]
        while rest:
            if rest[0] == "--rounds":
                rounds = int(rest[1])
            elif rest[0] == "--timeout":
                timeout = float(rest[1])
            else:
                break
            rest = rest[2:]
        return talk(argv[2], argv[3], int(argv[4]), rounds, timeout)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
