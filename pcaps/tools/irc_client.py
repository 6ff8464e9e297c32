#!/usr/bin/python3
"""Minimal scripted IRC client (RFC 1459/2812) used to drive ngircd.

usage: irc_client.py HOST PORT ROLE [--dcc FILE --dcc-ip IP --dcc-port N] [--dcc-chat]
                     [--tls SNI]
ROLE alice: registers, joins #imguard, waits for bob, talks to the channel and to bob,
            optionally offers FILE over DCC SEND (listens on --dcc-port), then quits.
ROLE solo:  registers to a gateway (BitlBee), joins its control channel &bitlbee, asks its
            root user for help and its account list, reads the answers, then quits.
ROLE bob:   registers, joins #imguard, answers alice, accepts a DCC SEND offer
            (connects to the offered ip/port, acknowledges every block), then quits.
--dcc-chat: instead of a file, alice offers a DCC CHAT (listening on --dcc-port), bob
connects and both exchange three lines of text over it.
--pass P: PASS P before NICK/USER (a bouncer login such as ZNC's user/network:password).
--tls SNI: the IRC connection is TLS from the first byte (server certificate not
verified), with SNI as the server name.  All waits are bounded.
"""
import argparse, ipaddress, os, socket, struct, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("host"); ap.add_argument("port", type=int); ap.add_argument("role")
ap.add_argument("--dcc"); ap.add_argument("--dcc-ip"); ap.add_argument("--dcc-port", type=int, default=0)
ap.add_argument("--tls"); ap.add_argument("--dcc-chat", action="store_true")
ap.add_argument("--pass", dest="password")
a = ap.parse_args()
DEADLINE = time.time() + 40
nick = a.role
peer = {"alice": "bob", "bob": "alice"}.get(nick, "root")

fam = socket.AF_INET6 if ":" in a.host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.settimeout(5)
s.connect((a.host, a.port))
if a.tls:
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = ctx.wrap_socket(s, server_hostname=a.tls)
buf = b""

def send(line):
    s.sendall(line.encode() + b"\r\n")

def lines():
    global buf
    while time.time() < DEADLINE:
        while b"\r\n" in buf:
            l, buf = buf.split(b"\r\n", 1)
            l = l.decode(errors="replace")
            if l.startswith("PING"):
                send("PONG" + l[4:]); continue
            yield l
        try:
            d = s.recv(4096)
        except socket.timeout:
            continue
        if not d:
            return
        buf += d
    sys.exit("timeout")

def wait_for(pred):
    for l in lines():
        if pred(l):
            return l
    sys.exit("connection closed")

if a.password:
    send(f"PASS {a.password}")
send(f"NICK {nick}")
send(f"USER {nick} 0 * :{nick.capitalize()} Example")
wait_for(lambda l: l.split()[1:2] == ["001"])
if nick == "solo":
    wait_for(lambda l: l.split()[1:2] == ["JOIN"] or " JOIN " in l)
    for cmd in ("help", "account list", "set"):
        send(f"PRIVMSG &bitlbee :{cmd}")
        wait_for(lambda l: l.startswith(":root!") and " PRIVMSG " in l)
        time.sleep(0.5)
    send("QUIT :done")
    for _ in lines():
        pass
    sys.exit(0)
send("JOIN #imguard")
names = []
wait_for(lambda l: (l.split()[1:2] == ["353"] and names.extend(l.split(":")[2].split())) or l.split()[1:2] == ["366"])

def dcc_send(path, ip, port):
    data = open(path, "rb").read()
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((ip, port)); ls.listen(1); ls.settimeout(15)
    ipnum = int(ipaddress.IPv4Address(ip))
    name = os.path.basename(path)
    send(f"PRIVMSG {peer} :\x01DCC SEND {name} {ipnum} {port} {len(data)}\x01")
    c, _ = ls.accept(); c.settimeout(10)
    off = 0
    while off < len(data):
        blk = data[off:off + 1024]
        c.sendall(blk); off += len(blk)
        acked = 0
        while acked < off:  # classic DCC: wait for the 32-bit ack of bytes received so far
            r = c.recv(4)
            if len(r) < 4:
                break
            acked = struct.unpack("!I", r)[0]
    c.close(); ls.close()

def dcc_recv(offer):
    body = offer.split("\x01")[1].split()
    _, _, name, ipnum, port, size = body[:6]
    ip = str(ipaddress.IPv4Address(int(ipnum))); port = int(port); size = int(size)
    c = socket.create_connection((ip, port), timeout=10)
    got = 0
    while got < size:
        d = c.recv(4096)
        if not d:
            break
        got += len(d)
        c.sendall(struct.pack("!I", got))
    c.close()
    print(f"received {name}: {got}/{size} bytes")

CHAT_LINES = ["hi bob, this is a direct chat", "no server in between now", "bye for now"]

def chat_lines(c, count):
    got, pending = [], b""
    while len(got) < count and time.time() < DEADLINE:
        d = c.recv(4096)
        if not d:
            break
        pending += d
        while b"\n" in pending:
            l, pending = pending.split(b"\n", 1)
            got.append(l.decode(errors="replace").rstrip("\r"))
    return got

def dcc_chat_offer(ip, port):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((ip, port)); ls.listen(1); ls.settimeout(15)
    send(f"PRIVMSG {peer} :\x01DCC CHAT chat {int(ipaddress.IPv4Address(ip))} {port}\x01")
    c, _ = ls.accept(); c.settimeout(10)
    for line in CHAT_LINES:
        print("alice heard: " + chat_lines(c, 1)[0])
        c.sendall(line.encode() + b"\n"); time.sleep(0.2)
    c.close(); ls.close()

def dcc_chat_accept(offer):
    body = offer.split("\x01")[1].split()
    ip = str(ipaddress.IPv4Address(int(body[3]))); port = int(body[4])
    c = socket.create_connection((ip, port), timeout=10)
    for i in range(len(CHAT_LINES)):
        c.sendall(f"hello alice ({i + 1}), bob here over DCC CHAT\n".encode())
        print("bob heard: " + chat_lines(c, 1)[0])
    c.close()

if nick == "alice":
    if peer not in [n.lstrip("@+") for n in names]:
        wait_for(lambda l: l.startswith(f":{peer}!") and " JOIN " in l)
    send("PRIVMSG #imguard :hello channel, anyone here?")
    send(f"PRIVMSG {peer} :hi bob, this is a private message")
    wait_for(lambda l: l.startswith(f":{peer}!") and f" PRIVMSG {nick} " in l)
    send("TOPIC #imguard :capture test")
    if a.dcc_chat:
        dcc_chat_offer(a.dcc_ip, a.dcc_port)
        wait_for(lambda l: l.startswith(f":{peer}!") and "thanks" in l)
    elif a.dcc:
        dcc_send(a.dcc, a.dcc_ip, a.dcc_port)
        wait_for(lambda l: l.startswith(f":{peer}!") and "thanks" in l)
    send("PART #imguard :bye")
    send("QUIT :done")
else:
    wait_for(lambda l: l.startswith(f":{peer}!") and f" PRIVMSG {nick} " in l)
    send(f"PRIVMSG {peer} :hello alice, got your message")
    send("PRIVMSG #imguard :bob says hi to the channel")
    if a.dcc_chat:
        dcc_chat_accept(wait_for(lambda l: "\x01DCC CHAT" in l))
        send(f"PRIVMSG {peer} :thanks for the chat")
    elif a.dcc:
        offer = wait_for(lambda l: "\x01DCC SEND" in l)
        dcc_recv(offer)
        send(f"PRIVMSG {peer} :thanks for the file")
    wait_for(lambda l: l.startswith(f":{peer}!") and (" QUIT " in l or " PART " in l))
    send("QUIT :bye")
for _ in lines():
    pass
s.close()
