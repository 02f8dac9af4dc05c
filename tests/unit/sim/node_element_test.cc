// NodeElement: the adapter between the simulator and stack::Node.  These tests check the
// adapter (ports, names, carrier, frames both ways), not the Node's packet path, which has its
// own tests; the one packet exchanged is an ARP request the node must answer (arp_rcv()).
#include "sim/node_element.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "sim/sim.h"
#include "test_elements.h"
#include "wire/arp.h"
#include "wire/ethernet.h"

namespace vnet::sim {
namespace {

using test::Probe;

const net::MacAddr kNodeMac(0x02, 0, 0, 0, 0, 0x01);

TEST(NodeElement, PortsAreIfindexesNamedAfterDevices) {
  auto element = std::make_unique<NodeElement>(std::make_unique<stack::Node>());
  NodeElement::PortResult eth0 = element->add_link_port("eth0", kNodeMac);
  ASSERT_TRUE(eth0.status.ok()) << eth0.status.message;
  EXPECT_GT(eth0.ifindex, stack::Node::kLoopbackIfindex);
  EXPECT_EQ(element->node().device(eth0.ifindex)->mac, kNodeMac);
  EXPECT_EQ(element->port_name(eth0.ifindex), "eth0");
  EXPECT_EQ(element->port_name(stack::Node::kLoopbackIfindex), "lo");
  EXPECT_TRUE(element->has_port(eth0.ifindex));
  EXPECT_FALSE(element->has_port(99));
  EXPECT_EQ(element->port_name(99), "99");
  NodeElement::PortResult again = element->add_link_port("eth0");
  EXPECT_FALSE(again.status.ok());
  EXPECT_EQ(again.ifindex, 0);
}

TEST(NodeElement, CarrierFollowsTheFarEnd) {
  Sim sim(1);
  auto owned = std::make_unique<NodeElement>(std::make_unique<stack::Node>());
  NodeElement* h1 = owned.get();
  int eth0 = h1->add_link_port("eth0", kNodeMac).ifindex;
  ElementId h1_id = *sim.add_element("h1", std::move(owned));
  ElementId probe_id = *sim.add_element("probe", std::make_unique<Probe>());
  EXPECT_EQ(sim.connect(h1_id, 99, probe_id, 1).error(), SimError::BadPort);
  EXPECT_FALSE(h1->node().device(eth0)->carrier);
  ASSERT_TRUE(sim.connect(h1_id, eth0, probe_id, 1));
  EXPECT_TRUE(h1->node().device(eth0)->carrier);
  ASSERT_EQ(sim.set_port_admin(probe_id, 1, false), std::nullopt);
  EXPECT_FALSE(h1->node().device(eth0)->carrier);
  ASSERT_EQ(sim.set_port_admin(probe_id, 1, true), std::nullopt);
  EXPECT_TRUE(h1->node().device(eth0)->carrier);
}

TEST(NodeElement, NodeAnswersArpThroughTheSimulator) {
  Sim sim(1);
  auto owned = std::make_unique<NodeElement>(std::make_unique<stack::Node>());
  NodeElement* h1 = owned.get();
  int eth0 = h1->add_link_port("eth0", kNodeMac).ifindex;
  stack::IfAddr addr;
  addr.local = addr.address = net::Ipv4Addr::from_octets(192, 0, 2, 1);
  addr.prefixlen = 24;
  ASSERT_TRUE(h1->node().addr_add(eth0, addr).ok());
  ASSERT_TRUE(h1->node().link_set_up(eth0, true).ok());
  ElementId h1_id = *sim.add_element("h1", std::move(owned));
  auto probe_owned = std::make_unique<Probe>();
  Probe* probe = probe_owned.get();
  ElementId probe_id = *sim.add_element("probe", std::move(probe_owned));
  ASSERT_TRUE(sim.connect(h1_id, eth0, probe_id, 1, {.delay_ns = 1000}));

  // Who has 192.0.2.1?  Tell 192.0.2.2 (02:00:00:00:00:02).
  probe->send(1, test::arp_request(2, 1));
  sim.run_until(1'000'000'000);  // not run_until_idle: the new neighbour entry may keep timers
  ASSERT_EQ(probe->received.size(), 1u);
  EXPECT_EQ(probe->received[0].time_ns, 2000u);  // one delay there, one back
  const test::Bytes& reply = probe->received[0].frame;
  wire::EthernetConstView ethernet(reply);
  ASSERT_EQ(ethernet.check(), std::nullopt);
  EXPECT_EQ(ethernet.destination(), test::mac(2));
  EXPECT_EQ(ethernet.source(), kNodeMac);
  EXPECT_EQ(ethernet.payload_ethertype(), wire::EtherType::Arp);
  wire::WireResult<wire::ArpRepr> arp =
      wire::ArpRepr::parse(wire::ArpConstView(ethernet.payload()));
  ASSERT_TRUE(arp.has_value());
  EXPECT_EQ(arp->operation, wire::ArpOperation::Reply);
  EXPECT_EQ(arp->sender_hardware_address, kNodeMac);
  EXPECT_EQ(arp->sender_protocol_address, net::Ipv4Addr::from_octets(192, 0, 2, 1));
  EXPECT_EQ(arp->target_protocol_address, net::Ipv4Addr::from_octets(192, 0, 2, 2));
}

}  // namespace
}  // namespace vnet::sim
