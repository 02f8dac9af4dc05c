// A JSON writer that reproduces iproute2's json_writer output byte for byte: compact
// (`ip -j`, no spaces) and pretty (`ip -j -p`, four-space indent, "[ {" openings, "[ ]" for
// empty arrays).  Objects are kept in insertion order, as iproute2 emits keys in print order.
//
// Example: Json o = Json::object(); o.set("dst", "10.0.0.0/8"); o.set("flags", Json::array());
//   compact: {"dst":"10.0.0.0/8","flags":[]}
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace vnet::cmd {

class Json {
 public:
  enum class Kind { Null, Bool, Int, String, Array, Object };

  Json() = default;
  static Json object() { return Json(Kind::Object); }
  static Json array() { return Json(Kind::Array); }
  static Json null() { return Json(Kind::Null); }
  Json(const char* s) : kind_(Kind::String), str_(s) {}             // NOLINT: implicit by design
  Json(std::string s) : kind_(Kind::String), str_(std::move(s)) {}  // NOLINT
  Json(int64_t v) : kind_(Kind::Int), int_(v) {}                    // NOLINT
  Json(int v) : kind_(Kind::Int), int_(v) {}                        // NOLINT
  Json(uint32_t v) : kind_(Kind::Int), int_(v) {}                   // NOLINT
  Json(uint64_t v) : kind_(Kind::Int), int_(static_cast<int64_t>(v)) {}  // NOLINT
  static Json boolean(bool b) {
    Json j(Kind::Bool);
    j.int_ = b ? 1 : 0;
    return j;
  }

  Json& set(const std::string& key, Json value) {
    members_.emplace_back(key, std::move(value));
    return members_.back().second;
  }
  Json& push(Json value) {
    members_.emplace_back(std::string(), std::move(value));
    return members_.back().second;
  }
  bool empty() const { return members_.empty(); }
  Kind kind() const { return kind_; }

  std::string dump(bool pretty) const;

 private:
  explicit Json(Kind k) : kind_(k) {}
  void write(std::string& out, bool pretty, int depth) const;

  Kind kind_ = Kind::Null;
  std::string str_;
  int64_t int_ = 0;
  std::vector<std::pair<std::string, Json>> members_;
};

}  // namespace vnet::cmd
