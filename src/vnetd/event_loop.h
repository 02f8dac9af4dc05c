// EventLoop: epoll over file descriptors, one timerfd for the earliest deadline, and a
// signalfd for SIGTERM/SIGINT, with a monotonic clock in nanoseconds since the loop began.
//
// Example:
//   EventLoop loop;
//   loop.add(port_fd, [&] { drain(); });
//   loop.set_deadline(node.next_deadline_ns());
//   while (!loop.stopped()) loop.run_once(-1);
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace vnet::vnetd {

class EventLoop {
 public:
  // Blocks SIGTERM and SIGINT in this thread and takes them through a signalfd.
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // The file descriptor's callback runs when it is readable.  Non-nestable fds (the control
  // socket) are left out while a nested loop runs (a probe waiting for replies must not start
  // another command).
  // The callback gets the epoll event mask (EPOLLIN, EPOLLERR, EPOLLHUP).
  void add(int fd, std::function<void(uint32_t events)> on_ready, bool nestable = true);
  void set_nested(bool nested);
  void remove(int fd);
  // Arms the timer for an absolute time on now_ns()'s clock (kNoDeadline disarms).
  void set_deadline(uint64_t at_ns);
  // Called after every batch of events (flush transmit queues, re-arm the timer).
  void set_after_batch(std::function<void()> fn) { after_batch_ = std::move(fn); }
  void set_on_timer(std::function<void()> fn) { on_timer_ = std::move(fn); }

  uint64_t now_ns() const;
  // Waits up to timeout_ms (-1: forever) and dispatches what is ready.  Returns false once a
  // stop was requested or a signal arrived.
  bool run_once(int timeout_ms);
  void stop() { stopped_ = true; }
  bool stopped() const { return stopped_; }
  // The signal that stopped the loop (0: none).
  int signal() const { return signal_; }

 private:
  int epfd_ = -1;
  int timerfd_ = -1;
  int sigfd_ = -1;
  uint64_t start_ns_ = 0;
  bool stopped_ = false;
  int signal_ = 0;
  bool nested_ = false;
  struct Entry {
    std::function<void(uint32_t)> fn;
    bool nestable;
  };
  std::map<int, Entry> fds_;
  std::function<void()> after_batch_;
  std::function<void()> on_timer_;
};

}  // namespace vnet::vnetd
