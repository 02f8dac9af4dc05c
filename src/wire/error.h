// WireError and WireResult: why a wire view or Repr refused a packet, without exceptions.
//
// Every wire header follows one pattern:
//   - `View::check()` returns std::optional<WireError>: std::nullopt when the buffer is long enough
//     for every accessor, otherwise the first reason found;
//   - `Repr::parse(view, ...)` returns WireResult<Repr>: the value, or the reason;
//   - `Repr::emit(buffer, ...)` returns std::optional<WireError>: std::nullopt when written.
// Example:
//   Ipv4ConstView ip(frame_payload);
//   if (auto error = ip.check()) count_drop(*error);  // e.g. WireError::BadHeaderLength
// The stages above map each reason to a named drop counter, so the names follow the checks that
// Linux's ip_rcv()/arp_rcv()/udp_rcv() make (and count as InHdrErrors, InTruncatedPkts, ...).
#pragma once

#include <cassert>
#include <cstdint>
#include <optional>
#include <utility>

namespace vnet::wire {

enum class WireError : uint8_t {
  Truncated,          // buffer shorter than the fixed header or than the header says
  BadVersion,         // IPv4 version field is not 4
  BadHeaderLength,    // IPv4 IHL or TCP data offset below 5, or beyond the buffer
  BadTotalLength,     // IPv4 total length below IHL*4 or beyond the buffer
  BadLength,          // UDP length below 8 or beyond the buffer
  BadChecksum,        // an Internet checksum does not verify
  BadHardwareType,    // ARP hardware type is not Ethernet (1)
  BadProtocolType,    // ARP protocol type is not IPv4 (0x0800)
  BadAddressLength,   // ARP hardware/protocol address lengths are not 6/4
  BadOperation,       // ARP operation is neither request (1) nor reply (2)
  BadVlanTag,         // 802.1Q tag out of range, or a TPID used as the payload EtherType
  BadFragmentOffset,  // IPv4 fragment offset not a multiple of 8 or above 8191 units
  UnsupportedType,    // ICMP type this Repr does not model
  BadCode,            // ICMP code not defined for its type
  TooLong,            // fields describe a packet longer than the length fields can carry
  BadFlags,           // VXLAN without the I flag, or with reserved bits set
};

// Short lower-case reason ("truncated", "bad checksum"), for counters and traces.
const char* to_string(WireError error);

// Either a parsed value or the reason it could not be parsed.
template <typename T>
class WireResult {
 public:
  WireResult(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  WireResult(WireError error) : error_(error) {}     // NOLINT(google-explicit-constructor)

  bool has_value() const { return value_.has_value(); }
  explicit operator bool() const { return has_value(); }
  // Preconditions: has_value() for the value accessors, !has_value() for error().
  const T& value() const { return (assert(has_value()), *value_); }
  T& value() { return (assert(has_value()), *value_); }
  const T& operator*() const { return value(); }
  T& operator*() { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }
  WireError error() const { return (assert(!has_value()), error_); }

 private:
  std::optional<T> value_;
  WireError error_ = WireError::Truncated;
};

}  // namespace vnet::wire
