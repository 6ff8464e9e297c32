#!/usr/bin/python3
"""One libtorrent (python3-libtorrent, the qBittorrent/Deluge engine) peer.

usage: lt_peer.py --listen IP:PORT --save DIR [--torrent FILE | --magnet URI | --dht-only]
                  [--enc plain|rc4|any] [--transport tcp|utp|both] [--dht] [--lsd]
                  [--bootstrap IP:PORT,...] [--peer IP:PORT] [--time SECS] [--exit-when-done]
                  [--user-agent UA] [--http-seed URL]
Runs for at most --time seconds; prints progress.  All addresses are lab addresses.
--user-agent "" keeps libtorrent's own default ("libtorrent/<version>"); --http-seed adds a
BEP 17 (Hoffman-style) HTTP seed to the torrent (BEP 19 web seeds come from the torrent's
url-list).
"""
import argparse, sys, time, warnings
warnings.simplefilter("ignore", DeprecationWarning)
import libtorrent as lt

ap = argparse.ArgumentParser()
ap.add_argument("--listen", required=True); ap.add_argument("--save", default=".")
ap.add_argument("--torrent"); ap.add_argument("--magnet"); ap.add_argument("--dht-only", action="store_true")
ap.add_argument("--enc", default="plain", choices=["plain", "rc4", "any"])
ap.add_argument("--transport", default="both", choices=["tcp", "utp", "both"])
ap.add_argument("--dht", action="store_true"); ap.add_argument("--lsd", action="store_true")
ap.add_argument("--bootstrap", default=""); ap.add_argument("--peer")
ap.add_argument("--time", type=float, default=40); ap.add_argument("--exit-when-done", action="store_true")
ap.add_argument("--user-agent", default="lab-libtorrent/" + lt.__version__); ap.add_argument("--http-seed")
a = ap.parse_args()

tcp = a.transport in ("tcp", "both"); utp = a.transport in ("utp", "both")
pe = lt.enc_policy
if a.enc == "plain":
    pol, level = pe.disabled, lt.enc_level.plaintext
elif a.enc == "rc4":
    pol, level = pe.forced, lt.enc_level.rc4
else:
    pol, level = pe.enabled, lt.enc_level.both
s = {
    "listen_interfaces": a.listen,
    "enable_dht": a.dht, "enable_lsd": a.lsd, "enable_upnp": False, "enable_natpmp": False,
    "dht_bootstrap_nodes": a.bootstrap,
    "enable_outgoing_tcp": tcp, "enable_incoming_tcp": tcp,
    "enable_outgoing_utp": utp, "enable_incoming_utp": utp,
    "out_enc_policy": int(pol), "in_enc_policy": int(pol), "allowed_enc_level": int(level),
    "prefer_rc4": a.enc == "rc4",
    "dht_restrict_routing_ips": False, "dht_restrict_search_ips": False,
    "dht_prefer_verified_node_ids": False, "dht_ignore_dark_internet": False,
    "allow_multiple_connections_per_ip": True,
    "announce_to_all_trackers": True, "local_service_announce_interval": 5,
    "alert_mask": lt.alert.category_t.status_notification | lt.alert.category_t.error_notification
                  | lt.alert.category_t.peer_notification,
}
if a.user_agent:
    s["user_agent"] = a.user_agent
ses = lt.session(s)
h = None
if a.torrent:
    p = lt.add_torrent_params(); p.ti = lt.torrent_info(a.torrent); p.save_path = a.save
    h = ses.add_torrent(p)
elif a.magnet:
    p = lt.parse_magnet_uri(a.magnet); p.save_path = a.save
    h = ses.add_torrent(p)
if h is not None and a.http_seed:
    h.add_http_seed(a.http_seed)
if h is not None and a.peer:
    ip, port = a.peer.rsplit(":", 1)
    time.sleep(0.5)
    h.connect_peer((ip.strip("[]"), int(port)))

end = time.time() + a.time
done_at = None
while time.time() < end:
    ses.wait_for_alert(1000)
    for al in ses.pop_alerts():
        if al.category() & lt.alert.category_t.error_notification:
            print("alert:", al.message(), flush=True)
    if h is not None:
        st = h.status()
        print(f"{a.listen} state={st.state} progress={st.progress:.2f} peers={st.num_peers}"
              f" dht_nodes={ses.status().dht_nodes}", flush=True)
        if st.is_seeding and done_at is None and a.exit_when_done and st.total_payload_download > 0:
            done_at = time.time()
            print("download complete", flush=True)
        if done_at and time.time() > done_at + 3:
            break
    else:
        print(f"{a.listen} dht_nodes={ses.status().dht_nodes}", flush=True)
        time.sleep(1)
