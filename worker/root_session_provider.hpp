#pragma once
/// The credentials of one deactivate_root_mfa job: an sts:AssumeRoot session into the member
/// account (task policy IAMDeleteRootUserCredentials), signed with the management account's
/// credentials. One provider per job run, never cached in AccountCredentials nor shared with
/// another job; dropped with the run.
#include <memory>
#include <optional>
#include <string>

#include "client/credentials_provider.hpp"
#include "client/sts_client.hpp"

namespace iamq::worker {

/// The task policy of root MFA jobs.
inline constexpr std::string_view kRootTaskPolicyArn = "arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials";

class RootSessionProvider : public client::CredentialsProvider,
                            public std::enable_shared_from_this<RootSessionProvider> {
 public:
  RootSessionProvider(std::shared_ptr<client::StsClient> sts, client::ProviderPtr management, std::string target_account,
                      std::string task_policy_arn = std::string(kRootTaskPolicyArn), int duration_seconds = 900);

  /// The session (asked for at the first get(); again after invalidate() or near expiry).
  void get(Completion completion) override;
  void invalidate(std::uint64_t generation) override;
  std::uint64_t generation() const override { return generation_; }
  std::string describe() const override;
  /// AssumeRoot calls made (tests).
  int sessions() const { return sessions_; }

 private:
  std::shared_ptr<client::StsClient> sts_;
  client::ProviderPtr management_;
  std::string target_;
  std::string policy_;
  int duration_;
  std::optional<client::TimedCredentials> session_;
  std::uint64_t generation_ = 0;
  int sessions_ = 0;
};

}  // namespace iamq::worker
