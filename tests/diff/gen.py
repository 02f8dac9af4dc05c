"""Random configuration generator for the vnet-vs-kernel differential test.

A configuration is a list of shell-like command lines (``ip ...``,
``sysctl -w``, ``echo V > /proc/sys/...``, ``echo "N name" >>
/etc/iproute2/rt_tables``, net-tools ``route``) that starts from a fresh
network namespace, followed by random ``ip route get`` queries and a fixed
set of state dumps.

The generator keeps an *approximate* model of the namespace (interfaces,
addresses, routes, rules, tables) so that most lines are valid; every line
carries the outcome the generator expects (``ok``, ``fail`` or ``any``).
The expectation is only used by ``kernel_diff.py --kernel-only`` to tune
the mix; the differential comparison never looks at it.

Everything is drawn from one ``random.Random`` so a (seed, index) pair
always yields the same configuration.
"""

from __future__ import annotations

import dataclasses
import random
import re
from typing import Callable, Optional

# ----------------------------------------------------------------------------
# IPv4 helpers (ints <-> dotted quads)
# ----------------------------------------------------------------------------


def ip2s(v: int) -> str:
    return "%d.%d.%d.%d" % ((v >> 24) & 255, (v >> 16) & 255, (v >> 8) & 255, v & 255)


def s2ip(s: str) -> int:
    a, b, c, d = (int(x) for x in s.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d


def mask(plen: int) -> int:
    return 0 if plen == 0 else (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF


def netof(ip: int, plen: int) -> int:
    return ip & mask(plen)


def bcastof(ip: int, plen: int) -> int:
    return netof(ip, plen) | (~mask(plen) & 0xFFFFFFFF)


def pfx(net: int, plen: int) -> str:
    """Prefix as ip(8) prints it in a command (always with /len)."""
    return "%s/%d" % (ip2s(net), plen)


def in_net(ip: int, net: int, plen: int) -> bool:
    return netof(ip, plen) == net


# ----------------------------------------------------------------------------
# Output records
# ----------------------------------------------------------------------------


@dataclasses.dataclass
class Line:
    text: str
    kind: str  # e.g. "route-add:unicast", "fail:dup-route", "dump:route"
    expect: str = "ok"  # "ok" | "fail" | "any"


@dataclasses.dataclass
class Config:
    seed: int
    index: int
    lines: list  # list[Line]: configuration lines (first is `ip link set lo up`)
    queries: list  # list[Line]: ip route get queries
    dumps: list  # list[Line]: state dumps compared after the configuration

    def all_lines(self):
        return self.lines + self.queries + self.dumps


# The state dumps compared after every configuration.
DUMPS = [
    "ip -j route show table all",
    "ip route show table all",
    "ip -j rule show",
    "ip rule show",
    "ip -j addr show",
    "ip -j link show",
    "ip link show",
    "ip neigh show",
]

# ----------------------------------------------------------------------------
# Approximate model of the namespace
# ----------------------------------------------------------------------------


@dataclasses.dataclass
class Addr:
    ip: int
    plen: int
    dev: str
    peer: Optional[int] = None
    scope: str = "global"

    @property
    def net(self) -> int:  # the connected prefix this address creates
        return netof(self.peer if self.peer is not None else self.ip, self.plen)

    def spec(self) -> str:  # as used by `ip addr del`
        if self.peer is not None:
            return "%s peer %s/%d" % (ip2s(self.ip), ip2s(self.peer), self.plen)
        return "%s/%d" % (ip2s(self.ip), self.plen)


@dataclasses.dataclass
class Iface:
    name: str
    kind: str  # "lo" | "veth" | "dummy"
    peer: Optional[str] = None
    up: bool = False
    mtu: int = 1500


@dataclasses.dataclass
class Route:
    table: int
    type: str
    prefix: str  # "a.b.c.d/len"
    tos: int = 0
    metric: int = 0
    nhs: tuple = ()  # tuple of (gw or None, dev or None)
    src: Optional[str] = None

    @property
    def key(self):
        return (self.table, self.prefix, self.tos, self.metric)


@dataclasses.dataclass
class Rule:
    pref: int
    sel: str  # selector text (without pref)
    action: str  # action text
    table: Optional[int] = None


TYPES_LOCAL_TABLE = ("local", "broadcast", "anycast", "nat")


class Model:
    def __init__(self):
        self.ifaces: dict[str, Iface] = {"lo": Iface("lo", "lo", up=False, mtu=65536)}
        self.addrs: list[Addr] = [Addr(s2ip("127.0.0.1"), 8, "lo", scope="host")]
        self.routes: list[Route] = []
        self.rules: list[Rule] = [
            Rule(0, "", "lookup local", 255),
            Rule(32766, "", "lookup main", 254),
            Rule(32767, "", "lookup default", 253),
        ]
        self.tables: dict[str, int] = {}  # names defined in rt_tables -> id
        self.table_ids: set[int] = {254, 255}  # tables that exist in the kernel
        self.neighs: set[tuple] = set()  # (ip, dev)
        self.flushed: set[tuple] = set()  # connected prefixes (net, plen, dev) removed by a flush
        self.fwmarks: list[int] = []
        self.toses: list[int] = []

    # ---- interfaces
    def carrier(self, name: str) -> bool:
        i = self.ifaces.get(name)
        if i is None or not i.up:
            return False
        if i.kind == "veth":
            p = self.ifaces.get(i.peer)
            return p is not None and p.up
        return True

    def up_ifaces(self, with_lo=False):
        return [i for i in self.ifaces.values() if i.up and (with_lo or i.kind != "lo")]

    def non_lo(self):
        return [i for i in self.ifaces.values() if i.kind != "lo"]

    # ---- addresses
    def local_ips(self):
        return [a.ip for a in self.addrs]

    def connected(self):
        """(net, plen, dev, gateway candidates) for prefixes reachable now."""
        out = []
        for a in self.addrs:
            if a.dev == "lo" or not self.ifaces[a.dev].up or a.scope == "host":
                continue
            if (a.net, a.plen, a.dev) in self.flushed:
                continue
            out.append((a.net, a.plen, a.dev, a))
        return out

    def drop_dev_routes(self, dev: str):
        self.routes = [r for r in self.routes if not any(d == dev for _, d in r.nhs)]

    # ---- routes
    def find_route(self, key):
        for r in self.routes:
            if r.key == key:
                return r
        return None

    # ---- rules
    def auto_pref(self) -> int:
        rs = sorted(self.rules, key=lambda r: r.pref)
        if len(rs) >= 2 and rs[1].pref > 0:
            return rs[1].pref - 1
        return 0

    def add_rule(self, rule: Rule):
        self.rules.append(rule)
        self.rules.sort(key=lambda r: r.pref)


# ----------------------------------------------------------------------------
# The generator
# ----------------------------------------------------------------------------

# Address blocks the configuration draws subnets from (all stay inside the
# namespace; traffic never leaves it).
BLOCKS = [
    ("10.0.0.0", 8),
    ("172.16.0.0", 12),
    ("192.168.0.0", 16),
    ("100.64.0.0", 10),
    ("192.0.2.0", 24),
    ("198.51.100.0", 24),
    ("203.0.113.0", 24),
]

TABLE_NAMES = ["isp1", "isp2", "vpn", "mgmt", "dmz", "blue", "red", "green", "uplink", "t_lab", "backup", "guest"]
PROTOS = ["static", "boot", "kernel", "ra", "dhcp", "bird", "zebra", "bgp", "ospf", "5", "42", "99", "200", "255"]


def wchoice(rng: random.Random, pairs):
    """Weighted choice from [(weight, value), ...]."""
    total = sum(w for w, _ in pairs)
    x = rng.uniform(0, total)
    for w, v in pairs:
        x -= w
        if x <= 0:
            return v
    return pairs[-1][1]


class Generator:
    def __init__(self, seed: int, index: int, dummy_ok: bool = True):
        self.seed = seed
        self.index = index
        self.rng = random.Random("vnetdiff-%d-%d" % (seed, index))
        self.dummy_ok = dummy_ok
        self.m = Model()
        self.lines: list[Line] = []
        self.blocks = []  # this config's address universe: [(net, plen)]
        self.extra_prefixes: list[tuple] = []  # prefixes used by routes (net, plen)
        self.mac_seq = 0
        self.tables_used: list[tuple] = []  # (spelling, id)

    # ------------------------------------------------------------------ utils
    def emit(self, text: str, kind: str, expect: str = "ok"):
        self.lines.append(Line(text, kind, expect))

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def pick(self, seq):
        return self.rng.choice(list(seq))

    def new_mac(self) -> str:
        self.mac_seq += 1
        return "02:%02x:%02x:00:00:%02x" % (self.index & 255, (self.seed & 255), self.mac_seq)

    def random_subnet(self, plen: Optional[int] = None):
        """A subnet (net, plen) inside one of this config's blocks."""
        bnet, bplen = self.pick(self.blocks)
        if plen is None:
            plen = wchoice(self.rng, [(30, 24), (10, 16), (3, 8), (20, self.rng.randint(17, 29)),
                                      (8, 30), (6, 31), (6, 32)])
        if plen <= bplen:
            return netof(bnet, plen), plen
        host_bits = 32 - bplen
        off = self.rng.getrandbits(host_bits) if host_bits else 0
        return netof(bnet | off, plen), plen

    def host_in(self, net: int, plen: int, avoid=()) -> int:
        if plen >= 31:
            cands = [net, net + 1] if plen == 31 else [net]
            c = [x for x in cands if x not in avoid] or cands
            return self.pick(c)
        size = 1 << (32 - plen)
        for _ in range(20):
            ip = net + self.rng.randint(1, size - 2)
            if ip not in avoid:
                return ip
        return net + 1

    def table_spec(self, allow_main=True, allow_named=True):
        """(spelling, id) of a table for a route or rule."""
        opts = [(w, t) for w, t in [(5 if allow_main else 0, ("main", 254))] if w]
        for spell, tid in self.tables_used:
            if not allow_named and not spell.isdigit():
                continue
            opts.append((3, (spell, tid)))
        if not opts:
            return ("main", 254)
        return wchoice(self.rng, opts)

    def any_dev(self, up_only=False):
        c = self.m.up_ifaces() if up_only else self.m.non_lo()
        return self.pick(c).name if c else "lo"

    def gateway_for(self, dev: Optional[str] = None):
        """A (gw, dev) pair where gw is on a connected prefix of dev."""
        cands = [c for c in self.m.connected() if (dev is None or c[2] == dev)]
        cands = [c for c in cands if c[1] <= 31 or c[3].peer is not None]
        if not cands:
            return None
        net, plen, d, a = self.pick(cands)
        if a.peer is not None:
            return a.peer, d
        return self.host_in(net, plen, avoid=set(self.m.local_ips())), d

    def route_prefix(self):
        """A destination prefix for a new route."""
        k = wchoice(self.rng, [(35, "random"), (20, "near-connected"), (10, "default"),
                               (15, "host"), (20, "reuse")])
        if k == "reuse" and self.extra_prefixes:
            return self.pick(self.extra_prefixes)
        if k == "default":
            return (0, 0)
        if k == "host":
            net, plen = self.random_subnet(32)
        elif k == "near-connected" and self.m.connected():
            cnet, cplen, _, _ = self.pick(self.m.connected())
            plen = max(1, min(32, cplen + self.rng.choice([-8, -4, -1, 1, 2, 4, 8])))
            net = netof(cnet | self.rng.getrandbits(32 - cplen) if cplen < 32 else cnet, plen)
        else:
            net, plen = self.random_subnet(wchoice(self.rng, [(4, 8), (10, 16), (12, 24), (10, self.rng.randint(9, 30)),
                                                              (3, 32)]))
        p = (net, plen)
        if p not in self.extra_prefixes:
            self.extra_prefixes.append(p)
        return p

    # ================================================================ links
    def line_link_add_veth(self, a: str, b: str):
        self.emit("ip link add %s type veth peer name %s" % (a, b), "link-add:veth")
        self.m.ifaces[a] = Iface(a, "veth", peer=b)
        self.m.ifaces[b] = Iface(b, "veth", peer=a)
        self.line_link_mac(b)
        self.line_link_mac(a)

    def line_link_add_dummy(self, name: str):
        self.emit("ip link add %s type dummy" % name, "link-add:dummy")
        self.m.ifaces[name] = Iface(name, "dummy")
        self.line_link_mac(name)

    def line_link_mac(self, name: str):
        self.emit("ip link set dev %s address %s" % (name, self.new_mac()), "link-mac")

    def line_link_up(self, name: Optional[str] = None):
        down = [i for i in self.m.non_lo() if not i.up]
        if name is None:
            if not down:
                return self.line_link_down()
            name = self.pick(down).name
        form = wchoice(self.rng, [(6, "ip link set %s up"), (2, "ip link set dev %s up"), (1, "ip l set %s up")])
        self.emit(form % name, "link-up")
        self.m.ifaces[name].up = True
        self.m.flushed = {f for f in self.m.flushed if f[2] != name}

    def line_link_down(self):
        ups = self.m.up_ifaces()
        if not ups:
            return self.line_link_up()
        name = self.pick(ups).name
        self.emit("ip link set %s down" % name, "link-down")
        self.m.ifaces[name].up = False
        self.m.drop_dev_routes(name)

    def line_link_mtu(self):
        name = self.any_dev()
        mtu = wchoice(self.rng, [(5, self.rng.choice([1280, 1400, 1450, 1500, 9000])),
                                 (2, self.rng.randint(68, 65535)), (1, 68)])
        self.emit("ip link set dev %s mtu %d" % (name, mtu), "link-mtu")

    def line_link_add_late(self):
        n = len([i for i in self.m.ifaces.values() if i.kind == "veth"])
        a, b = "v%d" % n, "v%d" % (n + 1)
        if a in self.m.ifaces or b in self.m.ifaces:
            return
        self.line_link_add_veth(a, b)
        if self.chance(0.7):
            self.line_link_up(a)
            self.line_link_up(b)

    def line_link_del(self):
        c = [i for i in self.m.non_lo()]
        if len(c) <= 2:
            return
        i = self.pick(c)
        self.emit("ip link del %s" % i.name, "link-del")
        gone = [i.name] + ([i.peer] if i.kind == "veth" else [])
        for g in gone:
            self.m.ifaces.pop(g, None)
            self.m.drop_dev_routes(g)
        self.m.addrs = [a for a in self.m.addrs if a.dev not in gone]
        self.m.neighs = {n for n in self.m.neighs if n[1] not in gone}

    # ============================================================ addresses
    def line_addr_add(self, dev: Optional[str] = None):
        dev = dev or self.any_dev()
        kind = wchoice(self.rng, [(70, "plain"), (10, "peer"), (12, "secondary"), (8, "link-scope")])
        opts = ""
        scope = "global"
        if kind == "secondary" and any(a.dev == dev and a.plen < 31 and a.peer is None for a in self.m.addrs):
            a0 = self.pick([a for a in self.m.addrs if a.dev == dev and a.plen < 31 and a.peer is None])
            ip, plen, peer = self.host_in(a0.net, a0.plen, avoid=set(self.m.local_ips())), a0.plen, None
            if a0.scope != "global":  # a secondary must have its primary's scope
                opts += " scope %s" % a0.scope
        elif kind == "peer":
            net, plen = self.random_subnet(self.rng.choice([32, 32, 30, 24]))
            ip = self.host_in(*self.random_subnet(32))
            peer = self.host_in(net, plen)
        else:
            net, plen = self.random_subnet()
            ip, peer = self.host_in(net, plen, avoid=set(self.m.local_ips())), None
        if ip in self.m.local_ips():
            return
        r = self.rng.random()
        if peer is None and plen < 31 and r < 0.2:
            opts += " brd +"
        elif peer is None and plen < 31 and r < 0.25:
            opts += " broadcast %s" % ip2s(bcastof(ip, plen) - self.rng.choice([0, 0, 1]))
        elif peer is None and r < 0.27:
            opts += " brd -"
        if kind == "link-scope":
            scope = self.rng.choice(["link", "link", "host" if plen == 32 else "link", "200"])
            opts += " scope %s" % scope
        if self.chance(0.05):
            opts += " label %s:%d" % (dev, self.rng.randint(0, 9))
        if kind == "secondary" and "scope" in opts:
            scope = opts.split("scope ")[1].split()[0]
        expect = "ok"
        if any(a.dev == dev and a.plen == plen and a.net == netof(peer if peer is not None else ip, plen)
               and a.scope != scope for a in self.m.addrs):
            expect = "any"  # would be a secondary with another scope: "Error: ipv4: Invalid scope value."
        spec = "%s/%d" % (ip2s(ip), plen) if peer is None else "%s peer %s/%d" % (ip2s(ip), ip2s(peer), plen)
        form = wchoice(self.rng, [(8, "ip addr add %s dev %s%s"), (1, "ip address add %s dev %s%s"),
                                  (1, "ip a add %s dev %s%s")])
        self.emit(form % (spec, dev, opts), "addr-add:%s" % kind, expect)
        if expect == "ok":
            a = Addr(ip, plen, dev, peer, scope)
            self.m.addrs.append(a)
            self.m.flushed.discard((a.net, a.plen, a.dev))

    def line_addr_del(self):
        c = [a for a in self.m.addrs if a.dev != "lo"]
        if not c:
            return
        a = self.pick(c)
        self.emit("ip addr del %s dev %s" % (a.spec(), a.dev), "addr-del")
        same = [b for b in self.m.addrs if b.dev == a.dev and b.net == a.net and b.plen == a.plen]
        if same and same[0] is a:  # deleting a primary deletes its secondaries (promote_secondaries=0)
            self.m.addrs = [b for b in self.m.addrs if b not in same]
        else:
            self.m.addrs.remove(a)
        s = ip2s(a.ip)
        self.m.routes = [r for r in self.m.routes if r.src != s]

    # ============================================================ rt_tables
    def line_rt_tables(self):
        names = [n for n in TABLE_NAMES if n not in self.m.tables]
        name = self.pick(names)
        tid = wchoice(self.rng, [(4, self.rng.randint(1, 252)), (3, self.rng.randint(256, 65535)),
                                 (3, self.rng.randint(65536, 2 ** 31 - 1))])
        if tid in self.m.tables.values():
            return
        self.emit('echo "%d %s" >> /etc/iproute2/rt_tables' % (tid, name), "rt-tables")
        self.m.tables[name] = tid
        self.tables_used.append((name, tid))

    def add_numeric_table(self):
        tid = wchoice(self.rng, [(5, self.rng.randint(1, 252)), (2, self.rng.randint(256, 100000)),
                                 (1, self.rng.randint(100000, 2 ** 32 - 1)), (1, 253)])
        spell = "default" if tid == 253 and self.chance(0.5) else str(tid)
        self.tables_used.append((spell, tid))

    # ================================================================ routes
    def nexthop_unicast(self):
        """(text, nhs) for a unicast route's nexthop part, or None."""
        k = wchoice(self.rng, [(45, "via"), (18, "dev"), (7, "onlink"), (20, "multipath")])
        if k == "via":
            g = self.gateway_for()
            if g is None:
                return None
            gw, dev = g
            if self.chance(0.5):
                return "via %s dev %s" % (ip2s(gw), dev), ((ip2s(gw), dev),)
            return "via %s" % ip2s(gw), ((ip2s(gw), dev),)
        if k == "dev":
            ups = self.m.up_ifaces()
            if not ups:
                return None
            d = self.pick(ups).name
            return "dev %s" % d, ((None, d),)
        if k == "onlink":
            ups = self.m.up_ifaces()
            if not ups:
                return None
            d = self.pick(ups).name
            gw = ip2s(self.host_in(*self.random_subnet(32)))
            return "via %s dev %s onlink" % (gw, d), ((gw, d),)
        # multipath
        parts, nhs = [], []
        for _ in range(self.rng.choice([2, 2, 2, 3])):
            if self.chance(0.8):
                g = self.gateway_for()
                if g is None:
                    continue
                gw, dev = ip2s(g[0]), g[1]
                t = "nexthop via %s dev %s" % (gw, dev) if self.chance(0.8) else "nexthop via %s" % gw
            else:
                ups = self.m.up_ifaces()
                if not ups:
                    continue
                gw, dev = None, self.pick(ups).name
                t = "nexthop dev %s" % dev
            if self.chance(0.7):
                t += " weight %d" % wchoice(self.rng, [(3, self.rng.randint(1, 10)), (1, self.rng.randint(1, 256)),
                                                       (1, 256), (1, 1)])
            parts.append(t)
            nhs.append((gw, dev))
        if len(parts) < 2:
            return None
        return " ".join(parts), tuple(nhs)

    def route_options(self, rtype: str, has_gw: bool):
        """Random metric/proto/scope/src/tos options; returns (text, tos, metric, src, expect)."""
        opts, tos, metric, src, expect = "", 0, 0, None, "ok"
        if self.chance(0.12):
            tos = self.rng.choice([0x04, 0x08, 0x10, 0x18, 0x1c, 0x20, 0xb8, 0xfc])
            opts += " %s 0x%02x" % (self.rng.choice(["tos", "tos", "dsfield"]), tos)
            self.m.toses.append(tos)
        if self.chance(0.3):
            metric = wchoice(self.rng, [(3, self.rng.choice([1, 5, 10, 50, 100, 1024])),
                                        (1, self.rng.randint(0, 2 ** 32 - 1)), (1, 0)])
            opts += " %s %d" % (self.rng.choice(["metric", "metric", "priority", "preference"]), metric)
        if self.chance(0.18):
            opts += " proto %s" % self.pick(PROTOS)
        if self.chance(0.12):
            if rtype == "unicast":
                sc = self.rng.choice(["global", "0"] + ([] if has_gw else ["link", "host", "253", "100"]))
            elif rtype in ("local",):
                sc = self.rng.choice(["host", "link", "global"])
                expect = "any"
            else:
                sc = self.rng.choice(["global", "link", "host", "100"])
                expect = "any"
            opts += " scope %s" % sc
        if rtype == "unicast" and self.chance(0.12):
            locs = [a for a in self.m.addrs if self.m.ifaces.get(a.dev) and self.m.ifaces[a.dev].up]
            if locs and self.chance(0.85):
                src = ip2s(self.pick(locs).ip)
            else:
                src = ip2s(self.host_in(*self.random_subnet(32)))
                expect = "any"
            opts += " src %s" % src
        return opts, tos, metric, src, expect

    def build_route(self, verb: str = "add", force_type: Optional[str] = None, like: Optional[Route] = None):
        """Builds a route command (with the key of route `like` if given).
        Returns (text, Route, expect) or None."""
        rtype = force_type or wchoice(self.rng, [(58, "unicast"), (7, "blackhole"), (7, "unreachable"),
                                                 (5, "prohibit"), (6, "throw"), (6, "local"), (4, "broadcast"),
                                                 (2, "anycast"), (2, "multicast"), (1, "nat")])
        net, plen = self.route_prefix()
        if rtype == "local" and plen < 24:  # a local /8 or default swallows the whole config
            net, plen = self.random_subnet(self.rng.choice([24, 28, 32, 32]))
        expect = "ok"
        if rtype == "broadcast":
            if self.chance(0.5) or not self.m.connected():
                net, plen = self.random_subnet(32)
            else:
                net, plen = bcastof(*self.pick(self.m.connected())[:2]), 32
                expect = "any"  # the kernel may already have this broadcast route
        if rtype == "multicast":
            net, plen = (s2ip("224.0.0.0") | (self.rng.getrandbits(20) << 8), self.rng.choice([4, 8, 16, 24, 32]))
            net = netof(net, plen)
        nh_text, nhs = "", ()
        if rtype == "unicast":
            nh = self.nexthop_unicast()
            if nh is None:
                return None
            nh_text, nhs = nh
        elif rtype in ("local", "broadcast", "anycast", "multicast"):
            d = self.any_dev(up_only=True)
            nh_text, nhs = "dev %s" % d, ((None, d),)
        elif rtype == "nat":
            g = self.gateway_for()
            nh_text = "via %s" % ip2s(g[0]) if g else ""
            expect = "fail"  # RTN_NAT is rejected by modern kernels ("Invalid scope")
        opts, tos, metric, src, oexp = self.route_options(rtype, nh_text.startswith("via") or "nexthop via" in nh_text)
        if oexp != "ok":
            expect = oexp if expect == "ok" else expect
        if like is not None:
            net, plen = (s2ip(like.prefix.split("/")[0]), int(like.prefix.split("/")[1]))
            opts = re.sub(r" (tos|dsfield|metric|priority|preference|scope) \S+", "", opts)
            opts += self.build_like(like, with_table=False)
            tos, metric = like.tos, like.metric
            name = [n for n, t in self.m.tables.items() if t == like.table]
            tid = like.table
            tspell = "" if tid == 254 else (name[0] if name and self.chance(0.5) else str(tid))
        elif rtype in TYPES_LOCAL_TABLE and self.chance(0.6):
            tspell, tid = "", 255
        elif len(nhs) > 1 and self.chance(0.6):  # multipath mostly in main, where lookups reach it
            tspell, tid = "", 254
        else:
            tspell, tid = self.table_spec()
            if tspell == "main" and self.chance(0.7):
                tspell = ""
        table = " table %s" % tspell if tspell else ""
        typ = "" if rtype == "unicast" and self.chance(0.9) else rtype + " "
        dst = pfx(net, plen)
        if plen == 0 and self.chance(0.5):
            dst = "default"
        elif plen == 32 and self.chance(0.5):
            dst = ip2s(net)
        # Shuffle the order of the option groups a little (ip accepts any order, except that
        # `nexthop` must come last because it swallows the rest of the line).
        groups = [g for g in (nh_text, table.strip(), opts.strip()) if g]
        if self.chance(0.2):
            self.rng.shuffle(groups)
        if nh_text.startswith("nexthop"):
            groups = [g for g in groups if g != nh_text] + [nh_text]
        text = "ip route %s %s%s %s" % (verb, typ, dst, " ".join(groups))
        r = Route(tid, rtype, pfx(net, plen), tos, metric, nhs, src)
        return text.rstrip(), r, expect

    def line_route_add(self, force_type=None):
        b = self.build_route("add", force_type)
        if b is None:
            return
        text, r, expect = b
        if self.m.find_route(r.key) is not None:
            expect = "any"  # same key: kernel refuses unless type/tos differ
        if r.table == 254 and not r.tos and not r.metric and \
                any(pfx(c[0], c[1]) == r.prefix for c in self.m.connected()):
            expect = "any"  # the connected (proto kernel) route has this key
        kind = "route-add:%s" % ("multipath" if len(r.nhs) > 1 else r.type)
        self.emit(text, kind, expect)
        if expect != "fail":
            self.m.routes.append(r)
            self.m.table_ids.add(r.table)

    def line_route_replace(self):
        if self.m.routes and self.chance(0.6):
            old = self.pick(self.m.routes)
            b = self.build_route("replace", force_type="unicast", like=old)
        else:
            b = self.build_route("replace")
        if b is None:
            return
        text, r, expect = b
        self.emit(text, "route-replace", "any" if expect != "ok" else "ok")
        self.m.routes = [x for x in self.m.routes if x.key != r.key] + [r]
        self.m.table_ids.add(r.table)

    def build_like(self, r: Route, with_table=True) -> str:
        """The key options (table, tos, metric) of route r as command text."""
        s = ""
        if r.table != 254 and with_table:
            name = [n for n, t in self.m.tables.items() if t == r.table]
            s += " table %s" % (name[0] if name and self.chance(0.5) else r.table)
        if r.tos:
            s += " tos 0x%02x" % r.tos
        if r.metric:
            s += " metric %d" % r.metric
        return s

    def line_route_change(self):
        if self.m.routes and self.chance(0.8):
            old = self.pick(self.m.routes)
            g = self.gateway_for()
            if g is None or old.type != "unicast":
                return
            text = "ip route change %s via %s%s" % (old.prefix, ip2s(g[0]), self.build_like(old))
            self.emit(text, "route-change", "ok")
            old.nhs = ((ip2s(g[0]), g[1]),)
        else:
            net, plen = self.random_subnet(self.rng.choice([16, 24, 28]))
            g = self.gateway_for()
            if g is None:
                return
            self.emit("ip route change %s via %s" % (pfx(net, plen), ip2s(g[0])), "fail:change-missing", "fail")

    def line_route_append(self, verb="append"):
        c = [r for r in self.m.routes if r.type == "unicast" and len(r.nhs) == 1]
        if not c:
            return self.line_route_add()
        old = self.pick(c)
        g = self.gateway_for()
        if g is None:
            return
        gw = ip2s(g[0])
        if old.nhs[0][0] == gw:
            return
        self.emit("ip route %s %s via %s%s" % (verb, old.prefix, gw, self.build_like(old)), "route-%s" % verb, "any")

    def line_route_prepend(self):
        self.line_route_append("prepend")

    def line_route_del(self):
        if not self.m.routes or self.chance(0.12):
            net, plen = self.random_subnet(self.rng.choice([16, 24, 27]))
            self.emit("ip route del %s" % pfx(net, plen), "fail:del-missing", "fail")
            return
        r = self.pick(self.m.routes)
        form = wchoice(self.rng, [(4, "key"), (2, "nh"), (2, "typed"), (1, "short")])
        typ = "" if r.type == "unicast" else r.type + " "
        if form == "short" and r.table == 254 and not r.tos:
            text = "ip route del %s%s" % (typ, r.prefix)
        elif form == "nh" and r.nhs and r.nhs[0][0] and len(r.nhs) == 1:
            text = "ip route del %s via %s%s" % (r.prefix, r.nhs[0][0], self.build_like(r))
        elif form == "typed":
            text = "ip route del %s%s%s" % (typ, r.prefix, self.build_like(r))
        else:
            text = "ip route delete %s%s%s" % (typ, r.prefix, self.build_like(r))
        self.emit(text, "route-del", "any" if r.type in TYPES_LOCAL_TABLE else "ok")
        self.m.routes.remove(r)

    def line_route_flush(self):
        k = wchoice(self.rng, [(4, "table"), (2, "dev"), (1, "cache"), (1, "prefix")])
        if k == "table":
            spell, tid = self.table_spec(allow_main=self.chance(0.2))
            exists = tid in self.m.table_ids
            self.emit("ip route flush table %s" % spell, "route-flush:table", "ok" if exists else "any")
            self.m.routes = [r for r in self.m.routes if r.table != tid]
            if tid == 254:  # connected routes are gone too
                self.m.flushed |= {(a.net, a.plen, a.dev) for a in self.m.addrs}
        elif k == "dev":
            d = self.any_dev()
            self.emit("ip route flush dev %s" % d, "route-flush:dev")
            self.m.routes = [r for r in self.m.routes if not (r.table == 254 and any(x == d for _, x in r.nhs))]
            self.m.flushed |= {(a.net, a.plen, a.dev) for a in self.m.addrs if a.dev == d}
        elif k == "cache":
            self.emit("ip route flush cache", "route-flush:cache")
        else:
            net, plen = self.route_prefix()
            self.emit("ip route flush %s" % pfx(net, plen), "route-flush:prefix")
            self.m.routes = [r for r in self.m.routes if not (r.table == 254 and r.prefix == pfx(net, plen))]

    def line_route_nettools(self):
        k = wchoice(self.rng, [(3, "net"), (1, "netmask"), (2, "host"), (1, "default"), (2, "del"), (1, "del-missing")])
        g = self.gateway_for()
        if g is None and k not in ("del", "del-missing"):
            return
        if k == "net":
            net, plen = self.random_subnet(self.rng.choice([8, 16, 24, 28]))
            dev = " dev %s" % g[1] if self.chance(0.4) else ""
            self.emit("route add -net %s gw %s%s" % (pfx(net, plen), ip2s(g[0]), dev), "route-nettools:add")
            self.m.routes.append(Route(254, "unicast", pfx(net, plen), nhs=((ip2s(g[0]), g[1]),)))
        elif k == "netmask":
            net, plen = self.random_subnet(self.rng.choice([16, 24, 26]))
            self.emit("route add -net %s netmask %s gw %s" % (ip2s(net), ip2s(mask(plen)), ip2s(g[0])),
                      "route-nettools:add")
            self.m.routes.append(Route(254, "unicast", pfx(net, plen), nhs=((ip2s(g[0]), g[1]),)))
        elif k == "host":
            h = self.host_in(*self.random_subnet(32))
            if self.chance(0.5):
                self.emit("route add -host %s gw %s" % (ip2s(h), ip2s(g[0])), "route-nettools:add")
            else:
                self.emit("route add -host %s dev %s" % (ip2s(h), g[1]), "route-nettools:add")
            self.m.routes.append(Route(254, "unicast", pfx(h, 32), nhs=((ip2s(g[0]), g[1]),)))
        elif k == "default":
            key = (254, "0.0.0.0/0", 0, 0)
            self.emit("route add default gw %s" % ip2s(g[0]), "route-nettools:add",
                      "any" if self.m.find_route(key) else "ok")
            self.m.routes.append(Route(254, "unicast", "0.0.0.0/0", nhs=((ip2s(g[0]), g[1]),)))
        elif k == "del":
            c = [r for r in self.m.routes if r.table == 254 and r.type == "unicast" and not r.tos and not r.metric]
            if not c:
                return
            r = self.pick(c)
            net, plen = r.prefix.split("/")
            if plen == "32":
                self.emit("route del -host %s" % net, "route-nettools:del", "any")
            elif plen == "0":
                self.emit("route del default", "route-nettools:del", "any")
            else:
                self.emit("route del -net %s" % r.prefix, "route-nettools:del", "any")
            self.m.routes.remove(r)
        else:
            net, plen = self.random_subnet(20)
            self.emit("route del -net %s" % pfx(net, plen), "fail:nettools-del-missing", "fail")

    # ================================================================= rules
    def rule_selector(self, need: bool = False):
        for _ in range(10):
            sel = self._rule_selector()
            if sel and sel != "not" or not need:
                return sel
        return "to %s" % pfx(*self.random_subnet(24))

    def _rule_selector(self):
        parts = []
        fam = self.rng.random()
        if fam < 0.35:
            net, plen = self.random_subnet(self.rng.choice([8, 16, 24, 32, self.rng.randint(1, 32)]))
            parts.append("from %s" % (pfx(net, plen) if plen < 32 or self.chance(0.5) else ip2s(net)))
        elif fam < 0.40:
            parts.append("from all")
        if self.chance(0.3):
            net, plen = self.random_subnet(self.rng.choice([8, 16, 24, 32]))
            parts.append("to %s" % pfx(net, plen))
        if self.chance(0.15):
            parts.append("iif %s" % (self.any_dev() if self.chance(0.9) else self.pick(["lo", "ghost0"])))
        if self.chance(0.1):
            parts.append("oif %s" % self.any_dev())
        if self.chance(0.15):
            mk = self.rng.choice([1, 2, 7, 0x10, 0x100, 0xff, self.rng.randint(1, 2 ** 32 - 1)])
            self.m.fwmarks.append(mk)
            if self.chance(0.4):
                parts.append("fwmark 0x%x/0x%x" % (mk & 0xff, self.rng.choice([0xff, 0xf0, 0xffff, 0xffffffff])))
            else:
                parts.append("fwmark %s" % (hex(mk) if self.chance(0.5) else str(mk)))
        if self.chance(0.08):
            tos = self.rng.choice([0x04, 0x08, 0x10, 0x18, 0x1c, 0x02, 0x20])  # rules: > 0x1e is refused
            self.m.toses.append(tos)
            parts.append("%s 0x%02x" % (self.rng.choice(["tos", "dsfield"]), tos))
        if parts and self.chance(0.05):
            parts.insert(0, "not")
        return " ".join(parts)

    def line_rule_add(self):
        explicit = self.chance(0.8)
        pref = self.rng.randint(1, 32765) if explicit else self.m.auto_pref()
        if explicit and self.chance(0.5):
            pref = self.rng.choice([100, 200, 1000, 1001, 5000, 10000, 32000, 32765])
        k = wchoice(self.rng, [(60, "lookup"), (6, "blackhole"), (6, "unreachable"), (6, "prohibit"), (12, "goto"),
                               (2, "nop")])
        sel = self.rule_selector(need=k in ("blackhole", "unreachable", "prohibit") and self.chance(0.95))
        expect, table = "ok", None
        if k == "lookup":
            spell, table = self.table_spec()
            if self.chance(0.1):
                spell, table = self.pick([("local", 255), ("default", 253), ("main", 254)])
            action = "%s %s" % (self.rng.choice(["lookup", "table"]), spell)
        elif k == "goto":
            if self.chance(0.75):
                later = [r.pref for r in self.m.rules if r.pref > pref]
                tgt = self.pick(later) if later and self.chance(0.7) else self.rng.randint(pref + 1, 32767) \
                    if pref < 32767 else 32767
            else:
                tgt = self.rng.randint(0, pref)
                expect = "fail"  # backward (or self) goto is refused
            action = "goto %d" % tgt
        else:
            action = k
        if any(r.pref == pref and r.sel == sel and r.action == action for r in self.m.rules):
            expect = "fail"
        if re.search(r"(tos|dsfield) 0x(20|02)", sel):
            expect = "fail"  # "Error: Invalid tos." (only the 0x1e bits), ECN bits: "Invalid dsfield (tos)"
        ptxt = "%s %d " % (self.rng.choice(["pref", "priority", "preference"]), pref) if explicit else ""
        text = "ip rule add %s%s%s" % (ptxt, sel + " " if sel else "", action)
        if self.chance(0.2) and explicit:  # pref at the end
            text = "ip rule add %s%s %s" % (sel + " " if sel else "", action, ptxt.strip())
        self.emit(text, "rule-add:%s" % k, expect)
        if expect == "ok":
            self.m.add_rule(Rule(pref, sel, action, table))

    def line_rule_del(self):
        user = [r for r in self.m.rules if r.pref not in (0, 32766, 32767) or r.sel]
        k = wchoice(self.rng, [(5, "pref"), (3, "match"), (2, "table"), (2, "missing")])
        if not user or k == "missing":
            self.emit("ip rule del pref %d" % self.rng.randint(1, 32765), "fail:rule-del-missing",
                      "any" if user else "fail")
            return
        r = self.pick(user)
        if k == "pref":
            self.emit("ip rule del pref %d" % r.pref, "rule-del:pref")
        elif k == "table" and r.table is not None and "lookup" in r.action or "table" in r.action:
            self.emit("ip rule del %s" % r.action.replace("lookup", "table"), "rule-del:table", "any")
        else:
            self.emit(("ip rule del %s %s" % (r.sel, r.action)).replace("  ", " "), "rule-del:match", "any")
        self.m.rules.remove(r)

    def line_rule_special(self):
        """Rare rule moves that real setups do: local rule moved down, default rule removed."""
        k = self.pick(["move-local", "del-default", "del-main"])
        if k == "move-local":
            self.emit("ip rule add pref 100 lookup local", "rule-special", "any")
            self.emit("ip rule del pref 0", "rule-special")
            self.m.rules = [r for r in self.m.rules if r.pref != 0]
            self.m.add_rule(Rule(100, "", "lookup local", 255))
        elif k == "del-default":
            self.emit("ip rule del pref 32767", "rule-special", "any")
            self.m.rules = [r for r in self.m.rules if r.pref != 32767]
        else:
            self.emit("ip rule del pref 32766 && ip rule add pref 32766 lookup main", "rule-special", "any")

    # =============================================================== sysctls
    def line_sysctl(self):
        key = wchoice(self.rng, [(5, "rp_filter"), (3, "forwarding"), (2, "ip_forward"), (2, "accept_local")])
        if key == "ip_forward":
            path, val = "ip_forward", self.rng.choice([0, 1, 1])
        else:
            where = wchoice(self.rng, [(3, "all"), (2, "default"), (5, "dev")])
            if where == "dev":
                where = self.any_dev() if self.chance(0.9) else "lo"
            vals = [0, 1, 2] if key == "rp_filter" else [0, 1]
            path, val = "conf/%s/%s" % (where, key), self.pick(vals)
        if self.chance(0.65):
            self.emit("sysctl -w net.ipv4.%s=%d" % (path.replace("/", "."), val), "sysctl:w")
        else:
            self.emit("echo %d > /proc/sys/net/ipv4/%s" % (val, path), "sysctl:echo")

    # ============================================================ neighbours
    def line_neigh(self):
        k = wchoice(self.rng, [(5, "add"), (2, "del"), (1, "replace"), (2, "show")])
        if k == "show":
            self.emit("ip neigh show" + (" dev %s" % self.any_dev() if self.chance(0.4) else ""), "dump:neigh")
            return
        if k == "del" and self.m.neighs:
            ip, dev = self.pick(sorted(self.m.neighs))
            self.emit("ip neigh del %s dev %s" % (ip2s(ip), dev), "neigh-del")
            self.m.neighs.discard((ip, dev))
            return
        conn = [c for c in self.m.connected()]
        if conn and self.chance(0.8):
            net, plen, dev, _ = self.pick(conn)
            ip = self.host_in(net, plen, avoid=set(self.m.local_ips()))
        else:
            dev = self.any_dev()
            ip = self.host_in(*self.random_subnet(32))
        mac = "02:aa:%02x:%02x:%02x:%02x" % tuple(self.rng.getrandbits(8) for _ in range(4))
        verb = "replace" if k == "replace" else "add"
        exp = "any" if (ip, dev) in self.m.neighs and verb == "add" else "ok"
        self.emit("ip neigh %s %s lladdr %s dev %s nud permanent" % (verb, ip2s(ip), mac, dev), "neigh-%s" % verb, exp)
        self.m.neighs.add((ip, dev))

    # ================================================================ dumps
    SHOW_SPELLINGS = {
        "ip route show": ["ip route show", "ip route", "ip r", "ip ro sh", "ip route list", "ip route ls"],
        "ip rule show": ["ip rule show", "ip rule", "ip ru", "ip rule list"],
        "ip addr show": ["ip addr show", "ip a", "ip address show", "ip addr list", "ip a s"],
        "ip link show": ["ip link show", "ip link", "ip l", "ip link list"],
    }

    def spell(self, base: str, args: bool = False) -> str:
        """`base` or another spelling ip(8) accepts (no bare `ip r` when arguments follow)."""
        if self.chance(0.75):
            return base
        c = self.SHOW_SPELLINGS[base]
        if args:
            c = [x for x in c if len(x.split()) == 3]
        return self.pick(c)

    def line_dump(self):
        k = wchoice(self.rng, [(5, "route"), (3, "route-table"), (2, "route-json"), (3, "rule"), (1, "rule-json"),
                               (3, "addr-dev"), (1, "addr-json"), (1, "link-dev"), (5, "route-get")])
        if k == "route":
            self.emit(self.spell("ip route show"), "dump:route")
        elif k == "route-table":
            spell, tid = self.table_spec()
            self.emit("ip route show table %s" % spell, "dump:route-table",
                      "ok" if tid in self.m.table_ids else "any")
        elif k == "route-json":
            spell, tid = self.table_spec()
            if self.chance(0.3):
                spell = "all"
            self.emit("ip -j route show table %s" % spell, "dump:route-json",
                      "ok" if spell == "all" or tid in self.m.table_ids else "any")
        elif k == "rule":
            self.emit(self.spell("ip rule show"), "dump:rule")
        elif k == "rule-json":
            self.emit("ip -j rule show", "dump:rule")
        elif k == "addr-dev":
            self.emit("%s dev %s" % (self.spell("ip addr show", True), self.any_dev()), "dump:addr")
        elif k == "addr-json":
            self.emit("ip -j addr show", "dump:addr")
        elif k == "link-dev":
            self.emit("%s dev %s" % (self.spell("ip link show", True), self.any_dev()), "dump:link")
        else:
            q = self.query()
            self.emit(q.text, "dump:route-get", "any")

    # ====================================================== expected failures
    def line_fail(self):
        f = wchoice(self.rng, [
            (4, self.fail_dup_route), (4, self.fail_bad_gateway), (3, self.fail_host_bits),
            (2, self.fail_unknown_table), (2, self.fail_unknown_dev), (2, self.fail_backward_goto),
            (2, self.fail_dup_addr), (2, self.fail_del_missing_addr), (2, self.fail_bad_prefsrc),
            (1, self.fail_tos_ecn), (1, self.fail_blackhole_dev), (1, self.fail_bad_prefix),
            (1, self.fail_weight), (1, self.fail_sysctl_dev), (1, self.fail_mtu), (1, self.fail_gw_host_scope),
            (1, self.fail_neigh_del_missing), (1, self.fail_dup_rule), (1, self.fail_dev_down),
        ])
        f()

    def fail_dup_route(self):
        c = [r for r in self.m.routes if r.type == "unicast" and len(r.nhs) == 1]
        if not c:
            return self.fail_bad_gateway()
        r = self.pick(c)
        gw, dev = r.nhs[0]
        nh = ("via %s" % gw) if gw else "dev %s" % dev
        self.emit("ip route add %s %s%s" % (r.prefix, nh, self.build_like(r)), "fail:dup-route", "fail")

    def fail_bad_gateway(self):
        net, plen = self.random_subnet(24)
        far = self.host_in(*self.random_subnet(32))
        if any(in_net(far, c[0], c[1]) for c in self.m.connected()):
            return
        self.emit("ip route add %s via %s" % (pfx(net, plen), ip2s(far)), "fail:bad-gateway", "fail")

    def fail_host_bits(self):
        net, plen = self.random_subnet(self.rng.choice([8, 16, 24, 28]))
        g = self.gateway_for()
        nh = "via %s" % ip2s(g[0]) if g else "blackhole"
        host = net | self.rng.randint(1, (1 << (32 - plen)) - 1)
        if g:
            text = "ip route add %s/%d %s" % (ip2s(host), plen, nh)
        else:
            text = "ip route add blackhole %s/%d" % (ip2s(host), plen)
        self.emit(text, "fail:host-bits", "fail")

    def fail_unknown_table(self):
        name = self.pick(["nosuchtable", "ispX", "tbl_missing"])
        if self.chance(0.5):
            self.emit("ip route add blackhole %s table %s" % (pfx(*self.random_subnet(24)), name),
                      "fail:unknown-table", "fail")
        else:
            self.emit("ip rule add pref %d from %s lookup %s" % (self.rng.randint(1, 30000),
                                                                  pfx(*self.random_subnet(24)), name),
                      "fail:unknown-table", "fail")

    def fail_unknown_dev(self):
        k = self.pick(["route", "addr", "link", "route-get"])
        if k == "route":
            self.emit("ip route add %s dev ghost0" % pfx(*self.random_subnet(24)), "fail:unknown-dev", "fail")
        elif k == "addr":
            self.emit("ip addr add %s/24 dev ghost1" % ip2s(self.host_in(*self.random_subnet(24))),
                      "fail:unknown-dev", "fail")
        elif k == "link":
            self.emit("ip link set ghost2 up", "fail:unknown-dev", "fail")
        else:
            self.emit("ip route get 10.0.0.1 oif ghost3", "fail:unknown-dev", "fail")

    def fail_backward_goto(self):
        pref = self.rng.randint(100, 30000)
        self.emit("ip rule add pref %d goto %d" % (pref, self.rng.randint(1, pref)), "fail:backward-goto", "fail")

    def fail_dup_addr(self):
        c = [a for a in self.m.addrs if a.dev != "lo"]
        if not c:
            return
        a = self.pick(c)
        self.emit("ip addr add %s dev %s" % (a.spec(), a.dev), "fail:dup-addr", "fail")

    def fail_del_missing_addr(self):
        self.emit("ip addr del %s/24 dev %s" % (ip2s(self.host_in(*self.random_subnet(24))), self.any_dev()),
                  "fail:del-missing-addr", "fail")

    def fail_bad_prefsrc(self):
        g = self.gateway_for()
        if g is None:
            return
        bad = self.host_in(*self.random_subnet(32))
        if bad in self.m.local_ips():
            return
        self.emit("ip route add %s via %s src %s" % (pfx(*self.random_subnet(24)), ip2s(g[0]), ip2s(bad)),
                  "fail:bad-prefsrc", "fail")

    def fail_tos_ecn(self):
        tos = self.pick([0x01, 0x11, 0x13])
        self.emit("ip route add blackhole %s tos 0x%02x" % (pfx(*self.random_subnet(24)), tos), "fail:tos-ecn", "fail")

    def fail_blackhole_dev(self):
        self.emit("ip route add blackhole %s dev %s" % (pfx(*self.random_subnet(24)), self.any_dev()),
                  "fail:blackhole-dev", "fail")

    def fail_bad_prefix(self):
        self.emit("ip route add %s dev %s" % (self.pick(["10.1.2.0/33", "300.1.0.0/16", "10.1/8x", "1.2.3.4/-1"]),
                                              self.any_dev()), "fail:bad-prefix", "fail")

    def fail_weight(self):
        g = self.gateway_for()
        if g is None:
            return
        self.emit("ip route add %s nexthop via %s weight %d" % (pfx(*self.random_subnet(24)), ip2s(g[0]),
                                                                 self.pick([0, 257, 1000])), "fail:weight", "fail")

    def fail_sysctl_dev(self):
        if self.chance(0.5):
            self.emit("sysctl -w net.ipv4.conf.ghost4.rp_filter=1", "fail:sysctl-dev", "fail")
        else:
            self.emit("echo 1 > /proc/sys/net/ipv4/conf/ghost5/forwarding", "fail:sysctl-dev", "fail")

    def fail_mtu(self):
        self.emit("ip link set dev %s mtu %d" % (self.any_dev(), self.pick([70000, 67, 0])), "fail:mtu", "fail")

    def fail_gw_host_scope(self):
        g = self.gateway_for()
        if g is None:
            return
        self.emit("ip route add %s via %s scope host" % (pfx(*self.random_subnet(24)), ip2s(g[0])),
                  "fail:gw-host-scope", "fail")

    def fail_neigh_del_missing(self):
        self.emit("ip neigh del %s dev %s" % (ip2s(self.host_in(*self.random_subnet(32))), self.any_dev()),
                  "fail:neigh-del-missing", "fail")

    def fail_dup_rule(self):
        c = [r for r in self.m.rules if r.pref not in (0, 32766, 32767)]
        if not c:
            return self.fail_backward_goto()
        r = self.pick(c)
        self.emit(("ip rule add pref %d %s %s" % (r.pref, r.sel, r.action)).replace("  ", " "), "fail:dup-rule",
                  "fail")

    def fail_dev_down(self):
        down = [i for i in self.m.non_lo() if not i.up]
        if not down:
            return self.fail_unknown_dev()
        self.emit("ip route add %s dev %s" % (pfx(*self.random_subnet(24)), self.pick(down).name),
                  "fail:dev-down", "fail")

    # ================================================================ queries
    def dest_pool(self):
        pool = []
        for a in self.m.addrs:
            pool += [a.ip, a.ip + 1, a.ip - 1]
            if a.peer is not None:
                pool.append(a.peer)
            if a.plen < 32:
                pool += [a.net, bcastof(a.ip, a.plen), (a.net - 1) & 0xFFFFFFFF,
                         (bcastof(a.ip, a.plen) + 1) & 0xFFFFFFFF]
        for r in self.m.routes:
            net, plen = r.prefix.split("/")
            net, plen = s2ip(net), int(plen)
            pool += [net, bcastof(net, plen), net | (self.rng.getrandbits(32 - plen) if plen < 32 else 0),
                     (bcastof(net, plen) + 1) & 0xFFFFFFFF]
            pool += [s2ip(g) for g, _ in r.nhs if g]
        for net, plen in self.extra_prefixes:
            pool.append(net | (self.rng.getrandbits(32 - plen) if plen < 32 else 0))
        return [p & 0xFFFFFFFF for p in pool]

    def query_dest(self, pool) -> str:
        mp = [r for r in self.m.routes if len(r.nhs) > 1]
        if mp and self.chance(0.15):  # inside a multipath route (exercises nexthop selection)
            net, plen = self.pick(mp).prefix.split("/")
            return ip2s(s2ip(net) | (self.rng.getrandbits(32 - int(plen)) if int(plen) < 32 else 0))
        k = wchoice(self.rng, [(70, "pool"), (4, "loopback"), (2, "zero"), (3, "limited-bcast"), (4, "multicast"),
                               (8, "random"), (2, "linklocal")])
        if k == "pool" and pool:
            return ip2s(self.pick(pool))
        if k == "loopback":
            return self.pick(["127.0.0.1", "127.0.0.2", "127.1.2.3", "127.255.255.255"])
        if k == "zero":
            return "0.0.0.0"
        if k == "limited-bcast":
            return "255.255.255.255"
        if k == "multicast":
            return self.pick(["224.0.0.1", "224.0.0.251", "239.1.2.3", "224.%d.%d.%d" % tuple(
                self.rng.randint(0, 255) for _ in range(3))])
        if k == "linklocal":
            return "169.254.%d.%d" % (self.rng.randint(0, 255), self.rng.randint(1, 254))
        return ip2s(self.host_in(*self.random_subnet(32)) if self.blocks and self.chance(0.6)
                    else self.rng.getrandbits(32))

    def input_source(self, src: str):
        """(iif, from) for a simulated input route: mostly a neighbour on a connected prefix of an
        up interface (what real traffic would look like), sometimes anything."""
        k = wchoice(self.rng, [(55, "neighbour"), (20, "foreign"), (10, "as-is"), (8, "any-dev"), (2, "ghost")])
        conn = self.m.connected()
        if k == "neighbour" and conn:
            net, plen, dev, a = self.pick(conn)
            peer = a.peer if a.peer is not None else self.host_in(net, plen, avoid=set(self.m.local_ips()))
            return dev, ip2s(peer)
        ups = self.m.up_ifaces()
        if k == "foreign" and ups:
            return self.pick(ups).name, ip2s(self.host_in(*self.random_subnet(32)))
        if k == "ghost":
            return "ghost9", src
        return self.pick(list(self.m.ifaces)), src

    def query(self, pool=None) -> Line:
        if pool is None:
            pool = self.dest_pool()
        dst = self.query_dest(pool)
        parts = []
        src_kind = wchoice(self.rng, [(50, None), (25, "local"), (15, "foreign"), (5, "zero"), (5, "pool")])
        iif = None
        if src_kind is not None:
            if src_kind == "local" and self.m.addrs:
                src = ip2s(self.pick(self.m.addrs).ip)
            elif src_kind == "zero":
                src = "0.0.0.0"
            elif src_kind == "pool" and pool:
                src = ip2s(self.pick(pool))
            else:
                src = ip2s(self.host_in(*self.random_subnet(32)))
            if self.chance(0.5):
                iif, src = self.input_source(src)
                parts.append("from %s" % src)
                parts.append("iif %s" % iif)
            else:
                parts.append("from %s" % src)
        elif self.chance(0.04):
            parts.append("iif %s" % self.pick(list(self.m.ifaces)))  # iif without from
        if iif is None and self.chance(0.15):
            parts.append("oif %s" % self.pick(list(self.m.ifaces)))
        if self.chance(0.15):
            mk = self.pick(self.m.fwmarks) if self.m.fwmarks and self.chance(0.7) else self.rng.randint(1, 300)
            parts.append("mark %s" % (hex(mk) if self.chance(0.3) else mk))
        if self.chance(0.12):
            tos = self.pick(self.m.toses) if self.m.toses and self.chance(0.7) else self.pick([0x04, 0x10, 0x1c, 0xb8])
            parts.append("%s 0x%02x" % (self.rng.choice(["tos", "tos", "dsfield"]), tos))
        if self.chance(0.1):
            self.rng.shuffle(parts)
        fib = self.chance(0.15)
        js = self.chance(0.6)
        text = "ip %sroute get %s%s%s" % ("-j " if js else "", "fibmatch " if fib and self.chance(0.5) else "", dst,
                                          (" " + " ".join(parts)) if parts else "")
        if fib and "fibmatch" not in text:
            text += " fibmatch"
        return Line(text, "query:%s%s" % ("fibmatch" if fib else "get", "-iif" if iif else ""), "any")

    # ================================================================ config
    def generate(self, n_queries: int = 40) -> Config:
        rng = self.rng
        # address universe: 2-3 blocks, carved down to something smallish so subnets overlap
        for _ in range(rng.randint(2, 3)):
            b, bl = rng.choice(BLOCKS)
            sub = rng.choice([bl, max(bl, 16), max(bl, 20), max(bl, 24)])
            net = netof(s2ip(b) | (rng.getrandbits(32 - bl) if bl < 32 else 0), sub)
            self.blocks.append((net, sub))

        self.emit("ip link set lo up", "link-up")
        self.m.ifaces["lo"].up = True

        # interfaces
        n_pairs = rng.randint(2, 4)
        for p in range(n_pairs):
            self.line_link_add_veth("v%d" % (2 * p), "v%d" % (2 * p + 1))
        if self.dummy_ok:
            for d in range(rng.randint(0, 2)):
                self.line_link_add_dummy("d%d" % d)
        for i in list(self.m.non_lo()):
            if rng.random() < 0.85:
                self.line_link_up(i.name)

        # tables: names and numbers
        for _ in range(rng.randint(0, 3)):
            self.line_rt_tables()
        while len(self.tables_used) < 3:
            self.add_numeric_table()
        if rng.random() < 0.3:
            self.add_numeric_table()

        # addresses
        for _ in range(rng.randint(4, 9)):
            self.line_addr_add()
        if rng.random() < 0.6:  # most routers forward
            self.emit(rng.choice(["sysctl -w net.ipv4.ip_forward=1", "echo 1 > /proc/sys/net/ipv4/ip_forward",
                                  "sysctl -w net.ipv4.conf.all.forwarding=1"]), "sysctl:forward-on")
        if rng.random() < 0.3:
            self.line_sysctl()
        if rng.random() < 0.5:  # a default route
            g = self.gateway_for()
            if g is not None:
                self.emit("ip route add default via %s" % ip2s(g[0]), "route-add:default")
                self.m.routes.append(Route(254, "unicast", "0.0.0.0/0", nhs=((ip2s(g[0]), g[1]),)))

        # the mixed phase
        actions: list[tuple[float, Callable]] = [
            (24, self.line_route_add), (5, self.line_route_del), (3, self.line_route_replace),
            (2, self.line_route_change), (2, self.line_route_append), (1, self.line_route_prepend),
            (1.2, self.line_route_flush), (1.5, self.line_route_nettools),
            (10, self.line_rule_add), (3, self.line_rule_del), (0.3, self.line_rule_special),
            (4, self.line_addr_add), (1.5, self.line_addr_del),
            (1.5, self.line_link_down), (1.5, self.line_link_up), (1, self.line_link_mtu),
            (0.4, self.line_link_add_late), (0.3, self.line_link_del),
            (6, self.line_sysctl), (2.5, self.line_neigh), (8, self.line_dump), (12, self.line_fail),
        ]
        for _ in range(rng.randint(25, 45)):
            n0 = len(self.lines)
            wchoice(rng, actions)()
            # occasionally join two consecutive lines with && or ;
            if len(self.lines) == n0 + 1 and len(self.lines) >= 3 and rng.random() < 0.03:
                a, b = self.lines[-2], self.lines[-1]
                if not a.kind.startswith("link-add") and not b.kind.startswith("link-add"):
                    sep = rng.choice([" && ", "; "])
                    exp = "ok" if a.expect == b.expect == "ok" else "any"
                    self.lines[-2:] = [Line(a.text + sep + b.text, "joined", exp)]

        pool = self.dest_pool()
        queries = [self.query(pool) for _ in range(n_queries)]
        dumps = [Line(d, "dump:final", "ok") for d in DUMPS]
        return Config(self.seed, self.index, self.lines, queries, dumps)


def generate(seed: int, index: int, n_queries: int = 40, dummy_ok: bool = True) -> Config:
    return Generator(seed, index, dummy_ok).generate(n_queries)


if __name__ == "__main__":  # print one configuration, for eyeballing
    import sys

    s = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    i = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    c = generate(s, i)
    for ln in c.all_lines():
        print("%-5s %-24s %s" % (ln.expect, ln.kind, ln.text))
