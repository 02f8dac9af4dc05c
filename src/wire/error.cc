#include "wire/error.h"

namespace vnet::wire {

const char* to_string(WireError error) {
  switch (error) {
    case WireError::Truncated:
      return "truncated";
    case WireError::BadVersion:
      return "bad version";
    case WireError::BadHeaderLength:
      return "bad header length";
    case WireError::BadTotalLength:
      return "bad total length";
    case WireError::BadLength:
      return "bad length";
    case WireError::BadChecksum:
      return "bad checksum";
    case WireError::BadHardwareType:
      return "bad hardware type";
    case WireError::BadProtocolType:
      return "bad protocol type";
    case WireError::BadAddressLength:
      return "bad address length";
    case WireError::BadOperation:
      return "bad operation";
    case WireError::BadVlanTag:
      return "bad vlan tag";
    case WireError::BadFragmentOffset:
      return "bad fragment offset";
    case WireError::UnsupportedType:
      return "unsupported type";
    case WireError::BadCode:
      return "bad code";
    case WireError::TooLong:
      return "too long";
    case WireError::BadFlags:
      return "bad flags";
  }
  return "unknown";
}

}  // namespace vnet::wire
