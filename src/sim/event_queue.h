// EventQueue: the simulator's single pending-event set, a binary min-heap ordered by
// (time_ns, sequence).
//
// push() stamps each event with the next sequence number, so events due at the same virtual time
// come out in the order they were pushed (FIFO).  That tie-break, not the heap's internal layout,
// decides the order of simultaneous events, which is what makes a run reproducible.
//
// Example: push {t=5, A}, push {t=3, B}, push {t=5, C}  ->  pop order B, A, C.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vnet::sim {

enum class EventKind : uint8_t {
  Deliver,  // a frame arrives at (element, port)
  Timer,    // the element's deadline is due; stale unless sequence matches the element's timer
};

inline constexpr uint32_t kNoIndex = UINT32_MAX;

struct Event {
  uint64_t time_ns = 0;
  uint64_t sequence = 0;      // set by EventQueue::push()
  uint32_t element = 0;       // index of the target element
  int32_t port = 0;           // Deliver: receiving port
  uint32_t frame = kNoIndex;  // Deliver: slot in the simulator's frame pool
  uint32_t link = kNoIndex;   // Deliver: the link it crossed, kNoIndex for injected frames
  uint8_t direction = 0;      // Deliver: 0 = link endpoint 0 -> 1, 1 = 1 -> 0
  EventKind kind = EventKind::Deliver;
};

class EventQueue {
 public:
  // Adds the event and returns the sequence number it was given (the first is 1).
  uint64_t push(Event event);
  // Preconditions: !empty().
  const Event& top() const { return heap_.front(); }
  Event pop();

  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  uint64_t last_sequence() const { return next_sequence_ - 1; }

 private:
  // (time, sequence) of a is strictly before that of b.  Sequences are unique, so the order is
  // total and independent of how the heap arranges equal times.
  static bool before(const Event& a, const Event& b) {
    return a.time_ns != b.time_ns ? a.time_ns < b.time_ns : a.sequence < b.sequence;
  }
  void sift_up(size_t index);
  void sift_down(size_t index);

  std::vector<Event> heap_;
  uint64_t next_sequence_ = 1;
};

}  // namespace vnet::sim
