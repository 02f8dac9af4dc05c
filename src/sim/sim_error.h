// SimError and SimResult: why the simulator refused a topology or control request, without
// exceptions.  Functions that only succeed or fail return std::optional<SimError> (std::nullopt
// on success); functions that produce a value return SimResult<T>, the value or the reason.
// Example:
//   SimResult<LinkId> link = sim.connect(a, 1, b, 1, {});
//   if (!link) std::printf("connect: %s\n", to_string(link.error()));  // "port in use"
#pragma once

#include <cassert>
#include <cstdint>
#include <optional>
#include <utility>

namespace vnet::sim {

enum class SimError : uint8_t {
  EmptyName,       // an element needs a name (capture files and labs refer to it)
  DuplicateName,   // another element has this name
  NullElement,     // add_element() was given no element
  UnknownElement,  // the ElementId is not from this simulator
  UnknownLink,     // the LinkId is not from this simulator
  BadPort,         // the element says it has no such port
  PortInUse,       // the port is already an endpoint of a link
  SamePort,        // both link endpoints are the same port
  BadMtu,          // link MTU is 0
  BadLoss,         // link loss probability outside [0, 1] (or NaN)
  PcapOpen,        // a capture file could not be created
  PcapWrite,       // a capture file could not be written
};

// Short lower-case reason ("port in use"), for error messages.
const char* to_string(SimError error);

template <typename T>
class SimResult {
 public:
  SimResult(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  SimResult(SimError error) : error_(error) {}      // NOLINT(google-explicit-constructor)

  bool has_value() const { return value_.has_value(); }
  explicit operator bool() const { return has_value(); }
  // Preconditions: has_value() for the value accessors, !has_value() for error().
  const T& value() const { return (assert(has_value()), *value_); }
  const T& operator*() const { return value(); }
  const T* operator->() const { return &value(); }
  SimError error() const { return (assert(!has_value()), error_); }

 private:
  std::optional<T> value_;
  SimError error_ = SimError::UnknownElement;
};

}  // namespace vnet::sim
