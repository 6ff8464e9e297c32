# SPDX-License-Identifier: GPL-3.0-or-later
"""Real IM, P2P and web conversations over TCP sockets (and DHT over UDP), for the namespace lab.

  traffic.py serve PORT                  answer every protocol below on PORT (until killed);
                                         on UDP only DHT queries (dht below)
  traffic.py talk KIND HOST PORT [--rounds N] [--timeout S] [--bind ADDR]
                                         play KIND's opening, then N more request/reply
                                         rounds; exit 0 when every reply arrived, 3 when the
                                         connection was blocked (no reply / reset / refused)
  traffic.py hold KIND HOST PORT [--rounds N] [--interval S] [--log FILE] [--bind ADDR]
                                [--keep]
                                         one long-lived connection: the opening (exit 3 when
                                         it gets no reply), then N rounds, one every S
                                         seconds; each round sends a line and waits up to S
                                         for data; FILE gets one line per round:
                                         "round I sent T ok|miss [reply T2]" (T: epoch s),
                                         and "recv T BYTES" for every chunk received;
                                         --keep: an unanswered opening is logged ("opening
                                         unanswered T") and the rounds go on regardless
  traffic.py dht HOST PORT [--rounds N] [--interval S] [--log FILE] [--bind ADDR]
                                         one UDP flow: a BitTorrent DHT ping query (BEP 5)
                                         every S seconds, N times; FILE gets "open T
                                         ADDR:PORT", "round I sent T ok|miss" and "recv T
                                         BYTES" lines like hold's
  traffic.py download HOST PORT [--seconds S] [--bind ADDR] [--steady A B] [--log FILE]
                                         HTTP GET /bulk (the server streams a body), read
                                         for S seconds; prints received bytes and the rate
                                         over [A, B] seconds after the request; FILE gets
                                         "recv T BYTES" for every chunk received

  traffic.py reuse FIRST THEN HOST PORT [--timeout S]
                                         one connection playing FIRST's opening, closed
                                         with a reset as soon as its reply is in, then at
                                         once a second one from the same source port (the
                                         same 5-tuple) playing THEN; exit 0 when THEN got
                                         its replies, 3 when it was blocked, 1 when FIRST
                                         did not pass

`--bind ADDR` picks the client's source address (one of the client namespace's).

The openings are the ones imguard's classifiers recognise on any port: the BitTorrent
peer-wire handshake (BEP 3), an XMPP client stream header (RFC 6120 section 4.2), IRC
registration (RFC 2812 section 3.1) and an HTTP/1.1 GET. The server answers in kind.
"""
import select
import socket
import sys
import threading
import time

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


BULK_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
             b"Content-Length: 100000000000\r\n\r\n")


def serve_bulk(conn):
    """An endless HTTP body, until the client goes away."""
    chunk = bytes(16384)
    try:
        conn.sendall(BULK_HEAD)
        while True:
            conn.sendall(chunk)
    except OSError:
        return


def serve_conn(conn):
    with conn:
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            if data.startswith(b"GET /bulk "):
                serve_bulk(conn)
                return
            try:
                conn.sendall(reply_for(data))
            except OSError:
                return


def krpc_ping(tid):
    return (b"d1:ad2:id20:" + bytes(range(20)) + b"e1:q4:ping1:t" + str(len(tid)).encode() +
            b":" + tid + b"1:y1:qe")


def krpc_reply_for(data):
    """The KRPC response to a query (same transaction id), or None."""
    at = data.find(b"1:t")
    if not data.startswith(b"d1:a") or at < 0:
        return None
    colon = data.find(b":", at + 3)
    if colon < 0 or not data[at + 3:colon].isdigit():
        return None
    tid = data[colon + 1:colon + 1 + int(data[at + 3:colon])]
    return (b"d1:rd2:id20:" + bytes(range(20, 40)) + b"e1:t" + str(len(tid)).encode() + b":" +
            tid + b"1:y1:re")


def serve_udp(port):
    """UDP on the same port: DHT queries get a KRPC response; anything else is ignored."""
    srv = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    srv.bind(("::", port))
    while True:
        data, peer = srv.recvfrom(65536)
        reply = krpc_reply_for(data)
        if reply:
            srv.sendto(reply, peer)


def dht(host, port, rounds, interval, log, bind):
    out = open(log, "a", buffering=1) if log else sys.stdout
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((bind or "0.0.0.0", 0))
    sock.connect((host, port))
    print(f"open {time.time():.3f} {sock.getsockname()[0]}:{sock.getsockname()[1]}", file=out)
    for i in range(rounds):
        sent = time.time()
        try:
            sock.send(krpc_ping(b"%02x" % (i % 256)))
        except OSError:
            pass  # ICMP errors from earlier rounds; the next round tries again
        first = None
        deadline = sent + interval
        while (left := deadline - time.time()) > 0:
            ready, _, _ = select.select([sock], [], [], left)
            if not ready:
                continue
            try:
                data = sock.recv(65536)
            except OSError:
                continue
            now = time.time()
            print(f"recv {now:.3f} {len(data)}", file=out)
            first = first or now
        print(f"round {i} sent {sent:.3f} " + ("ok" if first else "miss"), file=out)
    print(f"done {time.time():.3f}", file=out)
    return 0


def serve(port):
    threading.Thread(target=serve_udp, args=(port,), daemon=True).start()
    srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("::", port))
    srv.listen(128)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve_conn, args=(conn,), daemon=True).start()


def connect(host, port, timeout, bind):
    source = (bind, 0) if bind else None
    return socket.create_connection((host, port), timeout=timeout, source_address=source)


def talk(kind, host, port, rounds, timeout, bind=None):
    try:
        sock = connect(host, port, timeout, bind)
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


def exchange(sock, kind):
    """Plays KIND's opening on SOCK; True when every message got a reply."""
    try:
        for m in OPENINGS[kind]:
            sock.sendall(m)
            if not sock.recv(65536):
                return False
    except OSError:
        return False
    return True


def open_from(host, port, source_port, timeout):
    """A TCP connection from SOURCE_PORT (0: any; a port just reset may be taken again):
    (socket, None), or (None, the error)."""
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.settimeout(timeout)
    try:
        s.bind(("", source_port))
        s.connect((host, port))
    except OSError as e:
        s.close()
        return None, e
    return s, None


def reuse(first, then, host, port, timeout):
    a, err = open_from(host, port, 0, timeout)
    if a is None:
        print(f"{first} {host}:{port} failed (connect: {err})")
        return 1
    source = a.getsockname()[1]
    ok = exchange(a, first)
    # A reset frees the source port at once (no TIME_WAIT) and leaves conntrack's entry
    # in CLOSE, which the next SYN on the same 5-tuple replaces with a new connection.
    a.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    a.close()
    if not ok:
        print(f"{first} {host}:{port} did not pass")
        return 1
    b, err = open_from(host, port, source, timeout)
    if b is None:
        print(f"{then} {host}:{port} from port {source} blocked (connect: {err})")
        return 3
    ok = exchange(b, then)
    b.close()
    print(f"{then} {host}:{port} from port {source} after {first}: "
          f"{'passed' if ok else 'blocked'}")
    return 0 if ok else 3


def hold(kind, host, port, rounds, interval, log, bind, keep=False):
    out = open(log, "a", buffering=1) if log else sys.stdout
    try:
        sock = connect(host, port, 3.0, bind)
    except OSError as e:
        print(f"opening failed {time.time():.3f} {e}", file=out)
        return 3
    try:
        sock.settimeout(3.0)
        for m in OPENINGS[kind]:
            sock.sendall(m)
            if not sock.recv(65536):
                raise OSError("closed during the opening")
    except socket.timeout:
        if not keep:
            print(f"opening failed {time.time():.3f} timed out", file=out)
            return 3
        print(f"opening unanswered {time.time():.3f}", file=out)
    except OSError as e:
        print(f"opening failed {time.time():.3f} {e}", file=out)
        return 3
    print(f"open {time.time():.3f} {sock.getsockname()[0]}:{sock.getsockname()[1]}", file=out)
    sock.setblocking(False)
    closed = False
    for i in range(rounds):
        sent = time.time()
        try:
            sock.send(b"ping %d\r\n" % i)
        except BlockingIOError:
            pass  # the send buffer is full (blocked for long); the round can still see data
        except OSError as e:
            print(f"closed {time.time():.3f} {e}", file=out)
            closed = True
            break
        deadline = sent + interval
        first = None
        while True:
            left = deadline - time.time()
            if left <= 0:
                break
            ready, _, _ = select.select([sock], [], [], left)
            if not ready:
                continue
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError as e:
                print(f"closed {time.time():.3f} {e}", file=out)
                closed = True
                break
            if not data:
                print(f"closed {time.time():.3f} eof", file=out)
                closed = True
                break
            now = time.time()
            print(f"recv {now:.3f} {len(data)}", file=out)
            if first is None:
                first = now
        if closed:
            break
        if first is None:
            print(f"round {i} sent {sent:.3f} miss", file=out)
        else:
            print(f"round {i} sent {sent:.3f} ok reply {first:.3f}", file=out)
    sock.close()
    print(f"done {time.time():.3f}", file=out)
    return 4 if closed else 0


def download(host, port, seconds, bind, steady, log=None):
    out = open(log, "a", buffering=1) if log else None
    try:
        sock = connect(host, port, 3.0, bind)
    except OSError as e:
        print(f"download {host}:{port} blocked (connect: {e})")
        return 3
    sock.settimeout(0.5)
    start = time.time()
    sock.sendall(b"GET /bulk HTTP/1.1\r\nHost: server.lab\r\nUser-Agent: lab\r\n"
                 b"Accept: */*\r\n\r\n")
    total = 0
    at_a = at_b = None  # bytes received by start + steady[0], start + steady[1]
    while True:
        now = time.time() - start
        if at_a is None and now >= steady[0]:
            at_a = total
        if at_b is None and now >= steady[1]:
            at_b = total
        if now >= seconds:
            break
        try:
            data = sock.recv(262144)
        except socket.timeout:
            continue
        except OSError:
            break
        if not data:
            break
        total += len(data)
        if out:
            print(f"recv {time.time():.3f} {len(data)}", file=out)
    sock.close()
    if at_a is None or at_b is None:
        print(f"download {host}:{port} ended early: bytes={total}")
        return 3
    span = steady[1] - steady[0]
    rate = (at_b - at_a) * 8 / span
    print(f"download from={bind or '-'} bytes={total} steady_bytes={at_b - at_a} "
          f"steady_s={span:g} steady_bit_s={rate:.0f} avg_bit_s={total * 8 / seconds:.0f}")
    return 0


def options(rest, spec):
    """--name VALUE pairs; spec maps a name to (key, type, arity)."""
    out = {}
    while rest:
        name = rest[0]
        if name not in spec:
            raise SystemExit(f"traffic.py: unknown option {name}\n{__doc__}")
        key, conv, n = spec[name]
        vals = [conv(v) for v in rest[1:1 + n]]
        if len(vals) != n:
            raise SystemExit(f"traffic.py: {name} needs {n} value(s)")
        out[key] = vals[0] if n == 1 else vals
        rest = rest[1 + n:]
    return out


def main(argv):
    if len(argv) >= 5 and argv[1] == "hold" and argv[2] in OPENINGS:
        o = options(argv[5:], {"--rounds": ("rounds", int, 1), "--interval": ("interval", float, 1),
                               "--log": ("log", str, 1), "--bind": ("bind", str, 1),
                               "--keep": ("keep", str, 0)})
        return hold(argv[2], argv[3], int(argv[4]), o.get("rounds", 100),
                    o.get("interval", 0.1), o.get("log"), o.get("bind"), "keep" in o)
    if len(argv) >= 4 and argv[1] == "dht":
        o = options(argv[4:], {"--rounds": ("rounds", int, 1), "--interval": ("interval", float, 1),
                               "--log": ("log", str, 1), "--bind": ("bind", str, 1)})
        return dht(argv[2], int(argv[3]), o.get("rounds", 100), o.get("interval", 0.5),
                   o.get("log"), o.get("bind"))
    if len(argv) >= 4 and argv[1] == "download":
        o = options(argv[4:], {"--seconds": ("seconds", float, 1), "--bind": ("bind", str, 1),
                               "--steady": ("steady", float, 2), "--log": ("log", str, 1)})
        seconds = o.get("seconds", 10.0)
        return download(argv[2], int(argv[3]), seconds, o.get("bind"),
                        o.get("steady", [min(2.0, seconds / 2), seconds]), o.get("log"))

    if len(argv) >= 6 and argv[1] == "reuse" and argv[2] in OPENINGS and argv[3] in OPENINGS:
        o = options(argv[6:], {"--timeout": ("timeout", float, 1)})
        return reuse(argv[2], argv[3], argv[4], int(argv[5]), o.get("timeout", 2.0))
    if len(argv) >= 3 and argv[1] == "serve":
        serve(int(argv[2]))
        return 0
    if len(argv) >= 5 and argv[1] == "talk" and argv[2] in OPENINGS:
        o = options(argv[5:], {"--rounds": ("rounds", int, 1), "--timeout": ("timeout", float, 1),
                               "--bind": ("bind", str, 1)})
        return talk(argv[2], argv[3], int(argv[4]), o.get("rounds", 0), o.get("timeout", 3.0),
                    o.get("bind"))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
