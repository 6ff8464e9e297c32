#!/usr/bin/python3
"""Scripted XMPP client (slixmpp) used to drive prosody.

usage: xmpp_client.py ROLE HOST PORT MODE [--file PATH]
ROLE  alice | bob   (alice@example.test/lab, bob@example.test/desk; password "secret-<role>")
MODE  starttls   : STARTTLS required, self-signed server certificate accepted
      plain      : no STARTTLS, SASL PLAIN over the unencrypted stream
      directtls  : TLS from the first byte (XEP-0368), SNI example.test, ALPN from --alpn
                   (comma-separated; empty: no ALPN extension)
alice sends chat messages to bob and waits for his answers; with --file she then
sends the file through the server's XEP-0065 SOCKS5 proxy (mod_proxy65).
bob answers each message and receives the bytestream.  Everything is time-bounded.
"""
import argparse, asyncio, logging, ssl, sys
import slixmpp

ap = argparse.ArgumentParser()
ap.add_argument("role"); ap.add_argument("host"); ap.add_argument("port", type=int)
ap.add_argument("mode", choices=["starttls", "plain", "directtls"]); ap.add_argument("--file")
ap.add_argument("--alpn", default="")
a = ap.parse_args()
logging.basicConfig(level=logging.WARNING)

ME = {"alice": "alice@example.test/lab", "bob": "bob@example.test/desk"}[a.role]
PEER = {"alice": "bob@example.test/desk", "bob": "alice@example.test/lab"}[a.role]
MSGS = ["Hi Bob, are you there?", "Let's test the chat through prosody.", "Sending you a file soon."]


class Client(slixmpp.ClientXMPP):
    def __init__(self):
        super().__init__(ME, "secret-" + a.role)
        self.replies = 0
        self.received = 0
        self.s5_bytes = 0
        self.done = asyncio.Event()
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("socks5_data", self.on_s5_data)
        self.add_event_handler("socks5_closed", self.on_s5_closed)
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0199")
        if a.file:
            self.register_plugin("xep_0065", {"auto_accept": True})
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        if a.alpn:
            self.ssl_context.set_alpn_protocols(a.alpn.split(","))
        if a.mode == "plain":
            self["feature_mechanisms"].unencrypted_plain = True
            self["feature_mechanisms"].use_mech = "PLAIN"

    async def start(self, _):
        self.send_presence()
        await self.get_roster()
        if a.role == "alice":
            await asyncio.sleep(1)
            for m in MSGS:
                self.send_message(mto=PEER, mbody=m, mtype="chat")
                await asyncio.sleep(0.3)

    async def on_message(self, msg):
        if msg["type"] not in ("chat", "normal"):
            return
        print(f"{a.role} got: {msg['body']}")
        if a.role == "bob":
            self.received += 1
            msg.reply(f"Got it ({self.received}): {msg['body']}").send()
            if self.received == len(MSGS) and not a.file:
                self.done.set()
        else:
            self.replies += 1
            if self.replies == len(MSGS):
                if a.file:
                    await self.send_file()
                self.done.set()

    async def send_file(self):
        data = open(a.file, "rb").read()
        sock = await self["xep_0065"].handshake(PEER, timeout=10)
        await sock.write(data)
        await asyncio.sleep(0.5)
        sock.transport.close()
        self.send_message(mto=PEER, mbody=f"file sent ({len(data)} bytes)", mtype="chat")
        await asyncio.sleep(0.5)

    def on_s5_data(self, data):
        self.s5_bytes += len(data)

    def on_s5_closed(self, exc):
        print(f"{a.role} bytestream closed after {self.s5_bytes} bytes")
        if a.role == "bob":
            self.loop.call_later(1.0, self.done.set)


async def main():
    c = Client()
    if a.mode == "directtls":
        c.connect((a.host, a.port), use_ssl=True, disable_starttls=True)
    else:
        c.connect((a.host, a.port), force_starttls=(a.mode == "starttls"), disable_starttls=(a.mode == "plain"))
    try:
        await asyncio.wait_for(c.done.wait(), 30)
    except asyncio.TimeoutError:
        print(f"{a.role}: timeout", file=sys.stderr)
    await asyncio.sleep(0.5)
    c.disconnect()
    await asyncio.sleep(1)

asyncio.run(main())
