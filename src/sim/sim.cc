#include "sim/sim.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <filesystem>
#include <system_error>
#include <utility>

namespace vnet::sim {
namespace {

uint64_t saturating_add(uint64_t a, uint64_t b) {
  return b > kNoDeadline - a ? kNoDeadline : a + b;
}

// Capture file names: element and port names with '/' replaced so that they stay one file.
std::string file_name_part(std::string_view name) {
  std::string out(name);
  std::replace(out.begin(), out.end(), '/', '_');
  return out;
}

}  // namespace

// What the simulator keeps per element, and the ElementIo the element sends through.
struct Sim::Slot final : public ElementIo {
  Slot(Sim* owner, uint32_t slot_index, std::string element_name,
       std::unique_ptr<Element> owned_element)
      : sim(owner),
        index(slot_index),
        name(std::move(element_name)),
        element(std::move(owned_element)) {}

  void transmit(int port, std::span<const std::byte> frame) override {
    sim->transmit(index, port, frame);
  }
  uint64_t now_ns() const override { return sim->now_ns_; }

  Sim* sim;
  uint32_t index;
  std::string name;
  std::unique_ptr<Element> element;
  std::vector<PortState> ports;  // indexed by port number; missing entries are the defaults
  // The live timer event: its sequence number (0: none) and time.
  uint64_t timer_sequence = 0;
  uint64_t timer_ns = kNoDeadline;
};

Sim::Sim(uint64_t seed) : seed_(seed) {}

Sim::~Sim() = default;

// ---- topology ----

SimResult<ElementId> Sim::add_element(std::string name, std::unique_ptr<Element> element) {
  if (name.empty()) return SimError::EmptyName;
  if (element == nullptr) return SimError::NullElement;
  if (names_.count(name) != 0) return SimError::DuplicateName;
  ElementId id{static_cast<uint32_t>(slots_.size())};
  names_.emplace(name, id);
  slots_.push_back(std::make_unique<Slot>(this, id.index, std::move(name), std::move(element)));
  Slot& added = *slots_.back();
  added.element->attach(&added);
  reschedule(added);
  return id;
}

Sim::Slot& Sim::slot(ElementId id) {
  return *slots_.at(id.index);
}

const Sim::Slot& Sim::slot(ElementId id) const {
  return *slots_.at(id.index);
}

Element& Sim::element(ElementId id) {
  return *slot(id).element;
}

const std::string& Sim::element_name(ElementId id) const {
  return slot(id).name;
}

std::optional<ElementId> Sim::find_element(std::string_view name) const {
  auto it = names_.find(name);
  if (it == names_.end()) return std::nullopt;
  return it->second;
}

bool Sim::valid_port(ElementId id, int port) const {
  return port >= 1 && port <= kMaxPort && slot(id).element->has_port(port);
}

const Sim::PortState* Sim::find_port(const Slot& s, int port) const {
  if (port < 0 || static_cast<size_t>(port) >= s.ports.size()) return nullptr;
  return &s.ports[port];
}

Sim::PortState& Sim::port_for_write(Slot& s, int port) {
  assert(port >= 1 && port <= kMaxPort);
  if (static_cast<size_t>(port) >= s.ports.size()) s.ports.resize(port + 1);
  return s.ports[port];
}

bool Sim::admin_up(const LinkEndpoint& endpoint) const {
  const PortState* state = find_port(slot(endpoint.element), endpoint.port);
  return state == nullptr || state->admin_up;
}

SimResult<LinkId> Sim::connect(ElementId a, int a_port, ElementId b, int b_port, LinkProps props) {
  if (!valid(a) || !valid(b)) return SimError::UnknownElement;
  if (!valid_port(a, a_port) || !valid_port(b, b_port)) return SimError::BadPort;
  if (a == b && a_port == b_port) return SimError::SamePort;
  if (link_at(a, a_port) || link_at(b, b_port)) return SimError::PortInUse;
  if (auto error = validate(props)) return *error;

  LinkId id{static_cast<uint32_t>(links_.size())};
  LinkEndpoint end_a{a, a_port};
  LinkEndpoint end_b{b, b_port};
  links_.emplace_back(end_a, end_b, props, derive_seed(seed_, id.index));
  links_.back().set_admin_up(0, admin_up(end_a));
  links_.back().set_admin_up(1, admin_up(end_b));
  Slot& slot_a = slot(a);
  Slot& slot_b = slot(b);
  port_for_write(slot_a, a_port).link = id.index;
  port_for_write(slot_b, b_port).link = id.index;
  if (pcap_directory_) {
    open_capture(slot_a, a_port);
    open_capture(slot_b, b_port);
  }
  slot_a.element->set_carrier(a_port, admin_up(end_b));
  reschedule(slot_a);
  slot_b.element->set_carrier(b_port, admin_up(end_a));
  reschedule(slot_b);
  return id;
}

std::optional<SimError> Sim::move_link_end(LinkId id, int side, ElementId element, int port) {
  if (id.index >= links_.size()) return SimError::UnknownLink;
  if (side != 0 && side != 1) return SimError::BadPort;
  if (!valid(element)) return SimError::UnknownElement;
  if (!valid_port(element, port)) return SimError::BadPort;
  if (link_at(element, port)) return SimError::PortInUse;
  Link& link = links_[id.index];
  LinkEndpoint old = link.endpoint(side);
  Slot& old_slot = slot(old.element);
  port_for_write(old_slot, old.port).link = kNoIndex;
  link.set_endpoint(side, LinkEndpoint{element, port});
  link.set_admin_up(side, admin_up(LinkEndpoint{element, port}));
  Slot& new_slot = slot(element);
  port_for_write(new_slot, port).link = id.index;
  if (pcap_directory_) open_capture(new_slot, port);
  old_slot.element->set_carrier(old.port, false);
  reschedule(old_slot);
  const LinkEndpoint& far = link.endpoint(1 - side);
  new_slot.element->set_carrier(port, admin_up(far));
  reschedule(new_slot);
  Slot& far_slot = slot(far.element);
  far_slot.element->set_carrier(far.port, admin_up(LinkEndpoint{element, port}));
  reschedule(far_slot);
  return std::nullopt;
}

std::optional<SimError> Sim::set_link_props(LinkId id, LinkProps props) {
  if (id.index >= links_.size()) return SimError::UnknownLink;
  if (auto error = validate(props)) return error;
  links_[id.index].set_props(props);
  return std::nullopt;
}

std::optional<LinkId> Sim::link_at(ElementId element, int port) const {
  if (!valid(element)) return std::nullopt;
  const PortState* state = find_port(slot(element), port);
  if (state == nullptr || state->link == kNoIndex) return std::nullopt;
  return LinkId{state->link};
}

std::optional<SimError> Sim::set_port_admin(ElementId element, int port, bool up) {
  if (!valid(element)) return SimError::UnknownElement;
  if (!valid_port(element, port)) return SimError::BadPort;
  PortState& state = port_for_write(slot(element), port);
  if (state.admin_up == up) return std::nullopt;
  state.admin_up = up;
  if (state.link != kNoIndex) {
    Link& link = links_[state.link];
    const int side = link.side_of({element, port});
    link.set_admin_up(side, up);
    const LinkEndpoint& far = link.endpoint(1 - side);
    Slot& far_slot = slot(far.element);
    far_slot.element->set_carrier(far.port, up);
    reschedule(far_slot);
  }
  return std::nullopt;
}

bool Sim::port_admin(ElementId element, int port) const {
  return !valid(element) || admin_up({element, port});
}

// ---- traffic ----

std::optional<SimError> Sim::inject(ElementId element, int port, std::span<const std::byte> frame) {
  return inject_at(now_ns_, element, port, frame);
}

std::optional<SimError> Sim::inject_at(uint64_t time_ns, ElementId element, int port,
                                       std::span<const std::byte> frame) {
  if (!valid(element)) return SimError::UnknownElement;
  if (!valid_port(element, port)) return SimError::BadPort;
  ++counters_.frames_injected;
  Event event;
  event.time_ns = std::max(time_ns, now_ns_);
  event.element = element.index;
  event.port = port;
  event.frame = store_frame(frame);
  event.kind = EventKind::Deliver;
  queue_.push(event);
  ++live_events_;
  return std::nullopt;
}

void Sim::refresh_timer(ElementId element) {
  if (valid(element)) reschedule(slot(element));
}

uint32_t Sim::store_frame(std::span<const std::byte> frame) {
  uint32_t index;
  if (free_frames_.empty()) {
    index = static_cast<uint32_t>(frame_pool_.size());
    frame_pool_.emplace_back();
  } else {
    index = free_frames_.back();
    free_frames_.pop_back();
  }
  frame_pool_[index].assign(frame.begin(), frame.end());
  return index;
}

void Sim::transmit(uint32_t element, int port, std::span<const std::byte> frame) {
  ++counters_.frames_transmitted;
  Slot& from = *slots_[element];
  if (pcap_directory_) capture(from, port, frame);
  if (tracing_) record(TraceKind::Transmit, element, port, kNoIndex, frame.size());

  const PortState* state = find_port(from, port);
  if (state == nullptr || state->link == kNoIndex) {
    drop(DropReason::NoLink, element, port, kNoIndex, frame.size());
    return;
  }
  const uint32_t link_index = state->link;
  Link& link = links_[link_index];
  const int direction = link.side_of({ElementId{element}, port});
  const LinkEndpoint& far = link.endpoint(1 - direction);
  if (!state->admin_up || !link.admin_up(1 - direction)) {
    link.count_drop(direction, DropReason::Down);
    drop(DropReason::Down, element, port, link_index, frame.size());
    return;
  }
  uint64_t depart_ns = now_ns_;
  if (std::optional<DropReason> reason = link.admit(direction, frame, now_ns_, &depart_ns)) {
    drop(*reason, element, port, link_index, frame.size());
    return;
  }
  Event event;
  event.time_ns = saturating_add(depart_ns, link.props().delay_ns);
  event.element = far.element.index;
  event.port = far.port;
  event.frame = store_frame(frame);
  event.link = link_index;
  event.direction = static_cast<uint8_t>(direction);
  event.kind = EventKind::Deliver;
  queue_.push(event);
  ++live_events_;
}

void Sim::drop(DropReason reason, uint32_t element, int port, uint32_t link, size_t frame_len) {
  ++counters_.drops[static_cast<size_t>(reason)];
  if (tracing_) record(TraceKind::Drop, element, port, link, frame_len, reason);
}

// ---- running ----

bool Sim::step(uint64_t limit_ns) {
  while (!queue_.empty()) {
    const Event& top = queue_.top();
    // Superseded timers are discarded whatever their time, so they never hold the loop.
    if (top.kind == EventKind::Timer && slots_[top.element]->timer_sequence != top.sequence) {
      queue_.pop();
      ++counters_.stale_timer_events;
      continue;
    }
    if (top.time_ns > limit_ns) return false;
    Event event = queue_.pop();
    now_ns_ = event.time_ns;
    ++counters_.events_processed;
    if (event.kind == EventKind::Deliver) {
      deliver(event);
    } else {
      run_timer(event);
    }
    return true;
  }
  return false;
}

void Sim::run_until(uint64_t time_ns) {
  while (step(time_ns)) {
  }
  now_ns_ = std::max(now_ns_, time_ns);
}

bool Sim::run_until(uint64_t time_ns, const std::function<bool()>& stop) {
  while (!stop()) {
    if (!step(time_ns)) {
      // Nothing left before time_ns; "forever" leaves the clock where the last event was.
      if (time_ns != kNoDeadline) now_ns_ = std::max(now_ns_, time_ns);
      return false;
    }
  }
  return true;
}

bool Sim::run_until_idle(uint64_t limit_ns) {
  while (step(limit_ns)) {
  }
  if (idle()) return true;
  now_ns_ = std::max(now_ns_, limit_ns);
  return false;
}

void Sim::deliver(const Event& event) {
  --live_events_;
  Slot& to = *slots_[event.element];
  // The bytes stay where they are until release below, even if the element transmits (and
  // frame_pool_ grows) during receive().
  std::span<const std::byte> frame = frame_pool_[event.frame];
  bool delivered = true;
  if (event.link != kNoIndex) {
    Link& link = links_[event.link];
    const LinkEndpoint& receiver = link.endpoint(1 - event.direction);
    if (receiver.element.index != event.element || receiver.port != event.port ||
        !link.both_admin_up()) {
      link.count_drop(event.direction, DropReason::Down);
      drop(DropReason::Down, event.element, event.port, event.link, frame.size());
      delivered = false;
    } else {
      link.count_delivered(event.direction, frame.size());
    }
  }
  if (delivered) {
    ++counters_.frames_delivered;
    if (pcap_directory_) capture(to, event.port, frame);
    if (tracing_) record(TraceKind::Deliver, event.element, event.port, event.link, frame.size());
    to.element->receive(event.port, frame, now_ns_);
  }
  free_frames_.push_back(event.frame);
  if (delivered) reschedule(to);
}

void Sim::run_timer(const Event& event) {
  Slot& owner = *slots_[event.element];
  owner.timer_sequence = 0;
  owner.timer_ns = kNoDeadline;
  --live_events_;
  ++counters_.timers_run;
  if (tracing_) record(TraceKind::Timer, event.element, 0, kNoIndex, 0);
  owner.element->run_timers(now_ns_);
  reschedule(owner);
}

void Sim::reschedule(Slot& s) {
  const uint64_t deadline = s.element->next_deadline_ns();
  if (deadline == kNoDeadline) {
    if (s.timer_sequence != 0) {
      s.timer_sequence = 0;
      s.timer_ns = kNoDeadline;
      --live_events_;
    }
    return;
  }
  // A deadline already past runs now, after the events already due now.
  const uint64_t when = std::max(deadline, now_ns_);
  if (s.timer_sequence != 0 && s.timer_ns == when) return;
  if (s.timer_sequence == 0) ++live_events_;
  Event event;
  event.time_ns = when;
  event.element = s.index;
  event.kind = EventKind::Timer;
  s.timer_sequence = queue_.push(event);
  s.timer_ns = when;
}

// ---- capture ----

std::optional<SimError> Sim::enable_pcap(const std::string& directory) {
  std::optional<SimError> previous = flush_pcaps();
  (void)previous;  // the old files are done with; their errors no longer matter
  pcaps_.clear();
  pcap_error_.reset();
  for (auto& s : slots_) {
    for (PortState& state : s->ports) state.pcap = kNoIndex;
  }
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) {
    pcap_directory_.reset();
    return SimError::PcapOpen;
  }
  pcap_directory_ = directory;
  for (auto& s : slots_) {
    for (size_t port = 1; port < s->ports.size(); ++port) {
      if (s->ports[port].link != kNoIndex) open_capture(*s, static_cast<int>(port));
    }
  }
  return pcap_error_;
}

std::optional<SimError> Sim::flush_pcaps() {
  for (auto& writer : pcaps_) {
    if (auto error = writer->flush(); error && !pcap_error_) pcap_error_ = error;
  }
  return pcap_error_;
}

void Sim::open_capture(Slot& s, int port) {
  PortState& state = port_for_write(s, port);
  if (state.pcap != kNoIndex) return;
  std::string path = *pcap_directory_ + "/" + file_name_part(s.name) + "-" +
                     file_name_part(s.element->port_name(port)) + ".pcap";
  auto writer = std::make_unique<PcapWriter>(std::move(path));
  if (auto error = writer->open(); error && !pcap_error_) pcap_error_ = error;
  state.pcap = static_cast<uint32_t>(pcaps_.size());
  pcaps_.push_back(std::move(writer));
}

void Sim::capture(Slot& s, int port, std::span<const std::byte> frame) {
  const PortState* state = find_port(s, port);
  if (state == nullptr || state->pcap == kNoIndex) {
    // A port without a link seen for the first time: only real ports get a file.
    if (port < 1 || port > kMaxPort || !s.element->has_port(port)) return;
    open_capture(s, port);
    state = find_port(s, port);
  }
  pcaps_[state->pcap]->write(now_ns_, frame);
}

// ---- trace ----

void Sim::record(TraceKind kind, uint32_t element, int port, uint32_t link, size_t frame_len,
                 DropReason reason) {
  TraceRecord r;
  r.time_ns = now_ns_;
  r.kind = kind;
  r.element = ElementId{element};
  r.port = port;
  if (link != kNoIndex) r.link = LinkId{link};
  r.reason = reason;
  r.frame_len_bytes = static_cast<uint32_t>(frame_len);
  trace_.push_back(r);
}

std::string Sim::format(const TraceRecord& record) const {
  std::string out =
      fmt::format("{}.{:09} ", record.time_ns / 1'000'000'000, record.time_ns % 1'000'000'000);
  const Slot& s = slot(record.element);
  switch (record.kind) {
    case TraceKind::Transmit:
      out += "tx ";
      break;
    case TraceKind::Deliver:
      out += "rx ";
      break;
    case TraceKind::Drop:
      out += fmt::format("drop {} ", to_string(record.reason));
      break;
    case TraceKind::Timer:
      return out + "timer " + s.name;
  }
  out += s.name + ":" + s.element->port_name(record.port);
  if (record.link) out += fmt::format(" link {}", record.link->index);
  out += fmt::format(" {} bytes", record.frame_len_bytes);
  return out;
}

}  // namespace vnet::sim
