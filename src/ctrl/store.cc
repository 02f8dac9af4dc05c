#include "ctrl/store.h"

namespace vnet::ctrl {

const char* code_name(Code c) {
  switch (c) {
    case Code::Ok:
      return "ok";
    case Code::Unavailable:
      return "unavailable";
    case Code::DeadlineExceeded:
      return "deadline exceeded";
    case Code::Compacted:
      return "compacted";
    case Code::FutureRevision:
      return "future revision";
    case Code::InvalidArgument:
      return "invalid argument";
    case Code::Internal:
      return "internal";
  }
  return "?";
}

Result<int64_t> Store::put(const std::string& key, const std::string& value) {
  TxnRequest t;
  t.success.push_back({Op::Type::Put, key, value, {}});
  Result<TxnResponse> r = txn(t);
  if (!r.ok()) return r.error();
  return r.value().revision;
}

Result<int64_t> Store::del(const std::string& key, const std::string& range_end) {
  TxnRequest t;
  t.success.push_back({Op::Type::Delete, key, {}, range_end});
  Result<TxnResponse> r = txn(t);
  if (!r.ok()) return r.error();
  return r.value().revision;
}

std::string prefix_end(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    auto last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

bool in_range(const std::string& k, const std::string& key, const std::string& range_end) {
  if (range_end.empty()) return k == key;
  if (k < key) return false;
  if (range_end == std::string(1, '\0')) return true;
  return k < range_end;
}

}  // namespace vnet::ctrl
