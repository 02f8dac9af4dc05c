#include "sim/event_queue.h"

#include <cassert>
#include <utility>

namespace vnet::sim {

uint64_t EventQueue::push(Event event) {
  event.sequence = next_sequence_++;
  heap_.push_back(event);
  sift_up(heap_.size() - 1);
  return event.sequence;
}

Event EventQueue::pop() {
  assert(!heap_.empty());
  Event out = heap_.front();
  heap_.front() = heap_.back();
  heap_.pop_back();
  if (!heap_.empty()) sift_down(0);
  return out;
}

// Children of i are 2i+1 and 2i+2; the parent of i is (i-1)/2.
void EventQueue::sift_up(size_t index) {
  Event moving = heap_[index];
  while (index > 0) {
    size_t parent = (index - 1) / 2;
    if (!before(moving, heap_[parent])) break;
    heap_[index] = heap_[parent];
    index = parent;
  }
  heap_[index] = moving;
}

void EventQueue::sift_down(size_t index) {
  Event moving = heap_[index];
  const size_t size = heap_.size();
  for (;;) {
    size_t child = 2 * index + 1;
    if (child >= size) break;
    if (child + 1 < size && before(heap_[child + 1], heap_[child])) ++child;
    if (!before(heap_[child], moving)) break;
    heap_[index] = heap_[child];
    index = child;
  }
  heap_[index] = moving;
}

}  // namespace vnet::sim
