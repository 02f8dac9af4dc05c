#include "sim/sim_error.h"

namespace vnet::sim {

const char* to_string(SimError error) {
  switch (error) {
    case SimError::EmptyName:
      return "empty name";
    case SimError::DuplicateName:
      return "duplicate name";
    case SimError::NullElement:
      return "null element";
    case SimError::UnknownElement:
      return "unknown element";
    case SimError::UnknownLink:
      return "unknown link";
    case SimError::BadPort:
      return "bad port";
    case SimError::PortInUse:
      return "port in use";
    case SimError::SamePort:
      return "same port";
    case SimError::BadMtu:
      return "bad mtu";
    case SimError::BadLoss:
      return "bad loss";
    case SimError::PcapOpen:
      return "cannot create capture file";
    case SimError::PcapWrite:
      return "cannot write capture file";
  }
  return "unknown";
}

}  // namespace vnet::sim
