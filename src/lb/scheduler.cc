#include "lb/scheduler.h"

namespace vnet::lb {

const std::vector<std::string>& scheduler_names() {
  static const std::vector<std::string> names = {"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh",
                                                 "sh", "sed", "nq", "fo",  "ovf",  "mh",    "twos"};
  return names;
}

std::unique_ptr<Scheduler> make_scheduler(std::string_view name, const SchedulerConfig& config,
                                          const DestList& dests) {
  if (name == "rr") return make_rr();
  if (name == "wrr") return make_wrr(dests);
  if (name == "lc") return make_lc();
  if (name == "wlc") return make_wlc();
  if (name == "sed") return make_sed();
  if (name == "nq") return make_nq();
  if (name == "fo") return make_fo();
  if (name == "ovf") return make_ovf();
  if (name == "twos") return make_twos(config.random);
  if (name == "sh") return make_sh(config.flags, dests);
  if (name == "dh") return make_dh(dests);
  if (name == "mh") return make_mh(config.flags, dests);
  if (name == "lblc") return make_lblc(config.lblc_expiration_ns);
  if (name == "lblcr") return make_lblcr(config.lblcr_expiration_ns);
  return nullptr;
}

}  // namespace vnet::lb
