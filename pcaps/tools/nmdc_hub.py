#!/usr/bin/python3
"""A minimal NMDC hub for the capture lab (Debian 12 packages no NMDC hub).

Speaks the hub side of the NMDC protocol as documented in the NMDC protocol wiki
(nmdc.sourceforge.io): "$Lock EXTENDEDPROTOCOL... Pk=...|" on connect, "$Hello <nick>|" after
"$ValidateNick", "$MyINFO" broadcast to every user, "$NickList", and relaying of
"$Search" (to everyone), "$ConnectToMe"/"$RevConnectToMe" and "$SR" (to the named user),
"$To:" private messages and main chat. No keys are checked, no registration: a lab tool.
Usage: nmdc_hub.py ADDRESS PORT
"""
import selectors
import socket
import sys

HUB_NAME = "lab hub"


class User:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.nick = None
        self.info = None


def main():
    addr, port = sys.argv[1], int(sys.argv[2])
    sel = selectors.DefaultSelector()
    lsock = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((addr, port))
    lsock.listen(16)
    sel.register(lsock, selectors.EVENT_READ)
    users = {}  # socket -> User

    def send(u, text):
        try:
            u.sock.sendall(text.encode("utf-8", "replace"))
        except OSError:
            pass

    def by_nick(nick):
        return next((u for u in users.values() if u.nick == nick), None)

    def broadcast(text, skip=None):
        for u in list(users.values()):
            if u.nick is not None and u is not skip:
                send(u, text)

    def handle(u, cmd):
        if cmd.startswith("$ValidateNick "):
            nick = cmd[len("$ValidateNick "):]
            if by_nick(nick) is not None or not nick or " " in nick or "$" in nick:
                send(u, "$ValidateDenide %s|" % nick)
                return
            u.nick = nick
            send(u, "$HubName %s|$Hello %s|" % (HUB_NAME, nick))
        elif u.nick is None:
            return  # $Supports, $Key: accepted without checks
        elif cmd == "$GetNickList":
            nicks = [x.nick for x in users.values() if x.nick]
            send(u, "$NickList %s$$|" % "$$".join(nicks))
            for x in users.values():
                if x.info:
                    send(u, x.info + "|")
        elif cmd.startswith("$MyINFO $ALL "):
            u.info = cmd
            broadcast(cmd + "|")
        elif cmd.startswith("$Search "):
            broadcast(cmd + "|", skip=u)
        elif cmd.startswith("$ConnectToMe ") or cmd.startswith("$RevConnectToMe "):
            parts = cmd.split(" ")
            target = by_nick(parts[1] if cmd.startswith("$C") else parts[2])
            if target is not None:
                send(target, cmd + "|")
        elif cmd.startswith("$SR "):
            head, _, target = cmd.rpartition("\x05")
            t = by_nick(target)
            if t is not None:
                send(t, head + "|")
        elif cmd.startswith("$To: "):
            t = by_nick(cmd.split(" ")[1])
            if t is not None:
                send(t, cmd + "|")
        elif cmd.startswith("<"):
            broadcast(cmd + "|")

    def drop(u):
        sel.unregister(u.sock)
        u.sock.close()
        del users[u.sock]
        if u.nick:
            broadcast("$Quit %s|" % u.nick)

    while True:
        for key, _ in sel.select(timeout=1):
            if key.fileobj is lsock:
                s, _ = lsock.accept()
                u = User(s)
                users[s] = u
                sel.register(s, selectors.EVENT_READ)
                send(u, "$Lock EXTENDEDPROTOCOL_labhub Pk=labhub|")
                continue
            u = users[key.fileobj]
            try:
                data = u.sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                drop(u)
                continue
            u.buf += data
            while b"|" in u.buf:
                raw, u.buf = u.buf.split(b"|", 1)
                handle(u, raw.decode("utf-8", "replace"))


if __name__ == "__main__":
    main()
