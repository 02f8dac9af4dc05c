#include "sim/sim.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "sim/learning_bridge.h"
#include "test_elements.h"

namespace vnet::sim {
namespace {

using test::Alarm;
using test::Bytes;
using test::Echo;
using test::Forwarder;
using test::Probe;

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kUs = 1'000;

// Adds an element and returns its id and a pointer the test keeps.
template <typename T, typename... Args>
std::pair<ElementId, T*> add(Sim& sim, const std::string& name, Args&&... args) {
  auto owned = std::make_unique<T>(std::forward<Args>(args)...);
  T* raw = owned.get();
  SimResult<ElementId> id = sim.add_element(name, std::move(owned));
  EXPECT_TRUE(id.has_value()) << name;
  return {*id, raw};
}

std::vector<std::string> formatted_trace(const Sim& sim) {
  std::vector<std::string> out;
  for (const TraceRecord& record : sim.trace()) out.push_back(sim.format(record));
  return out;
}

std::filesystem::path temp_dir(const std::string& name) {
  std::string leaf = "vnet_sim_test_";
  leaf += std::to_string(::getpid()) + "_" + name;
  auto dir = std::filesystem::temp_directory_path() / leaf;
  std::filesystem::remove_all(dir);
  return dir;
}

Bytes read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Bytes out;
  for (char c : chars) out.push_back(std::byte(static_cast<unsigned char>(c)));
  return out;
}

// ---- topology ----

TEST(Sim, AddElementValidates) {
  Sim sim(1);
  EXPECT_EQ(sim.add_element("", std::make_unique<Probe>()).error(), SimError::EmptyName);
  EXPECT_EQ(sim.add_element("a", nullptr).error(), SimError::NullElement);
  SimResult<ElementId> a = sim.add_element("a", std::make_unique<Probe>());
  ASSERT_TRUE(a);
  EXPECT_EQ(a->index, 0u);
  EXPECT_EQ(sim.add_element("a", std::make_unique<Probe>()).error(), SimError::DuplicateName);
  SimResult<ElementId> b = sim.add_element("b", std::make_unique<Probe>());
  EXPECT_EQ(b->index, 1u);
  EXPECT_EQ(sim.find_element("b"), *b);
  EXPECT_EQ(sim.find_element("c"), std::nullopt);
  EXPECT_EQ(sim.element_name(*a), "a");
  EXPECT_EQ(sim.element_count(), 2u);
}

TEST(Sim, ConnectValidates) {
  Sim sim(1);
  auto [a, pa] = add<Forwarder>(sim, "a");
  auto [b, pb] = add<Forwarder>(sim, "b");
  EXPECT_EQ(sim.connect(a, 3, b, 1).error(), SimError::BadPort);  // Forwarder has ports 1, 2
  EXPECT_EQ(sim.connect(a, 0, b, 1).error(), SimError::BadPort);
  EXPECT_EQ(sim.connect(a, 1, ElementId{7}, 1).error(), SimError::UnknownElement);
  EXPECT_EQ(sim.connect(a, 1, a, 1).error(), SimError::SamePort);
  EXPECT_EQ(sim.connect(a, 1, b, 1, {.mtu = 0}).error(), SimError::BadMtu);
  EXPECT_EQ(sim.connect(a, 1, b, 1, {.loss = 1.5}).error(), SimError::BadLoss);
  EXPECT_EQ(sim.connect(a, 1, b, 1, {.loss = -0.1}).error(), SimError::BadLoss);
  EXPECT_EQ(sim.connect(a, 1, b, 1, {.loss = std::nan("")}).error(), SimError::BadLoss);
  SimResult<LinkId> ab = sim.connect(a, 1, b, 1);
  ASSERT_TRUE(ab);
  EXPECT_EQ(sim.connect(a, 1, b, 2).error(), SimError::PortInUse);
  EXPECT_EQ(sim.connect(a, 2, b, 1).error(), SimError::PortInUse);
  // A loop from an element to itself on two ports is a valid cable.
  EXPECT_TRUE(sim.connect(a, 2, b, 2));
  EXPECT_EQ(sim.link_at(a, 1), *ab);
  EXPECT_EQ(sim.link_at(b, 1), *ab);
  EXPECT_EQ(sim.link(*ab).endpoint(0), (LinkEndpoint{a, 1}));
  EXPECT_EQ(sim.link(*ab).endpoint(1), (LinkEndpoint{b, 1}));
  EXPECT_EQ(sim.link_count(), 2u);
  EXPECT_EQ(sim.set_link_props(LinkId{9}, {}), SimError::UnknownLink);
  EXPECT_EQ(sim.set_link_props(*ab, {.mtu = 0}), SimError::BadMtu);
}

TEST(Sim, ConnectRaisesCarrierOnBothEnds) {
  Sim sim(1);
  auto [a, pa] = add<Probe>(sim, "a");
  auto [b, pb] = add<Probe>(sim, "b");
  ASSERT_EQ(sim.set_port_admin(b, 2, false), std::nullopt);  // b:2 is down before it is linked
  ASSERT_TRUE(sim.connect(a, 1, b, 2));
  EXPECT_EQ(pa->carrier_changes, std::vector<std::string>{"1 down"});
  EXPECT_EQ(pb->carrier_changes, std::vector<std::string>{"2 up"});
}

// ---- delivery, delay, ordering ----

TEST(Sim, DeliversAfterTheLinkDelay) {
  Sim sim(1);
  auto [a, pa] = add<Probe>(sim, "a");
  auto [b, pb] = add<Probe>(sim, "b");
  LinkId ab = *sim.connect(a, 1, b, 1, {.delay_ns = 5 * kUs});
  sim.run_until(2 * kUs);
  Bytes frame = test::data_frame(test::mac(2), test::mac(1), 7);
  pa->send(1, frame);
  EXPECT_TRUE(sim.run_until_idle(kMs));
  ASSERT_EQ(pb->received.size(), 1u);
  EXPECT_EQ(pb->received[0].time_ns, 7 * kUs);
  EXPECT_EQ(pb->received[0].port, 1);
  EXPECT_EQ(pb->received[0].frame, frame);
  EXPECT_EQ(sim.now_ns(), 7 * kUs);
  EXPECT_EQ(sim.link(ab).counters(0).frames, 1u);
  EXPECT_EQ(sim.link(ab).counters(0).bytes, 60u);
  EXPECT_EQ(sim.link(ab).counters(1).frames, 0u);
  EXPECT_EQ(sim.events_processed(), 1u);
}

TEST(Sim, SimultaneousArrivalsKeepTransmitOrder) {
  Sim sim(1);
  auto [a, pa] = add<Probe>(sim, "a");
  auto [c, pc] = add<Probe>(sim, "c");
  auto [b, pb] = add<Probe>(sim, "b");
  ASSERT_TRUE(sim.connect(a, 1, b, 1, {.delay_ns = 300}));
  ASSERT_TRUE(sim.connect(c, 1, b, 2, {.delay_ns = 100}));
  // a's frames leave first but c's shorter link makes all five arrive at t=300.
  pa->send(1, test::data_frame(test::mac(2), test::mac(1), 1));
  pa->send(1, test::data_frame(test::mac(2), test::mac(1), 2));
  sim.run_until(200);
  pc->send(1, test::data_frame(test::mac(2), test::mac(3), 3));
  pa->send(1, test::data_frame(test::mac(2), test::mac(1), 4));  // arrives at 500
  pc->send(1, test::data_frame(test::mac(2), test::mac(3), 5));
  EXPECT_TRUE(sim.run_until_idle(kMs));
  std::vector<std::pair<uint64_t, uint32_t>> got;
  for (const auto& r : pb->received) got.emplace_back(r.time_ns, test::sequence_of(r.frame));
  EXPECT_EQ(got, (std::vector<std::pair<uint64_t, uint32_t>>{
                     {300, 1}, {300, 2}, {300, 3}, {300, 5}, {500, 4}}));
}

TEST(Sim, ZeroDelayHopsRunInOrderWithoutReentry) {
  Sim sim(1);
  auto [a, pa] = add<Forwarder>(sim, "a");
  auto [b, pb] = add<Forwarder>(sim, "b");
  auto [c, pc] = add<Probe>(sim, "c");
  ASSERT_TRUE(sim.connect(a, 2, b, 1));
  ASSERT_TRUE(sim.connect(b, 2, c, 1));
  sim.set_tracing(true);
  ASSERT_EQ(sim.inject(a, 1, test::data_frame(test::mac(2), test::mac(1), 1)), std::nullopt);
  ASSERT_EQ(sim.inject(a, 1, test::data_frame(test::mac(2), test::mac(1), 2)), std::nullopt);
  EXPECT_TRUE(sim.run_until_idle(0));
  EXPECT_EQ(formatted_trace(sim), (std::vector<std::string>{
                                      "0.000000000 rx a:1 60 bytes",
                                      "0.000000000 tx a:2 60 bytes",
                                      "0.000000000 rx a:1 60 bytes",
                                      "0.000000000 tx a:2 60 bytes",
                                      "0.000000000 rx b:1 link 0 60 bytes",
                                      "0.000000000 tx b:2 60 bytes",
                                      "0.000000000 rx b:1 link 0 60 bytes",
                                      "0.000000000 tx b:2 60 bytes",
                                      "0.000000000 rx c:1 link 1 60 bytes",
                                      "0.000000000 rx c:1 link 1 60 bytes",
                                  }));
  ASSERT_EQ(pc->received.size(), 2u);
  EXPECT_EQ(test::sequence_of(pc->received[0].frame), 1u);
  EXPECT_EQ(sim.events_processed(), 6u);
  EXPECT_EQ(sim.counters().frames_injected, 2u);
  EXPECT_EQ(sim.counters().frames_transmitted, 4u);
  EXPECT_EQ(sim.counters().frames_delivered, 6u);
}

TEST(Sim, EchoRepliesOneMillisecondLater) {
  Sim sim(1);
  auto [p, probe] = add<Probe>(sim, "p");
  auto [e, echo] = add<Echo>(sim, "e");
  ASSERT_TRUE(sim.connect(p, 1, e, 1, {.delay_ns = 10 * kUs}));
  sim.set_tracing(true);
  probe->send(1, test::data_frame(test::mac(2), test::mac(1), 1));
  sim.run_until(5 * kUs);
  probe->send(1, test::data_frame(test::mac(2), test::mac(1), 2));
  EXPECT_TRUE(sim.run_until_idle(10 * kMs));
  ASSERT_EQ(probe->received.size(), 2u);
  EXPECT_EQ(probe->received[0].time_ns, 1020 * kUs);
  EXPECT_EQ(probe->received[1].time_ns, 1025 * kUs);
  EXPECT_EQ(formatted_trace(sim), (std::vector<std::string>{
                                      "0.000000000 tx p:1 60 bytes",
                                      "0.000005000 tx p:1 60 bytes",
                                      "0.000010000 rx e:1 link 0 60 bytes",
                                      "0.000015000 rx e:1 link 0 60 bytes",
                                      "0.001010000 timer e",
                                      "0.001010000 tx e:1 60 bytes",
                                      "0.001015000 timer e",
                                      "0.001015000 tx e:1 60 bytes",
                                      "0.001020000 rx p:1 link 0 60 bytes",
                                      "0.001025000 rx p:1 link 0 60 bytes",
                                  }));
}

// ---- link checks ----

TEST(Sim, LossRateIsDeterministicPerSeed) {
  auto run = [](uint64_t seed) {
    Sim sim(seed);
    auto [a, pa] = add<Probe>(sim, "a");
    auto [b, pb] = add<Probe>(sim, "b");
    LinkId ab = *sim.connect(a, 1, b, 1, {.delay_ns = kUs, .loss = 0.1});
    for (uint32_t i = 0; i < 10000; ++i) {
      pa->send(1, test::data_frame(test::mac(2), test::mac(1), i));
    }
    EXPECT_TRUE(sim.run_until_idle(kMs));
    std::set<uint32_t> lost;
    for (uint32_t i = 0; i < 10000; ++i) lost.insert(i);
    for (const auto& r : pb->received) lost.erase(test::sequence_of(r.frame));
    EXPECT_EQ(sim.link(ab).counters(0).dropped(DropReason::Loss), lost.size());
    EXPECT_EQ(sim.link(ab).counters(0).frames + lost.size(), 10000u);
    EXPECT_EQ(sim.counters().dropped(DropReason::Loss), lost.size());
    return lost;
  };
  std::set<uint32_t> first = run(42);
  // Binomial(10000, 0.1): mean 1000, standard deviation 30; 4 sigma either side.
  EXPECT_GE(first.size(), 880u);
  EXPECT_LE(first.size(), 1120u);
  EXPECT_EQ(run(42), first);  // the same frames, not just the same count
  std::set<uint32_t> other = run(43);
  EXPECT_NE(other, first);
  EXPECT_GE(other.size(), 880u);
  EXPECT_LE(other.size(), 1120u);
}

TEST(Sim, LossOfZeroAndOne) {
  Sim sim(1);
  auto [a, pa] = add<Probe>(sim, "a");
  auto [b, pb] = add<Probe>(sim, "b");
  LinkId ab = *sim.connect(a, 1, b, 1, {.loss = 1.0});
  for (uint32_t i = 0; i < 100; ++i) pa->send(1, test::data_frame(test::mac(2), test::mac(1), i));
  ASSERT_EQ(sim.set_link_props(ab, {.loss = 0.0}), std::nullopt);
  for (uint32_t i = 0; i < 100; ++i) pa->send(1, test::data_frame(test::mac(2), test::mac(1), i));
  EXPECT_TRUE(sim.run_until_idle(kMs));
  EXPECT_EQ(sim.link(ab).counters(0).dropped(DropReason::Loss), 100u);
  EXPECT_EQ(pb->received.size(), 100u);
}

// A link on one pair of elements loses the same frames whatever happens on another link.
TEST(Sim, LossStreamsArePerLink) {
  auto lost_on_first_link = [](bool busy_neighbour) -> std::vector<uint32_t> {
    Sim sim(5);
    auto [a, pa] = add<Probe>(sim, "a");
    auto [b, pb] = add<Probe>(sim, "b");
    auto [c, pc] = add<Probe>(sim, "c");
    auto [d, pd] = add<Probe>(sim, "d");
    EXPECT_TRUE(sim.connect(a, 1, b, 1, {.loss = 0.5}));
    EXPECT_TRUE(sim.connect(c, 1, d, 1, {.loss = 0.5}));
    for (uint32_t i = 0; i < 200; ++i) {
      pa->send(1, test::data_frame(test::mac(2), test::mac(1), i));
      if (busy_neighbour) pc->send(1, test::data_frame(test::mac(4), test::mac(3), i));
    }
    EXPECT_TRUE(sim.run_until_idle(kMs));
    std::vector<uint32_t> got;
    for (const auto& r : pb->received) got.push_back(test::sequence_of(r.frame));
    return got;
  };
  EXPECT_EQ(lost_on_first_link(false), lost_on_first_link(true));
}

TEST(Sim, DropsFramesAboveTheMtuAndRunts) {
  Sim sim(1);
  auto [a, pa] = add<Probe>(sim, "a");
  auto [b, pb] = add<Probe>(sim, "b");
  LinkId ab = *sim.connect(a, 1, b, 1, {.mtu = 100});
  sim.set_tracing(true);
  pa->send(1, test::data_frame(test::mac(2), test::mac(1), 1, 100));  // 114 bytes: fits
  pa->send(1, test::data_frame(test::mac(2), test::mac(1), 2, 101));  // 115 bytes: too long
  // An 802.1Q-tagged frame may be 4 bytes longer: the tag is not payload.
  Bytes tagged = test::data_frame(test::mac(2), test::mac(1), 3, 104);
  tagged[12] = std::byte{0x81};
  tagged[13] = std::byte{0x00};
  pa->send(1, tagged);  // 118 bytes, payload 100 after the 18-byte header
  tagged.push_back(std::byte{0});
  pa->send(1, tagged);                   // payload 101
  pb->send(1, Bytes(13, std::byte{1}));  // shorter than an Ethernet header
  EXPECT_TRUE(sim.run_until_idle(kMs));
  EXPECT_EQ(pb->received.size(), 2u);
  EXPECT_EQ(sim.link(ab).counters(0).frames, 2u);
  EXPECT_EQ(sim.link(ab).counters(0).bytes, 114u + 118u);
  EXPECT_EQ(sim.link(ab).counters(0).dropped(DropReason::Mtu), 2u);
  EXPECT_EQ(sim.link(ab).counters(1).dropped(DropReason::Runt), 1u);
  EXPECT_EQ(sim.counters().dropped(DropReason::Mtu), 2u);
  std::vector<std::string> trace = formatted_trace(sim);
  EXPECT_EQ(trace[2], "0.000000000 drop mtu a:1 link 0 115 bytes");
  EXPECT_EQ(trace[7], "0.000000000 drop runt b:1 link 0 13 bytes");
}

TEST(Sim, CountsFramesSentOnPortsWithoutALink) {
  Sim sim(1);
  auto [a, pa] = add<Probe>(sim, "a");
  sim.set_tracing(true);
  pa->send(5, test::data_frame(test::mac(2), test::mac(1), 1));
  pa->send(-1, test::data_frame(test::mac(2), test::mac(1), 2));
  EXPECT_TRUE(sim.run_until_idle(kMs));
  EXPECT_EQ(sim.counters().dropped(DropReason::NoLink), 2u);
  EXPECT_EQ(sim.counters().frames_transmitted, 2u);
  EXPECT_EQ(formatted_trace(sim)[1], "0.000000000 drop no_link a:5 60 bytes");
}

// ---- admin state and carrier ----

TEST(Sim, PortAdminDownDropsBothWaysAndDropsFramesInFlight) {
  Sim sim(1);
  auto [a, pa] = add<Probe>(sim, "a");
  auto [b, pb] = add<Probe>(sim, "b");
  LinkId ab = *sim.connect(a, 1, b, 1, {.delay_ns = 10 * kUs});
  Bytes frame = test::data_frame(test::mac(2), test::mac(1), 1);
  pa->send(1, frame);  // in flight when a:1 goes down
  sim.run_until(5 * kUs);
  ASSERT_EQ(sim.set_port_admin(a, 1, false), std::nullopt);
  EXPECT_FALSE(sim.port_admin(a, 1));
  EXPECT_EQ(pb->carrier_changes, (std::vector<std::string>{"1 up", "1 down"}));
  EXPECT_EQ(pa->carrier_changes, (std::vector<std::string>{"1 up"}));
  pa->send(1, frame);
  pb->send(1, frame);
  EXPECT_TRUE(sim.run_until_idle(kMs));
  EXPECT_TRUE(pb->received.empty());
  EXPECT_EQ(sim.link(ab).counters(0).dropped(DropReason::Down), 2u);
  EXPECT_EQ(sim.link(ab).counters(1).dropped(DropReason::Down), 1u);

  ASSERT_EQ(sim.set_port_admin(a, 1, true), std::nullopt);
  ASSERT_EQ(sim.set_port_admin(a, 1, true), std::nullopt);  // no change, no carrier event
  EXPECT_EQ(pb->carrier_changes, (std::vector<std::string>{"1 up", "1 down", "1 up"}));
  pa->send(1, frame);
  EXPECT_TRUE(sim.run_until_idle(kMs));
  EXPECT_EQ(pb->received.size(), 1u);
  EXPECT_EQ(sim.set_port_admin(ElementId{5}, 1, false), SimError::UnknownElement);
  EXPECT_EQ(sim.set_port_admin(a, 0, false), SimError::BadPort);
}

// ---- inject ----

TEST(Sim, InjectValidatesAndBypassesLinks) {
  Sim sim(1);
  auto [a, pa] = add<Probe>(sim, "a");
  Bytes runt(3, std::byte{0});
  EXPECT_EQ(sim.inject(ElementId{3}, 1, runt), SimError::UnknownElement);
  EXPECT_EQ(sim.inject(a, 0, runt), SimError::BadPort);
  EXPECT_EQ(sim.inject(a, 9, runt), std::nullopt);  // no link needed, no checks made
  EXPECT_EQ(sim.inject_at(3 * kUs, a, 2, runt), std::nullopt);
  sim.run_until(kUs);
  EXPECT_EQ(sim.inject_at(0, a, 3, runt), std::nullopt);  // in the past: delivered now
  EXPECT_TRUE(sim.run_until_idle(kMs));
  ASSERT_EQ(pa->received.size(), 3u);
  EXPECT_EQ(pa->received[0].port, 9);
  EXPECT_EQ(pa->received[0].time_ns, 0u);
  EXPECT_EQ(pa->received[1].port, 3);
  EXPECT_EQ(pa->received[1].time_ns, kUs);
  EXPECT_EQ(pa->received[2].port, 2);
  EXPECT_EQ(pa->received[2].time_ns, 3 * kUs);
}

// ---- timers ----

TEST(Sim, TimersRunAtTheirDeadline) {
  Sim sim(1);
  auto [t, alarm] = add<Alarm>(sim, "t", std::set<uint64_t>{1000, 5000, 5001});
  sim.run_until(3000);
  EXPECT_EQ(alarm->calls, std::vector<uint64_t>{1000});
  EXPECT_EQ(sim.now_ns(), 3000u);
  EXPECT_TRUE(sim.run_until_idle(kMs));
  EXPECT_EQ(alarm->calls, (std::vector<uint64_t>{1000, 5000, 5001}));
  EXPECT_EQ(sim.now_ns(), 5001u);
  EXPECT_EQ(sim.counters().timers_run, 3u);
}

TEST(Sim, TimerChangedFromOutsideLeavesAStaleEvent) {
  Sim sim(1);
  auto [t, alarm] = add<Alarm>(sim, "t", std::set<uint64_t>{10 * kUs});
  alarm->set({20 * kUs});
  sim.refresh_timer(t);  // the event at 10 us is now stale
  alarm->set({2 * kUs});
  sim.refresh_timer(t);  // and so is the one at 20 us
  EXPECT_TRUE(sim.run_until_idle(kMs));
  EXPECT_EQ(alarm->calls, std::vector<uint64_t>{2 * kUs});
  EXPECT_EQ(sim.counters().stale_timer_events, 2u);
  EXPECT_EQ(sim.events_processed(), 1u);

  // A deadline already in the past runs at the current time.
  sim.run_until(50 * kUs);
  alarm->set({kUs});
  sim.refresh_timer(t);
  sim.run_until(50 * kUs);
  EXPECT_EQ(alarm->calls, (std::vector<uint64_t>{2 * kUs, 50 * kUs}));
  // Dropping the deadline makes the simulator idle.
  alarm->set({60 * kUs});
  sim.refresh_timer(t);
  EXPECT_FALSE(sim.idle());
  alarm->set({});
  sim.refresh_timer(t);
  EXPECT_TRUE(sim.idle());
}

TEST(Sim, RunUntilIdleStopsAtTheLimit) {
  Sim sim(1);
  auto [p, probe] = add<Probe>(sim, "p");
  auto [e, echo] = add<Echo>(sim, "e");
  ASSERT_TRUE(sim.connect(p, 1, e, 1, {.delay_ns = 10 * kUs}));
  probe->send(1, test::data_frame(test::mac(2), test::mac(1), 1));
  EXPECT_FALSE(sim.run_until_idle(500 * kUs));
  EXPECT_EQ(sim.now_ns(), 500 * kUs);
  EXPECT_TRUE(probe->received.empty());
  EXPECT_FALSE(sim.idle());
  EXPECT_TRUE(sim.run_until_idle(10 * kMs));
  EXPECT_EQ(sim.now_ns(), 1020 * kUs);  // the last event, not the limit
  EXPECT_EQ(probe->received.size(), 1u);

  auto [t, alarm] = add<Alarm>(sim, "t", std::set<uint64_t>{10'000 * kMs});
  EXPECT_FALSE(sim.run_until_idle(1000 * kMs));
  EXPECT_EQ(sim.now_ns(), 1000 * kMs);
  EXPECT_TRUE(sim.run_until_idle(std::numeric_limits<uint64_t>::max()));
  EXPECT_EQ(alarm->calls, std::vector<uint64_t>{10'000 * kMs});
}

// ---- capture and determinism ----

TEST(Sim, CapturesTransmittedAndReceivedFramesPerPort) {
  auto dir = temp_dir("capture");
  Sim sim(1);
  auto [a, pa] = add<Probe>(sim, "a");
  auto [b, pb] = add<Probe>(sim, "b/x");  // '/' becomes '_' in the file name
  ASSERT_EQ(sim.enable_pcap(dir.string()), std::nullopt);
  ASSERT_TRUE(sim.connect(a, 1, b, 2, {.delay_ns = 1500}));
  sim.run_until(2'500'000'000);
  Bytes request = test::arp_request(1, 2);
  Bytes reply = test::data_frame(test::mac(1), test::mac(2), 9);
  pa->send(1, request);
  sim.run_until(2'500'002'000);
  pb->send(2, reply);
  pa->send(3, reply);  // unlinked: captured on a-3 all the same
  EXPECT_TRUE(sim.run_until_idle(3'000'000'000));
  ASSERT_EQ(sim.flush_pcaps(), std::nullopt);

  auto expect_file = [&dir](const std::string& name,
                            std::vector<std::pair<uint64_t, const Bytes*>> records) {
    Bytes expected;
    PcapWriter::append_file_header(&expected);
    for (auto [time_ns, frame] : records) PcapWriter::append_record(&expected, time_ns, *frame);
    EXPECT_EQ(read_file(dir / name), expected) << name;
  };
  expect_file("a-1.pcap", {{2'500'000'000, &request}, {2'500'003'500, &reply}});
  expect_file("b_x-2.pcap", {{2'500'001'500, &request}, {2'500'002'000, &reply}});
  expect_file("a-3.pcap", {{2'500'002'000, &reply}});
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir),
                          std::filesystem::directory_iterator()),
            3);
  std::filesystem::remove_all(dir);
}

TEST(Sim, EnablePcapReportsADirectoryItCannotCreate) {
  Sim sim(1);
  EXPECT_EQ(sim.enable_pcap("/proc/vnet-cannot-exist"), SimError::PcapOpen);
}

// A bridged LAN with loss, echoes and timers, run twice: byte-identical captures and traces;
// another seed loses other frames and so captures differ.
struct LanRun {
  std::map<std::string, Bytes> files;
  std::vector<std::string> trace;
  uint64_t events = 0;
};

LanRun run_lan(uint64_t seed, const std::filesystem::path& dir) {
  LanRun out;
  Sim sim(seed);
  // h1, h2 and the echo e3 on a bridge; e4 echoes on a cable of its own to h2's second port
  // (one echo per broadcast domain: two would bounce broadcasts between them forever).
  auto [br, bridge] = add<LearningBridge>(sim, "br", 3);
  auto [h1, p1] = add<Probe>(sim, "h1");
  auto [h2, p2] = add<Probe>(sim, "h2");
  auto [e3, echo3] = add<Echo>(sim, "e3");
  auto [e4, echo4] = add<Echo>(sim, "e4");
  EXPECT_EQ(sim.enable_pcap(dir.string()), std::nullopt);
  EXPECT_TRUE(sim.connect(h1, 1, br, 1, {.delay_ns = 1 * kUs, .loss = 0.2}));
  EXPECT_TRUE(sim.connect(h2, 1, br, 2, {.delay_ns = 2 * kUs}));
  EXPECT_TRUE(sim.connect(e3, 1, br, 3, {.delay_ns = 3 * kUs, .loss = 0.1}));
  EXPECT_TRUE(sim.connect(h2, 2, e4, 1, {.delay_ns = 4 * kUs, .loss = 0.3}));
  sim.set_tracing(true);
  for (uint32_t i = 0; i < 50; ++i) {
    p1->send(
        1, i % 5 == 0 ? test::arp_request(1, 2) : test::data_frame(test::mac(2), test::mac(1), i));
    p2->send(1, test::data_frame(test::mac(1), test::mac(2), 1000 + i));
    p2->send(2, test::data_frame(test::mac(4), test::mac(2), 2000 + i));
    sim.run_until(sim.now_ns() + 100 * kUs);
  }
  EXPECT_FALSE(sim.run_until_idle(10 * kMs));  // the bridge's ageing timer is still pending
  EXPECT_EQ(sim.flush_pcaps(), std::nullopt);
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    out.files[entry.path().filename().string()] = read_file(entry.path());
  }
  out.trace = formatted_trace(sim);
  out.events = sim.events_processed();
  return out;
}

TEST(Sim, SameSeedSameBytes) {
  LanRun first = run_lan(7, temp_dir("lan-a"));
  LanRun second = run_lan(7, temp_dir("lan-b"));
  ASSERT_EQ(first.files.size(), 8u);
  EXPECT_EQ(first.files, second.files);
  EXPECT_EQ(first.trace, second.trace);
  EXPECT_EQ(first.events, second.events);
  LanRun other = run_lan(8, temp_dir("lan-c"));
  EXPECT_NE(first.files, other.files);
  for (const char* name : {"lan-a", "lan-b", "lan-c"}) std::filesystem::remove_all(temp_dir(name));
}

// The scenario rule: captures must dissect without warnings.  Skipped where tshark is missing.
std::string run_command(const std::string& command) {
  std::string out;
  std::FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  ::pclose(pipe);
  return out;
}

TEST(Sim, CapturesDissectCleanlyWithTshark) {
  if (std::system("command -v tshark > /dev/null 2>&1") != 0) GTEST_SKIP() << "no tshark";
  auto dir = temp_dir("tshark");
  run_lan(7, dir);
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::string path = entry.path().string();
    // One summary line per frame, then the expert statistics by severity ("Errors (1)" for a
    // malformed frame, "Warnings (n)"), which must have neither.
    std::string out = run_command("tshark -n -r '" + path + "' -z expert 2>/dev/null");
    EXPECT_EQ(out.find("Malformed"), std::string::npos) << path;
    EXPECT_EQ(out.find("Errors ("), std::string::npos) << path << ":\n" << out;
    EXPECT_EQ(out.find("Warnings ("), std::string::npos) << path << ":\n" << out;
    EXPECT_GT(std::count(out.begin(), out.end(), '\n'), 10) << path;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vnet::sim
