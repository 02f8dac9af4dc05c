// epoll + timerfd + signalfd (event_loop.h).
#include "vnetd/event_loop.h"

#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <ctime>
#include <limits>
#include <vector>

namespace vnet::vnetd {

namespace {

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

EventLoop::EventLoop() : start_ns_(monotonic_ns()) {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  timerfd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  sigfd_ = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  for (int fd : {timerfd_, sigfd_}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
  }
}

EventLoop::~EventLoop() {
  for (int fd : {epfd_, timerfd_, sigfd_}) {
    if (fd >= 0) ::close(fd);
  }
}

void EventLoop::add(int fd, std::function<void(uint32_t)> on_ready, bool nestable) {
  fds_[fd] = Entry{std::move(on_ready), nestable};
  if (nested_ && !nestable) return;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
}

void EventLoop::remove(int fd) {
  epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
  fds_.erase(fd);
}

uint64_t EventLoop::now_ns() const {
  return monotonic_ns() - start_ns_;
}

void EventLoop::set_deadline(uint64_t at_ns) {
  itimerspec its{};
  if (at_ns != std::numeric_limits<uint64_t>::max()) {
    uint64_t abs = at_ns + start_ns_;
    if (abs == 0) abs = 1;  // 0 would disarm
    its.it_value.tv_sec = static_cast<time_t>(abs / 1'000'000'000ull);
    its.it_value.tv_nsec = static_cast<long>(abs % 1'000'000'000ull);
  }
  timerfd_settime(timerfd_, TFD_TIMER_ABSTIME, &its, nullptr);
}

void EventLoop::set_nested(bool nested) {
  if (nested == nested_) return;
  nested_ = nested;
  for (const auto& [fd, e] : fds_) {
    if (e.nestable) continue;
    if (nested) {
      epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
    } else {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = fd;
      epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
    }
  }
}

bool EventLoop::run_once(int timeout_ms) {
  if (stopped_) return false;
  epoll_event events[64];
  int n = epoll_wait(epfd_, events, 64, timeout_ms);
  if (n < 0 && errno != EINTR) {
    stopped_ = true;
    return false;
  }
  std::vector<std::pair<int, uint32_t>> ready;
  for (int i = 0; i < n; ++i) {
    int fd = events[i].data.fd;
    if (fd == sigfd_) {
      signalfd_siginfo si{};
      while (::read(sigfd_, &si, sizeof(si)) == static_cast<ssize_t>(sizeof(si))) {
        signal_ = static_cast<int>(si.ssi_signo);
        stopped_ = true;
      }
    } else if (fd == timerfd_) {
      uint64_t expirations = 0;
      (void)!::read(timerfd_, &expirations, sizeof(expirations));
      if (on_timer_) on_timer_();
    } else {
      uint32_t mask = events[i].events;
      ready.emplace_back(fd, mask);
    }
  }
  for (auto [fd, mask] : ready) {
    auto it = fds_.find(fd);
    if (it == fds_.end()) continue;
    if (nested_ && !it->second.nestable) continue;
    auto fn = it->second.fn;  // the callback may remove itself
    fn(mask);
  }
  if (after_batch_) after_batch_();
  return !stopped_;
}

}  // namespace vnet::vnetd
