#include "sim/event_queue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace vnet::sim {
namespace {

Event at(uint64_t time_ns, uint32_t element) {
  Event event;
  event.time_ns = time_ns;
  event.element = element;
  return event;
}

TEST(EventQueue, PopsByTimeThenInsertionOrder) {
  EventQueue queue;
  EXPECT_EQ(queue.push(at(5, 0)), 1u);
  EXPECT_EQ(queue.push(at(3, 1)), 2u);
  EXPECT_EQ(queue.push(at(5, 2)), 3u);
  EXPECT_EQ(queue.push(at(0, 3)), 4u);
  EXPECT_EQ(queue.push(at(5, 4)), 5u);
  std::vector<uint32_t> order;
  while (!queue.empty()) order.push_back(queue.pop().element);
  EXPECT_EQ(order, (std::vector<uint32_t>{3, 1, 0, 2, 4}));
  EXPECT_EQ(queue.last_sequence(), 5u);
}

TEST(EventQueue, TopIsTheNextPop) {
  EventQueue queue;
  queue.push(at(7, 0));
  queue.push(at(2, 1));
  EXPECT_EQ(queue.top().element, 1u);
  EXPECT_EQ(queue.size(), 2u);
  EXPECT_EQ(queue.pop().element, 1u);
  EXPECT_EQ(queue.top().element, 0u);
}

// Randomised comparison with the oracle: a stable sort by time of everything pushed, with pops
// interleaved with pushes (each pop must return the minimum of what is pending).
TEST(EventQueue, MatchesStableSortOracle) {
  for (uint64_t seed : {1u, 2u, 3u}) {
    std::mt19937_64 rng(seed);
    EventQueue queue;
    std::vector<Event> pending;  // in push order
    uint32_t next_id = 0;
    for (int round = 0; round < 20000; ++round) {
      if (pending.empty() || rng() % 3 != 0) {
        Event event = at(rng() % 64, next_id++);  // few distinct times: many ties
        queue.push(event);
        pending.push_back(event);
      } else {
        auto expected =
            std::min_element(pending.begin(), pending.end(), [](const Event& a, const Event& b) {
              return a.time_ns < b.time_ns;  // first of equals wins
            });
        Event got = queue.pop();
        ASSERT_EQ(got.element, expected->element) << "seed " << seed << " round " << round;
        ASSERT_EQ(got.time_ns, expected->time_ns);
        pending.erase(expected);
      }
    }
    EXPECT_EQ(queue.size(), pending.size());
  }
}

}  // namespace
}  // namespace vnet::sim
