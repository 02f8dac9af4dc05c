#!/usr/bin/python3
# The independent oracle for tunnel_test.cc: scapy 2.5 (Debian python3-scapy) builds the
# encapsulated frames from their fields; the hex it prints is pinned in the tests.
# Usage: /usr/bin/python3 tests/unit/stack/tunnel_oracle.py
from scapy.all import Ether, IP, ICMP, UDP
from scapy.layers.l2 import GRE
from scapy.layers.vxlan import VXLAN


def h(p):
    return bytes(p).hex()


GW = dict(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
inner = IP(src="198.51.100.2", dst="203.0.113.5", ttl=63, id=0x1234, flags="DF") / \
    ICMP(type=8, id=7, seq=1) / b"vnet"
print("ipip", h(Ether(**GW) / IP(src="192.0.2.1", dst="192.0.2.2", ttl=64, id=1, flags="DF",
                                 proto=4) / inner))
for seq in (0, 1):
    gre = GRE(chksum_present=1, key_present=1, seqnum_present=1, key=6289,
              seqence_number=seq, proto=0x0800)
    print("gre%d" % seq, h(Ether(**GW) / IP(src="192.0.2.1", dst="192.0.2.2", ttl=64, id=1 + seq,
                                            flags="DF", proto=47) / gre / inner))
# VXLAN: the UDP source port is vnet's own flow hash (any port in the range is valid).
frame = Ether(dst="02:00:00:00:0a:02", src="02:00:00:00:0a:01") / \
    IP(src="198.51.100.2", dst="10.10.0.2", ttl=63, id=0x1234, flags="DF") / \
    ICMP(type=8, id=7, seq=1) / b"vnet"
print("vxlan", h(Ether(**GW) / IP(src="192.0.2.1", dst="192.0.2.2", ttl=64, id=1, flags=0) /
                 UDP(sport=53532, dport=4789) / VXLAN(vni=42, flags=0x08) / frame))
