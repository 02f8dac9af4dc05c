// `ipvsadm` 1.31 over a node's IpvsTable: the same commands, options, checks, messages, exit
// codes and listings as ipvsadm.c and libipvs of ipvsadm-1.31 (2019/12/24), whose source the
// formats were taken from (print_title, print_service_entry, print_largenum, list_timeout,
// generic_opt_check's commands_v_options table, ipvs_strerror).
//
// Input: argv (argv[0] "ipvsadm"), the text on stdin for -R, and how the node resolves names
// (/etc/hosts and services) for listings without -n.  Output: stdout, stderr, exit status
// (2 for a usage error, 255 for a refused operation, as the real one returns -1).
//
// Example: {"ipvsadm", "-A", "-t", "192.168.73.120:80", "-s", "rr"}, then `ipvsadm -L -n`:
//   IP Virtual Server version 1.2.1 (size=4096)
//   Prot LocalAddress:Port Scheduler Flags
//     -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
//   TCP  192.168.73.120:80 rr
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "lb/ipvs_table.h"

namespace vnet::lb {

struct IpvsadmResult {
  std::string out;
  std::string err;
  int status = 0;
};

struct IpvsadmNames {
  // A host name for an address (reverse /etc/hosts), for listings without -n.
  std::function<std::optional<std::string>(net::Ipv4Addr)> host_of;
  // An address for a host name, for -t web:80.
  std::function<std::optional<net::Ipv4Addr>(const std::string&)> addr_of;
  // Whether an address is the node's own: such a real server forwards as "Local".
  std::function<bool(net::Ipv4Addr)> is_local;
  // The node's virtual time, for the expiry column of -L -c.
  uint64_t now_ns = 0;
};

IpvsadmResult run_ipvsadm(IpvsTable& table, const std::vector<std::string>& argv,
                          const std::string& input = {}, const IpvsadmNames& names = {});

// The rules in `ipvsadm -S -n` form (what /etc/init.d/ipvsadm save writes).
std::string ipvsadm_save(const IpvsTable& table, bool numeric);

// Port names from the netbase package's /etc/services for the ports ipvsadm users meet.
std::optional<std::string> service_name(uint16_t port, uint8_t protocol);
std::optional<uint16_t> service_port(const std::string& name, uint8_t protocol);

}  // namespace vnet::lb
