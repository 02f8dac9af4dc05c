#include "wire/error.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace vnet::wire {
namespace {

TEST(WireError, EveryReasonHasItsOwnName) {
  std::set<std::string> names;
  for (int i = 0; i <= static_cast<int>(WireError::BadFlags); ++i) {
    std::string name = to_string(static_cast<WireError>(i));
    EXPECT_NE(name, "unknown") << i;
    EXPECT_TRUE(names.insert(name).second) << name;
  }
  EXPECT_STREQ(to_string(WireError::BadChecksum), "bad checksum");
}

TEST(WireResult, HoldsAValueOrAnError) {
  WireResult<int> value = 7;
  ASSERT_TRUE(value);
  EXPECT_EQ(*value, 7);
  WireResult<int> error = WireError::Truncated;
  ASSERT_FALSE(error);
  EXPECT_EQ(error.error(), WireError::Truncated);
}

}  // namespace
}  // namespace vnet::wire
