// The ipip/ip_gre receive shim (tunnel_shim.h).
#include "vnetd/tunnel_shim.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "wire/endian.h"

namespace vnet::vnetd {

namespace {

struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// The inner packet of an IPIP or GRE datagram, or an empty span when it has none.
std::span<const std::byte> inner_of(std::span<const std::byte> outer, bool gre, const char** why) {
  if (outer.size() < 20 || (static_cast<uint8_t>(outer[0]) >> 4) != 4) {
    *why = "not IPv4";
    return {};
  }
  size_t ihl = size_t{static_cast<uint8_t>(outer[0]) & 0x0fu} * 4;
  if (ihl < 20 || outer.size() < ihl) {
    *why = "bad outer header length";
    return {};
  }
  std::span<const std::byte> p = outer.subspan(ihl);
  if (gre) {
    // RFC 2784/2890: C, K and S each add four bytes; version 0, payload IPv4 only.
    if (p.size() < 4) {
      *why = "short GRE header";
      return {};
    }
    uint16_t flags = wire::load_be16(p, 0);
    uint16_t proto = wire::load_be16(p, 2);
    if ((flags & 0x0007) != 0 || (flags & 0x4000) || proto != 0x0800) {
      *why = "GRE version, routing or payload not handled";
      return {};
    }
    size_t hlen =
        4 + ((flags & 0x8000) ? 4 : 0) + ((flags & 0x2000) ? 4 : 0) + ((flags & 0x1000) ? 4 : 0);
    if ((flags & 0x2000) != 0) {
      // A keyed tunnel is a named ip_gre device; gre0 takes only key-less packets.
      *why = "GRE key (gre0 takes key-less packets only)";
      return {};
    }
    if (p.size() < hlen) {
      *why = "short GRE header";
      return {};
    }
    p = p.subspan(hlen);
  }
  if (p.size() < 20 || (static_cast<uint8_t>(p[0]) >> 4) != 4) {
    *why = "inner packet is not IPv4";
    return {};
  }
  return p;
}

}  // namespace

int run_tunnel_shim(const std::string& kind, const std::string& name) {
  bool gre = kind == "gre";
  const char* dev = gre ? "gre0" : "tunl0";
  // ip_tunnel_bind_dev() on a 1500-byte underlay: IPIP 1480, GRE 1476.
  int mtu = gre ? 1476 : 1480;
  Fd tun(::open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK));
  if (tun.fd < 0) {
    spdlog::error("{}: /dev/net/tun: {}", name, std::strerror(errno));
    return 1;
  }
  ifreq ifr{};
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  std::strncpy(ifr.ifr_name, dev, IFNAMSIZ - 1);
  if (::ioctl(tun.fd, TUNSETIFF, &ifr) != 0) {
    spdlog::error("{}: TUNSETIFF {}: {}", name, dev, std::strerror(errno));
    return 1;
  }
  {
    Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq m{};
    std::strncpy(m.ifr_name, dev, IFNAMSIZ - 1);
    m.ifr_mtu = mtu;
    if (s.fd < 0 || ::ioctl(s.fd, SIOCSIFMTU, &m) != 0) {
      spdlog::warn("{}: mtu {} on {}: {}", name, mtu, dev, std::strerror(errno));
    }
  }
  Fd raw(
      ::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, gre ? IPPROTO_GRE : IPPROTO_IPIP));
  if (raw.fd < 0) {
    spdlog::error("{}: raw socket for protocol {}: {}", name, gre ? 47 : 4, std::strerror(errno));
    return 1;
  }
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  Fd sig(::signalfd(-1, &mask, SFD_CLOEXEC));
  spdlog::info("{}: {} is a TUN device fed from raw protocol {} (mtu {})", name, dev, gre ? 47 : 4,
               mtu);

  uint64_t decapsulated = 0, refused = 0, tx_dropped = 0;
  std::array<std::byte, 65536> buf{};
  while (true) {
    pollfd fds[3] = {{raw.fd, POLLIN, 0}, {tun.fd, POLLIN, 0}, {sig.fd, POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      spdlog::error("{}: poll: {}", name, std::strerror(errno));
      return 1;
    }
    if (fds[2].revents & POLLIN) break;
    if (fds[0].revents & POLLIN) {
      while (true) {
        ssize_t n = ::recv(raw.fd, buf.data(), buf.size(), 0);
        if (n <= 0) break;
        const char* why = "";
        auto inner = inner_of(std::span(buf.data(), static_cast<size_t>(n)), gre, &why);
        if (inner.empty()) {
          ++refused;
          spdlog::debug("{}: dropped a {}-byte packet: {}", name, n, why);
          continue;
        }
        if (::write(tun.fd, inner.data(), inner.size()) < 0) {
          // EIO while the device is down: the kernel's tunl0 drops those too.
          ++refused;
          spdlog::debug("{}: {} write: {}", name, dev, std::strerror(errno));
          continue;
        }
        ++decapsulated;
      }
    }
    if (fds[1].revents & POLLIN) {
      while (::read(tun.fd, buf.data(), buf.size()) > 0) ++tx_dropped;
    }
  }
  spdlog::info("{}: stopping: {} packets decapsulated, {} refused, {} sent into {} dropped", name,
               decapsulated, refused, tx_dropped, dev);
  return 0;
}

}  // namespace vnet::vnetd
