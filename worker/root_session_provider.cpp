#include "worker/root_session_provider.hpp"

#include <chrono>

namespace iamq::worker {

RootSessionProvider::RootSessionProvider(std::shared_ptr<client::StsClient> sts, client::ProviderPtr management,
                                         std::string target_account, std::string task_policy_arn,
                                         int duration_seconds)
    : sts_(std::move(sts)),
      management_(std::move(management)),
      target_(std::move(target_account)),
      policy_(std::move(task_policy_arn)),
      duration_(duration_seconds) {}

void RootSessionProvider::get(Completion completion) {
  using namespace std::chrono_literals;
  // A job's calls are sequential: at most one get() is outstanding.
  if (session_ && (!session_->expiration || *session_->expiration - 30s > std::chrono::system_clock::now()))
    return completion(std::nullopt, *session_);
  session_.reset();
  ++sessions_;
  sts_->assume_root(management_, target_, policy_, duration_,
                    [self = shared_from_this(), completion = std::move(completion)](
                        std::optional<client::StsError> err, client::StsCredentials sc) {
                      if (err) return completion(err->error, {});
                      self->session_ = sc.creds;
                      ++self->generation_;
                      completion(std::nullopt, *self->session_);
                    });
}

void RootSessionProvider::invalidate(std::uint64_t generation) {
  if (generation == generation_) session_.reset();
}

std::string RootSessionProvider::describe() const {
  return "assume-root " + target_ + " (" + policy_ + ")";
}

}  // namespace iamq::worker
