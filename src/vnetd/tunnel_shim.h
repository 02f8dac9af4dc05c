// The receive half of the kernel's ipip and ip_gre modules, for kernels built without them, in
// `--real` labs: a Linux node whose lab runs `modprobe ipip` gets a TUN device named tunl0
// (`modprobe ip_gre`: gre0) and this process, which reads the IPIP (GRE) packets addressed to
// the namespace from a raw IP socket of protocol 4 (47), strips the outer header and writes the
// inner packet into the TUN device.  The namespace's own kernel then receives it on tunl0, as
// it would after the module's decapsulation, and answers it with its own TCP stack: what an
// LVS-TUN real server needs.
//
// What it does not do: transmit.  A packet the kernel routes into tunl0 would need the route's
// next hop as the outer destination (the fallback device has no remote), which a TUN reader
// cannot see; such packets are counted and dropped.  Keyed, checksummed or sequenced GRE
// tunnels, ip_gre's named tunnels and ICMP errors about the tunnel are not modelled either.
//
// Run as `ip netns exec NS vnetd --name NS-tunl0 --tunnel ipip`; SIGTERM removes the device.
#pragma once

#include <string>

namespace vnet::vnetd {

// kind: "ipip" or "gre".  Returns the exit status (0 after SIGTERM/SIGINT, 1 on a setup error).
int run_tunnel_shim(const std::string& kind, const std::string& name);

}  // namespace vnet::vnetd
