#include "sim/learning_bridge.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "sim/sim.h"
#include "test_elements.h"

namespace vnet::sim {
namespace {

using test::Bytes;
using test::mac;
using test::Probe;
using Drop = LearningBridge::Drop;

constexpr uint64_t kSecond = 1'000'000'000;

// A bridge "br" with `ports` ports; host h<i> (a Probe with MAC 02:00:00:00:00:0i) on port i.
class BridgeTest : public ::testing::Test {
 protected:
  void build(int ports, uint64_t ageing_ns = LearningBridge::kDefaultAgeingNs) {
    auto owned = std::make_unique<LearningBridge>(ports, ageing_ns);
    bridge = owned.get();
    br = *sim.add_element("br", std::move(owned));
    for (int i = 1; i <= ports; ++i) {
      auto probe = std::make_unique<Probe>();
      hosts.push_back(probe.get());
      std::string name = "h";  // not "h" + to_string(i): GCC 12 -O3 warns falsely (-Wrestrict)
      name += std::to_string(i);
      host_ids.push_back(*sim.add_element(std::move(name), std::move(probe)));
      ASSERT_TRUE(sim.connect(host_ids.back(), 1, br, i));
    }
  }

  // Host i sends a frame from its own MAC (or `source`) to `destination`, and the sim settles.
  void send(int host, net::MacAddr destination, std::optional<net::MacAddr> source = {}) {
    hosts[host - 1]->send(1, test::data_frame(destination, source.value_or(mac(host)), ++seq));
    sim.run_until(sim.now_ns());
  }

  // Which hosts received the last frame sent (sequence seq), in host order.
  std::vector<int> receivers() const {
    std::vector<int> out;
    for (size_t i = 0; i < hosts.size(); ++i) {
      for (const auto& r : hosts[i]->received) {
        if (test::sequence_of(r.frame) == seq) out.push_back(static_cast<int>(i + 1));
      }
    }
    return out;
  }

  Sim sim{1};
  LearningBridge* bridge = nullptr;
  ElementId br;
  std::vector<Probe*> hosts;
  std::vector<ElementId> host_ids;
  uint32_t seq = 0;
};

TEST_F(BridgeTest, FloodsUnknownThenForwardsLearned) {
  build(4);
  send(1, mac(2));  // h2 unknown: flooded to every other port
  EXPECT_EQ(receivers(), (std::vector<int>{2, 3, 4}));
  EXPECT_EQ(bridge->lookup(mac(1), sim.now_ns()), 1);
  send(2, mac(1));  // h1 learned on port 1: sent there only
  EXPECT_EQ(receivers(), std::vector<int>{1});
  send(1, mac(2));  // and now h2 is known too
  EXPECT_EQ(receivers(), std::vector<int>{2});
  const LearningBridge::Counters& c = bridge->counters();
  EXPECT_EQ(c.rx_frames, 3u);
  EXPECT_EQ(c.flooded_frames, 1u);
  EXPECT_EQ(c.forwarded_frames, 2u);
  EXPECT_EQ(c.tx_frames, 5u);
  EXPECT_EQ(bridge->fdb().size(), 2u);
}

TEST_F(BridgeTest, FloodsBroadcastAndMulticastButNeverBackToIngress) {
  build(3);
  send(2, mac(1));
  send(1, mac(2));  // h2 learned on 2
  send(1, net::MacAddr::broadcast());
  EXPECT_EQ(receivers(), (std::vector<int>{2, 3}));
  send(3, net::MacAddr(0x01, 0x00, 0x5e, 0x00, 0x00, 0x01));  // IPv4 all-hosts group
  EXPECT_EQ(receivers(), (std::vector<int>{1, 2}));
  // STP is off, so BPDUs to the bridge group address are flooded as Linux does.
  send(3, net::MacAddr(0x01, 0x80, 0xc2, 0x00, 0x00, 0x00));
  EXPECT_EQ(receivers(), (std::vector<int>{1, 2}));
  // Other IEEE link-local groups (here LLDP) are not forwarded.
  send(3, net::MacAddr(0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e));
  EXPECT_TRUE(receivers().empty());
  EXPECT_EQ(bridge->counters().dropped(Drop::LinkLocal), 1u);
  // ... but the sender was learned all the same.
  EXPECT_EQ(bridge->lookup(mac(3), sim.now_ns()), 3);
}

TEST_F(BridgeTest, DropsInvalidSources) {
  build(2);
  send(1, net::MacAddr::broadcast(), net::MacAddr(0x01, 0, 0x5e, 0, 0, 9));
  send(1, net::MacAddr::broadcast(), net::MacAddr());
  EXPECT_TRUE(receivers().empty());
  EXPECT_EQ(bridge->counters().dropped(Drop::InvalidSource), 2u);
  EXPECT_TRUE(bridge->fdb().empty());
}

TEST_F(BridgeTest, DropsFramesForTheIngressPort) {
  build(2);
  // h1's port also reaches a station 02:..:07 (as if a hub were behind it).
  send(1, net::MacAddr::broadcast(), mac(7));
  send(1, mac(7));
  EXPECT_TRUE(receivers().empty());
  EXPECT_EQ(bridge->counters().dropped(Drop::SamePort), 1u);
}

TEST_F(BridgeTest, StationMovesToTheNewPort) {
  build(3);
  send(2, net::MacAddr::broadcast(), mac(9));
  EXPECT_EQ(bridge->lookup(mac(9), sim.now_ns()), 2);
  send(3, net::MacAddr::broadcast(), mac(9));
  EXPECT_EQ(bridge->lookup(mac(9), sim.now_ns()), 3);
  send(1, mac(9));
  EXPECT_EQ(receivers(), std::vector<int>{3});
}

TEST_F(BridgeTest, EntriesAgeOutAfterThreeHundredSeconds) {
  build(3);
  send(2, net::MacAddr::broadcast());
  EXPECT_EQ(bridge->next_deadline_ns(), 300 * kSecond);
  sim.run_until(300 * kSecond - 1);
  EXPECT_EQ(bridge->lookup(mac(2), sim.now_ns()), 2);
  send(1, mac(2));
  EXPECT_EQ(receivers(), std::vector<int>{2});
  // h1 was learned at 300 s - 1 ns.  At exactly 300 s h2's entry is gone.
  sim.run_until(300 * kSecond);
  EXPECT_EQ(bridge->lookup(mac(2), sim.now_ns()), std::nullopt);
  EXPECT_EQ(bridge->fdb().size(), 1u);
  EXPECT_EQ(bridge->next_deadline_ns(), 600 * kSecond - 1);
  send(1, mac(2));
  EXPECT_EQ(receivers(), (std::vector<int>{2, 3}));  // flooded again
  // With no more traffic the table empties and the simulation goes idle.
  EXPECT_TRUE(sim.run_until_idle(3600 * kSecond));
  EXPECT_EQ(sim.now_ns(), 600 * kSecond);
  EXPECT_TRUE(bridge->fdb().empty());
  EXPECT_EQ(bridge->next_deadline_ns(), kNoDeadline);
}

TEST_F(BridgeTest, TrafficRefreshesEntries) {
  build(2);
  send(2, net::MacAddr::broadcast());
  sim.run_until(100 * kSecond);
  send(2, net::MacAddr::broadcast());
  sim.run_until(300 * kSecond);  // the sweep at 300 s keeps the refreshed entry
  EXPECT_EQ(bridge->lookup(mac(2), sim.now_ns()), 2);
  EXPECT_EQ(bridge->next_deadline_ns(), 400 * kSecond);
  sim.run_until(400 * kSecond);
  EXPECT_TRUE(bridge->fdb().empty());
}

TEST_F(BridgeTest, ShortAgeingTime) {
  build(2, /*ageing_ns=*/1000);
  send(2, net::MacAddr::broadcast());
  sim.run_until(999);
  EXPECT_EQ(bridge->lookup(mac(2), sim.now_ns()), 2);
  sim.run_until(1000);
  EXPECT_TRUE(bridge->fdb().empty());
}

TEST_F(BridgeTest, PortWithoutCarrierIsSkippedAndForgotten) {
  build(3);
  send(3, net::MacAddr::broadcast());
  EXPECT_EQ(bridge->lookup(mac(3), sim.now_ns()), 3);
  ASSERT_EQ(sim.set_port_admin(host_ids[2], 1, false), std::nullopt);
  EXPECT_FALSE(bridge->carrier(3));
  EXPECT_EQ(bridge->lookup(mac(3), sim.now_ns()), std::nullopt);  // flushed
  send(1, net::MacAddr::broadcast());
  EXPECT_EQ(receivers(), std::vector<int>{2});
  EXPECT_EQ(sim.counters().dropped(DropReason::Down), 0u);  // never sent towards h3
  ASSERT_EQ(sim.set_port_admin(host_ids[2], 1, true), std::nullopt);
  send(1, net::MacAddr::broadcast());
  EXPECT_EQ(receivers(), (std::vector<int>{2, 3}));
}

TEST_F(BridgeTest, DropsRuntsAndFramesOnPortsWithoutCarrier) {
  build(2);
  auto spare = std::make_unique<LearningBridge>(4);
  LearningBridge* b = spare.get();
  ElementId id = *sim.add_element("spare", std::move(spare));
  ASSERT_EQ(sim.inject(id, 1, Bytes(10, std::byte{0})), std::nullopt);
  ASSERT_EQ(sim.inject(id, 1, test::data_frame(mac(2), mac(1), 1)), std::nullopt);
  EXPECT_EQ(sim.inject(id, 5, test::data_frame(mac(2), mac(1), 1)), SimError::BadPort);
  EXPECT_TRUE(sim.run_until_idle(kSecond));
  EXPECT_EQ(b->counters().dropped(Drop::Runt), 1u);
  EXPECT_EQ(b->counters().dropped(Drop::PortDown), 1u);
  EXPECT_STREQ(LearningBridge::to_string(Drop::InvalidSource), "invalid_source");
}

}  // namespace
}  // namespace vnet::sim
