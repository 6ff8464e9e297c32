#!/usr/bin/python3
"""Edits a config.xml made by `syncthing generate` for the lab: one folder shared with one
peer at a fixed address, nothing that reaches outside the lab (no global discovery, relays,
NAT traversal, usage or crash reports, upgrades), GUI on loopback, local discovery as asked.

usage: syncthing_conf.py CONFIG LISTEN PEER_ID PEER_ADDR FOLDER_PATH LOCAL_DISCOVERY(0|1)
"""
import sys
import xml.etree.ElementTree as ET

cfg, listen, peer_id, peer_addr, folder_path, local = sys.argv[1:7]
tree = ET.parse(cfg)
root = tree.getroot()
own = root.find("device").get("id")
opts = root.find("options")
settings = {
    "listenAddress": listen, "globalAnnounceEnabled": "false",
    "localAnnounceEnabled": "true" if local == "1" else "false",
    "relaysEnabled": "false", "natEnabled": "false", "startBrowser": "false",
    "urAccepted": "-1", "crashReportingEnabled": "false", "autoUpgradeIntervalH": "0",
    "stunServer": "", "announceLANAddresses": "true", "reconnectionIntervalS": "5",
}
for k, v in settings.items():
    opts.find(k).text = v
root.find("gui").find("address").text = "127.0.0.1:8384"
dev = ET.SubElement(root, "device", id=peer_id, name="peer", compression="metadata",
                    introducer="false", skipIntroductionRemovals="false", introducedBy="")
ET.SubElement(dev, "address").text = peer_addr
ET.SubElement(dev, "paused").text = "false"
ET.SubElement(dev, "autoAcceptFolders").text = "false"
folder = ET.SubElement(root, "folder", id="lab-docs", label="lab-docs", path=folder_path,
                       type="sendreceive", rescanIntervalS="5", fsWatcherEnabled="false",
                       ignorePerms="false", autoNormalize="true")
ET.SubElement(folder, "filesystemType").text = "basic"
for d in (own, peer_id):
    ET.SubElement(folder, "device", id=d, introducedBy="")
ET.SubElement(folder, "minDiskFree", unit="%").text = "0"
tree.write(cfg)
