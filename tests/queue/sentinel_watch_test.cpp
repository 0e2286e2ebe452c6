// +switch-master payloads (sans-io part of SentinelWatch).
#include "queue/sentinel_watch.hpp"

#include <gtest/gtest.h>

namespace iamq::queue {
namespace {

TEST(SentinelWatchTest, SwitchMasterNamesTheNewMasterOfOurMasterOnly) {
  EXPECT_EQ(switch_master_target("mymaster 127.0.0.1 6379 127.0.0.1 6380", "mymaster"), "127.0.0.1:6380");
  EXPECT_EQ(switch_master_target("other 127.0.0.1 6379 10.0.0.2 6380", "mymaster"), "");
  EXPECT_EQ(switch_master_target("mymaster2 127.0.0.1 6379 10.0.0.2 6380", "mymaster"), "");
  EXPECT_EQ(switch_master_target("mymaster", "mymaster"), "");
  EXPECT_EQ(switch_master_target("mymaster 1", "mymaster"), "");
  EXPECT_EQ(switch_master_target("", "mymaster"), "");
}

}  // namespace
}  // namespace iamq::queue
