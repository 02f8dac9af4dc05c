#!/usr/bin/env python3
"""Differential test: vnet's simulated node against the real Linux kernel.

For every random configuration (see gen.py) the lines are run
 * on the kernel, each as `ip netns exec NS sh -c LINE` in a fresh network
   namespace of our own (named vnetdiff-<pid>-<n>), and
 * on vnet, all at once through one `vnet node --results-jsonl` process,
and stdout, stderr and exit status of every line are compared; then random
`ip route get` queries and state dumps are compared the same way.

Safety: only namespaces named vnetdiff-<pid>-* are created, only inside them
is anything configured, no traffic is sent, and the namespaces and their
/etc/netns/<ns> directories are removed in `finally` blocks and on
SIGINT/SIGTERM. Needs root.

Run `kernel_diff.py --help` for the options; README.md has examples.
"""

from __future__ import annotations

import argparse
import atexit
import collections
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen  # noqa: E402

NS_PREFIX = "vnetdiff-%d-" % os.getpid()
ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C", "LANG": "C",
       "HOME": "/root"}
STD_RT_TABLES = ("#\n# reserved values\n#\n255\tlocal\n254\tmain\n253\tdefault\n0\tunspec\n#\n# local\n#\n"
                 "#1\tinr.ruhep\n")
# IPv4 sysctls vnet assumes at their kernel defaults in a fresh namespace.
SYSCTL_DEFAULTS = {
    "net.ipv4.ip_forward": "0",
    "net.ipv4.conf.all.forwarding": "0", "net.ipv4.conf.default.forwarding": "0",
    "net.ipv4.conf.all.rp_filter": "0", "net.ipv4.conf.default.rp_filter": "0",
    "net.ipv4.conf.all.accept_local": "0", "net.ipv4.conf.default.accept_local": "0",
    "net.ipv4.conf.all.src_valid_mark": "0", "net.ipv4.conf.all.route_localnet": "0",
    "net.ipv4.conf.default.route_localnet": "0",
    "net.ipv4.conf.all.ignore_routes_with_linkdown": "0",
    "net.ipv4.conf.default.ignore_routes_with_linkdown": "0",
    "net.ipv4.fib_multipath_use_neigh": "0", "net.ipv4.fib_multipath_hash_policy": "0",
}

# ----------------------------------------------------------------------------
# Results and the two sides
# ----------------------------------------------------------------------------


class Result:
    __slots__ = ("stdout", "stderr", "exit", "missing")

    def __init__(self, stdout="", stderr="", exit=0, missing=None):
        self.stdout, self.stderr, self.exit, self.missing = stdout, stderr, exit, missing


def _dec(b: bytes) -> str:
    return b.decode("utf-8", errors="surrogateescape")


class KernelNS:
    """One fresh network namespace of our own. Use as a context manager."""

    active: set = set()
    counter = 0

    def __init__(self):
        KernelNS.counter += 1
        self.name = "%s%d" % (NS_PREFIX, KernelNS.counter)
        self.etc = "/etc/netns/%s" % self.name

    def __enter__(self):
        KernelNS.active.add(self.name)
        subprocess.run(["ip", "netns", "add", self.name], check=True, env=ENV, stdin=subprocess.DEVNULL)
        # The namespace's own /etc/iproute2 (ip netns exec bind-mounts /etc/netns/NS/* over /etc/*),
        # so `echo "N name" >> /etc/iproute2/rt_tables` edits only this copy.
        os.makedirs(self.etc, exist_ok=True)
        dst = os.path.join(self.etc, "iproute2")
        if os.path.isdir("/etc/iproute2"):
            shutil.copytree("/etc/iproute2", dst, symlinks=True)
        else:
            os.makedirs(dst)
        rt = os.path.join(dst, "rt_tables")
        if not os.path.exists(rt):
            src = "/usr/share/iproute2/rt_tables"
            if os.path.exists(src):
                shutil.copy(src, rt)
            else:
                with open(rt, "w") as f:
                    f.write(STD_RT_TABLES)
        # IPv6 off before anything else; IPv4 sysctls to kernel defaults (a new namespace can
        # inherit non-default ones from the root namespace).
        self.check(["sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1",
                    "net.ipv6.conf.default.disable_ipv6=1"])
        cur = self.run("sysctl " + " ".join(SYSCTL_DEFAULTS))
        wrong = []
        for ln in cur.stdout.splitlines():
            k, _, v = ln.partition(" = ")
            if k in SYSCTL_DEFAULTS and v.strip() != SYSCTL_DEFAULTS[k]:
                wrong.append("%s=%s" % (k, SYSCTL_DEFAULTS[k]))
        if wrong:
            self.check(["sysctl", "-q", "-w"] + wrong)
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        delete_ns(self.name)
        KernelNS.active.discard(self.name)

    def check(self, argv):
        subprocess.run(["ip", "netns", "exec", self.name] + argv, check=True, env=ENV, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL)

    def run(self, line: str, timeout: float = 30) -> Result:
        try:
            p = subprocess.run(["ip", "netns", "exec", self.name, "sh", "-c", line], capture_output=True,
                               env=ENV, stdin=subprocess.DEVNULL, timeout=timeout)
        except subprocess.TimeoutExpired:
            return Result("", "", -1, missing="kernel side timed out after %ss" % timeout)
        return Result(_dec(p.stdout), _dec(p.stderr), p.returncode)


def delete_ns(name: str):
    """Deletes one of OUR namespaces and its /etc/netns dir (never anything else)."""
    if not name.startswith("vnetdiff-") or "/" in name:
        return
    subprocess.run(["ip", "netns", "del", name], env=ENV, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    etc = "/etc/netns/%s" % name
    if os.path.isdir(etc):
        shutil.rmtree(etc, ignore_errors=True)


def cleanup_all():
    for n in list(KernelNS.active):
        delete_ns(n)
        KernelNS.active.discard(n)


def cleanup_stale():
    """Removes vnetdiff-<pid>-* namespaces left by runs whose process is gone."""
    p = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, env=ENV)
    for ln in p.stdout.splitlines():
        name = ln.split()[0] if ln.split() else ""
        m = re.match(r"^vnetdiff-(\d+)-\d+$", name)
        if m and not os.path.exists("/proc/%s" % m.group(1)):
            print("removing stale namespace %s" % name)
            delete_ns(name)


def _on_signal(signum, frame):
    cleanup_all()
    raise SystemExit(128 + signum)


ROUTE_GET_RE = re.compile(r"^ip\s+(?:-j(?:son)?\s+)?(?:r|ro|rou|rout|route)\s+get\s")


def is_route_get(text: str) -> bool:
    return bool(ROUTE_GET_RE.match(text)) and "fibmatch" not in text and not re.search(r"[;&|]", text)


def fibmatch_variant(text: str) -> str:
    toks = text.split()
    toks = [t for t in toks if t not in ("-j", "-json")]
    return " ".join([toks[0], "-j"] + toks[1:] + ["fibmatch"])


def run_kernel(lines, ns_factory=KernelNS):
    """Runs lines in a fresh namespace. Returns (results, fibmatch results for route-get lines)."""
    results, fibs = [], {}
    with ns_factory() as ns:
        for i, ln in enumerate(lines):
            r = ns.run(ln)
            results.append(r)
            if r.exit == 0 and is_route_get(ln):
                fibs[i] = ns.run(fibmatch_variant(ln))
    return results, fibs


def run_vnet(vnet: str, lines, timeout: float = 120):
    """Runs all lines through one `vnet node --results-jsonl`; returns one Result per line."""
    inp = "".join(ln + "\n" for ln in lines)
    try:
        p = subprocess.run([vnet, "node", "--results-jsonl"], input=inp.encode(), capture_output=True,
                           timeout=timeout, env=dict(os.environ, LC_ALL="C", LANG="C"))
    except subprocess.TimeoutExpired:
        return [Result(missing="vnet timed out after %ss" % timeout) for _ in lines]
    except OSError as e:
        return [Result(missing="cannot run vnet: %s" % e) for _ in lines]
    recs = []
    bad = None
    for raw in _dec(p.stdout).split("\n"):
        if not raw.strip():
            continue
        try:
            recs.append(json.loads(raw))
        except ValueError:
            bad = bad or raw
    out = []
    why = "vnet produced no record for this line (vnet exit %d%s%s)" % (
        p.returncode, ("; stderr: " + _dec(p.stderr).strip()[-400:]) if p.stderr.strip() else "",
        ("; unparsable output line: " + bad[:200]) if bad else "")
    for i, ln in enumerate(lines):
        if i >= len(recs):
            out.append(Result(missing=why))
            continue
        rec = recs[i]
        r = Result(rec.get("stdout", ""), rec.get("stderr", ""), rec.get("exit", 0))
        if rec.get("cmd") is not None and rec.get("cmd") != ln:
            r.missing = "vnet record %d is for %r, expected %r" % (i + 1, rec.get("cmd"), ln)
        out.append(r)
    return out


# ----------------------------------------------------------------------------
# Comparison
# ----------------------------------------------------------------------------


def json_flag(text: str) -> bool:
    toks = text.split()
    if not toks or toks[0] != "ip":
        return False
    for t in toks[1:]:
        if not t.startswith("-"):
            return False
        if t in ("-j", "-json"):
            return True
    return False


def is_neigh_show(text: str) -> bool:
    return bool(re.match(r"^ip\s+(-j\s+)?n(e|ei|eig|eigh|eighbor|eighbour)?\s+(show|list|ls|sh)?\b", text + " ")) \
        and "add" not in text.split() and "del" not in text.split()


def is_link_json_dump(text: str) -> bool:
    return bool(re.match(r"^ip\s+-j\s+l(ink)?(\s+(show|list|ls))?(\s|$)", text))


def strip_mac(obj):
    if isinstance(obj, list):
        return [strip_mac(o) for o in obj]
    if isinstance(obj, dict):
        return {k: v for k, v in obj.items() if k not in ("address", "broadcast", "permaddr")}
    return obj


# Replayed files (the seed examples) do not pin MAC addresses, so the kernel picks random ones;
# then interface MACs are masked in link and address dumps.
MASK_MACS = False
MAC_TEXT_RE = re.compile(r"(link/ether )[0-9a-f]{2}(:[0-9a-f]{2}){5}")


def normalized_stdout(cmd: str, out: str):
    """What is compared of stdout: parsed JSON for -j, sorted lines for neighbour dumps (the kernel's
    neighbour hash is seeded randomly, so their order is not deterministic), else the exact text."""
    if MASK_MACS:
        out = MAC_TEXT_RE.sub(r"\1<mac>", out)
    if json_flag(cmd) and not re.search(r"[;&|]", cmd):
        try:
            obj = json.loads(out) if out.strip() else None
        except ValueError:
            return ("text", out)
        if is_link_json_dump(cmd) or (MASK_MACS and re.search(r"\ba(ddr(ess)?)?\b", cmd)):
            obj = strip_mac(obj)
        if is_neigh_show(cmd) and isinstance(obj, list):
            obj = sorted(obj, key=lambda o: json.dumps(o, sort_keys=True))
        return ("json", obj)
    if is_neigh_show(cmd):
        return ("lines", sorted(out.splitlines()))
    return ("text", out)


NH_JSON_KEYS = ("gateway", "dev", "prefsrc", "flags", "cache")
NH_TEXT_ARGS = ("via", "dev", "src")
NH_TEXT_FLAGS = ("onlink", "linkdown", "dead", "pervasive")


def _strip_nh_text(out: str):
    toks = out.split()
    rest, gw, dev, skip = [], None, None, False
    for i, t in enumerate(toks):
        if skip:
            skip = False
            continue
        if t in NH_TEXT_ARGS and i + 1 < len(toks):
            if t == "via":
                gw = toks[i + 1]
            elif t == "dev":
                dev = toks[i + 1]
            skip = True
            continue
        if t in NH_TEXT_FLAGS or t == "<redirect>":
            continue
        rest.append(t)
    return rest, gw, dev


def multipath_agree(cmd: str, kout: str, vout: str, fib: Result | None) -> bool:
    """True if the two answers differ only in the nexthop chosen from a multipath route and vnet's
    nexthop is one of the route's nexthops (kernel's `ip -j route get ... fibmatch`)."""
    if fib is None or fib.exit != 0:
        return False
    try:
        f = json.loads(fib.stdout)
        nhs = f[0]["nexthops"]
    except (ValueError, KeyError, IndexError, TypeError):
        return False
    if len(nhs) < 2:
        return False
    allowed = {(nh.get("gateway"), nh.get("dev")) for nh in nhs}
    # Multicast and broadcast answers drop the gateway; then only the device is chosen.
    allowed |= {(None, nh.get("dev")) for nh in nhs}
    if json_flag(cmd):
        try:
            kj, vj = json.loads(kout), json.loads(vout)
        except ValueError:
            return False
        if not (isinstance(kj, list) and isinstance(vj, list) and len(kj) == len(vj)):
            return False
        for k, v in zip(kj, vj):
            if not isinstance(v, dict) or (v.get("gateway"), v.get("dev")) not in allowed:
                return False
            # <redirect> follows from the nexthop (it is set when it points back out of iif).
            if [c for c in k.get("cache", []) if c != "redirect"] != \
                    [c for c in v.get("cache", []) if c != "redirect"]:
                return False
            if {a: b for a, b in k.items() if a not in NH_JSON_KEYS} != \
                    {a: b for a, b in v.items() if a not in NH_JSON_KEYS}:
                return False
        return True
    krest, _, _ = _strip_nh_text(kout)
    vrest, vgw, vdev = _strip_nh_text(vout)
    return krest == vrest and (vgw, vdev) in allowed


def compare(cmd: str, k: Result, v: Result, fib: Result | None):
    """Returns (agree, [reasons]); agreeing with a reason means the multipath rule was applied."""
    if k.missing:
        return False, [k.missing]
    if v.missing:
        return False, [v.missing]
    why = []
    if k.exit != v.exit:
        why.append("exit status differs")
    if k.stderr != v.stderr:
        why.append("stderr differs")
    kn, vn = normalized_stdout(cmd, k.stdout), normalized_stdout(cmd, v.stdout)
    if kn != vn:
        if kn[0] == "json" and vn[0] != "json":
            why.append("stdout differs (vnet's is not valid JSON)")
        elif not why and is_route_get(cmd) and multipath_agree(cmd, k.stdout, v.stdout, fib):
            return True, ["multipath: vnet chose another nexthop of the route"]
        else:
            why.append("stdout differs" + (" (JSON)" if kn[0] == "json" else ""))
    return not why, why


def json_first_diff(a, b, path="$"):
    if type(a) is not type(b):
        return "%s: kernel %s, vnet %s" % (path, json.dumps(a)[:300], json.dumps(b)[:300])
    if isinstance(a, dict):
        for key in list(a) + [x for x in b if x not in a]:
            if key not in b:
                return "%s: key %r only in kernel (value %s)" % (path, key, json.dumps(a[key])[:200])
            if key not in a:
                return "%s: key %r only in vnet (value %s)" % (path, key, json.dumps(b[key])[:200])
            d = json_first_diff(a[key], b[key], "%s.%s" % (path, key))
            if d:
                return d
        return None
    if isinstance(a, list):
        for i, (x, y) in enumerate(zip(a, b)):
            d = json_first_diff(x, y, "%s[%d]" % (path, i))
            if d:
                return d
        if len(a) != len(b):
            return "%s: kernel has %d elements, vnet %d" % (path, len(a), len(b))
        return None
    return None if a == b else "%s: kernel %s, vnet %s" % (path, json.dumps(a), json.dumps(b))


def show_stream(label: str, kt: str, vt: str, out):
    if kt == vt:
        return
    print("  %s:" % label, file=out)
    for who, t in (("kernel", kt), ("vnet", vt)):
        if t == "":
            print("    %-6s (empty)" % who, file=out)
            continue
        body = t.split("\n")
        if body and body[-1] == "":
            body = body[:-1]
        print("    %-6s %s" % (who, "(no trailing newline)" if not t.endswith("\n") else ""), file=out)
        for ln in body:
            print("      |%s" % ln, file=out)
    if kt.strip() == vt.strip() or kt.replace(" ", "") == vt.replace(" ", ""):
        print("    (whitespace only) kernel %r" % kt[:500], file=out)
        print("                      vnet   %r" % vt[:500], file=out)


def report_mismatch(ctx: str, n: int, item, k: Result, v: Result, fib, why, out=sys.stdout):
    print("--- MISMATCH %s line %d [%s]: %s" % (ctx, n, item.kind, "; ".join(why)), file=out)
    print("  $ %s" % item.text, file=out)
    if k.missing or v.missing:
        print("  %s" % (k.missing or v.missing), file=out)
        if v.missing and not k.missing:
            print("  kernel: exit %d, stdout %r, stderr %r" % (k.exit, k.stdout[:300], k.stderr[:300]), file=out)
        return
    if k.exit != v.exit:
        print("  exit:   kernel %d, vnet %d" % (k.exit, v.exit), file=out)
    show_stream("stderr", k.stderr, v.stderr, out)
    kn, vn = normalized_stdout(item.text, k.stdout), normalized_stdout(item.text, v.stdout)
    if kn != vn:
        if kn[0] == "json" and vn[0] == "json":
            print("  stdout (JSON) first difference: %s" % json_first_diff(kn[1], vn[1]), file=out)
        show_stream("stdout", k.stdout, v.stdout, out)
        if fib is not None and fib.exit == 0 and "nexthops" in fib.stdout:
            print("  (kernel fibmatch: %s)" % fib.stdout.strip()[:400], file=out)


# ----------------------------------------------------------------------------
# Config files (--dump-config / --replay)
# ----------------------------------------------------------------------------


def write_config(cfg: gen.Config, path: str):
    with open(path, "w") as f:
        f.write("# vnetdiff configuration: seed %d, index %d (tests/diff/gen.py)\n" % (cfg.seed, cfg.index))
        f.write("# replay: tests/diff/kernel_diff.py --replay %s --vnet PATH\n" % os.path.basename(path))
        for ln in cfg.lines:
            f.write(ln.text + "\n")
        f.write("# --- queries\n")
        for ln in cfg.queries:
            f.write(ln.text + "\n")
        f.write("# --- dumps\n")
        for ln in cfg.dumps:
            f.write(ln.text + "\n")


def read_config(path: str) -> gen.Config:
    sec = {"lines": [], "queries": [], "dumps": []}
    cur = "lines"
    with open(path) as f:
        for raw in f:
            s = raw.rstrip("\n")
            if s.strip().startswith("# --- queries"):
                cur = "queries"
                continue
            if s.strip().startswith("# --- dumps"):
                cur = "dumps"
                continue
            if not s.strip() or s.lstrip().startswith("#"):
                continue
            kind = {"lines": "replay", "queries": "query", "dumps": "dump:final"}[cur]
            sec[cur].append(gen.Line(s, kind, "any"))
    if not sec["dumps"]:
        sec["dumps"] = [gen.Line(d, "dump:final", "ok") for d in gen.DUMPS]
    return gen.Config(0, 0, sec["lines"], sec["queries"], sec["dumps"])


# ----------------------------------------------------------------------------
# Main loop
# ----------------------------------------------------------------------------


def probe_dummy() -> bool:
    with KernelNS() as ns:
        r = ns.run("ip link add vnetdiffprobe type dummy")
    return r.exit == 0


class Stats:
    def __init__(self):
        self.n = collections.Counter()  # section -> items
        self.agree = collections.Counter()
        self.by_kind = collections.Counter()  # mismatches per kind
        self.kinds = collections.Counter()  # kernel-only: lines per kind
        self.kind_unexpected = collections.Counter()
        self.kind_failed = collections.Counter()
        self.examples = collections.defaultdict(list)
        self.errors = collections.Counter()  # kernel-only: error texts of queries
        self.verbose = False
        self.mp_gets = 0  # route gets answered by a multipath route
        self.mp_tolerated = 0  # ... where vnet chose another of its nexthops


def section_of(i: int, cfg: gen.Config) -> str:
    if i < len(cfg.lines):
        return "config lines"
    if i < len(cfg.lines) + len(cfg.queries):
        return "queries"
    return "dumps"


def kernel_only_account(cfg, items, kres, fibs, st: Stats):
    st.mp_gets += sum('"nexthops"' in f.stdout for f in fibs.values())
    for i, (it, r) in enumerate(zip(items, kres)):
        sec = section_of(i, cfg)
        st.n[sec] += 1
        st.kinds[it.kind] += 1
        failed = r.exit != 0
        if failed:
            st.kind_failed[it.kind] += 1
        if sec == "queries" or it.kind == "dump:route-get":
            q = "iif" if " iif " in it.text else "out"
            if failed:
                st.errors[(q, r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "exit %d" % r.exit)] += 1
                if st.verbose and len(st.examples.get("q-" + q, [])) < 12:
                    st.examples["q-" + q].append("%s  => %s" % (it.text, r.stderr.strip()[:100]))
            else:
                st.errors[(q, "(ok)")] += 1
        unexpected = (it.expect == "ok" and failed) or (it.expect == "fail" and not failed)
        if unexpected:
            st.kind_unexpected[it.kind] += 1
            if len(st.examples.get(it.kind, [])) < 3:
                st.examples[it.kind].append("%s  => exit %d %s" % (it.text, r.exit, r.stderr.strip()[:160]))


def print_kernel_only(st: Stats):
    tot = sum(st.kinds.values())
    print("\nkernel-only statistics (expect: what gen.py expected; failed: exit != 0 on the kernel)")
    print("  %-26s %6s %7s %8s %11s" % ("kind", "lines", "share", "failed", "unexpected"))
    for k in sorted(st.kinds):
        n = st.kinds[k]
        print("  %-26s %6d %6.1f%% %7.1f%% %11d" % (k, n, 100.0 * n / tot, 100.0 * st.kind_failed[k] / n,
                                                   st.kind_unexpected[k]))
    cfg_kinds = [k for k in st.kinds if not k.startswith("query") and k != "dump:final"]
    n_cfg = sum(st.kinds[k] for k in cfg_kinds)
    f_cfg = sum(st.kind_failed[k] for k in cfg_kinds)
    f_exp = sum(st.kind_failed[k] for k in cfg_kinds if k.startswith("fail:"))
    print("  config lines: %d, failed on the kernel: %d (%.1f%%), of which generated as expected failures: %d"
          % (n_cfg, f_cfg, 100.0 * f_cfg / max(1, n_cfg), f_exp))
    for q, title in (("out", "output route (no iif)"), ("iif", "input route (iif)")):
        qt = sum(c for (qq, _), c in st.errors.items() if qq == q)
        print("  route-get outcomes, %s: %d" % (title, qt))
        for (qq, e), c in st.errors.most_common():
            if qq == q:
                print("    %5d %5.1f%%  %s" % (c, 100.0 * c / max(1, qt), e))
    print("  route gets answered by a multipath route: %d" % st.mp_gets)
    if st.examples:
        print("  unexpected outcomes (first examples per kind):")
        for k in sorted(st.examples):
            for ex in st.examples[k]:
                print("    [%s] %s" % (k, ex))


def main(argv=None):
    ap = argparse.ArgumentParser(description="Differential test of vnet's routing engine against the kernel.")
    ap.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    ap.add_argument("--configs", type=int, default=60, help="number of random configurations (default 60)")
    ap.add_argument("--queries", type=int, default=40, help="route queries per configuration (default 40)")
    ap.add_argument("--only", type=int, default=None, metavar="I", help="run only configuration index I")
    ap.add_argument("--vnet", default=None, help="path of the vnet binary")
    ap.add_argument("--kernel-only", action="store_true",
                    help="run the generator against the kernel only and report failure rates by kind")
    ap.add_argument("--self-check", action="store_true",
                    help="compare the kernel against itself (second namespace in place of vnet): "
                         "finds nondeterminism the comparison must tolerate")
    ap.add_argument("--max-report", type=int, default=10, help="mismatches printed in full (default 10)")
    ap.add_argument("--keep-going", action="store_true", help="do not stop after the first disagreeing config")
    ap.add_argument("--replay", metavar="FILE", help="run one configuration from a file of lines")
    ap.add_argument("--dump-config", metavar="DIR", help="write each generated configuration to DIR")
    ap.add_argument("-v", "--verbose", action="store_true", help="kernel-only: show failing query examples")
    ap.add_argument("--no-dummy", action="store_true", help="never create dummy interfaces")
    ap.add_argument("--cleanup-stale", action="store_true",
                    help="first remove vnetdiff-* namespaces of runs that no longer exist")
    args = ap.parse_args(argv)

    if os.geteuid() != 0:
        print("kernel_diff.py needs root (network namespaces)", file=sys.stderr)
        return 2
    if not args.kernel_only and not args.self_check:
        if not args.vnet:
            print("give --vnet PATH (or --kernel-only / --self-check)", file=sys.stderr)
            return 2
        if not os.access(args.vnet, os.X_OK):
            print("vnet binary %r not found or not executable" % args.vnet, file=sys.stderr)
            return 2

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    atexit.register(cleanup_all)
    try:
        return run(args)
    finally:
        cleanup_all()


def run(args) -> int:
    t0 = time.time()
    if args.cleanup_stale:
        cleanup_stale()
    ipv = subprocess.run(["ip", "-V"], capture_output=True, text=True, env=ENV).stdout.strip()
    mode = "kernel-only" if args.kernel_only else "self-check" if args.self_check else "vnet %s" % args.vnet
    print("kernel_diff: seed %d, kernel %s, %s, mode: %s" % (args.seed, platform.release(), ipv, mode))
    dummy_ok = not args.no_dummy and probe_dummy()
    if not dummy_ok and not args.no_dummy:
        print("note: this kernel cannot create dummy interfaces (CONFIG_DUMMY off); generating veth only")
    if args.dump_config:
        os.makedirs(args.dump_config, exist_ok=True)

    if args.replay:
        global MASK_MACS
        MASK_MACS = True
        cfgs = [(None, read_config(args.replay))]
    else:
        idx = [args.only] if args.only is not None else range(args.configs)
        cfgs = [(i, None) for i in idx]

    st = Stats()
    st.verbose = args.verbose
    reported = 0
    failed_configs = []
    for i, cfg in cfgs:
        if cfg is None:
            cfg = gen.generate(args.seed, i, args.queries, dummy_ok)
        name = "replay %s" % args.replay if i is None else "config %d" % i
        path = None
        if args.dump_config and i is not None:
            path = os.path.join(args.dump_config, "config-%d-%03d.txt" % (args.seed, i))
            write_config(cfg, path)
        items = cfg.all_lines()
        texts = [it.text for it in items]
        kres, fibs = run_kernel(texts)
        if args.kernel_only:
            kernel_only_account(cfg, items, kres, fibs, st)
            continue
        vres = run_kernel(texts)[0] if args.self_check else run_vnet(args.vnet, texts)
        bad = 0
        for n, (it, k, v) in enumerate(zip(items, kres, vres)):
            sec = section_of(n, cfg)
            st.n[sec] += 1
            ok, why = compare(it.text, k, v, fibs.get(n))
            if fibs.get(n) is not None and '"nexthops"' in fibs[n].stdout:
                st.mp_gets += 1
            if ok:
                st.agree[sec] += 1
                st.mp_tolerated += bool(why)
                continue
            bad += 1
            st.by_kind[it.kind] += 1
            if reported < args.max_report:
                reported += 1
                report_mismatch(name + ("" if sec == "config lines" else " (%s)" % sec), n + 1, it, k, v,
                                fibs.get(n), why)
        if bad:
            how = ("replay: %s --replay %s --vnet PATH" % (sys.argv[0], path)) if path else \
                ("reproduce: %s --seed %d --only %d --vnet PATH [--dump-config DIR]" % (sys.argv[0], args.seed, i)
                 if i is not None else "")
            print("=== %s: %d disagreements. %s" % (name, bad, how))
            failed_configs.append(name)
            if not args.keep_going:
                print("stopping after the first disagreeing configuration (use --keep-going to run all)")
                break

    secs = ("config lines", "queries", "dumps")
    ncfg = len(cfgs)
    dt = time.time() - t0
    if args.kernel_only:
        print_kernel_only(st)
        print("configs: %d, config lines: %d, queries: %d, dumps: %d, time %.1fs"
              % (ncfg, st.n["config lines"], st.n["queries"], st.n["dumps"], dt))
        return 0
    print("configs: %d, %s, time %.1fs" % (
        ncfg, ", ".join("%s: %d (agree %d)" % (s, st.n[s], st.agree[s]) for s in secs), dt))
    print("route gets that hit a multipath route: %d (vnet chose another nexthop of it: %d)"
          % (st.mp_gets, st.mp_tolerated))
    if st.by_kind:
        print("disagreements by kind: " + ", ".join("%s %d" % kv for kv in st.by_kind.most_common()))
    passed = sum(st.agree.values())
    failed = sum(st.n.values()) - passed
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
