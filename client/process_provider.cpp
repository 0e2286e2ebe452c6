// credential_process: a command whose stdout is a Version 1 credentials document.
#include "client/credential_json.hpp"
#include "client/credential_sources.hpp"
#include "client/off_loop.hpp"

namespace iamq::client {

namespace {

class ProcessProvider : public CredentialsProvider {
 public:
  ProcessProvider(const SourceContext& ctx, std::string command, std::string profile)
      : ioc_(&ctx.transport->context()), timeout_(ctx.process_timeout), command_(std::move(command)),
        profile_(std::move(profile)) {}
  void get(Completion completion) override {
    const std::string what = describe();
    run_off_loop(
        *ioc_, [cmd = command_, t = timeout_] { return run_bounded_process(cmd, t, kMaxCredentialDocumentBytes); },
        [what, completion = std::move(completion)](OffLoopResult r) {
          // Never the output in a message: it holds the secret.
          if (r.error) return completion(ProviderError{"MissingCredentials", what + ": " + *r.error}, {});
          auto parsed = parse_process_credentials(r.output);
          if (auto* why = std::get_if<std::string>(&parsed))
            return completion(ProviderError{"MissingCredentials", what + ": " + *why}, {});
          completion(std::nullopt, std::get<TimedCredentials>(std::move(parsed)));
        });
  }
  std::string describe() const override { return "credential_process of profile '" + profile_ + "'"; }

 private:
  boost::asio::io_context* ioc_;
  std::chrono::milliseconds timeout_;
  std::string command_;
  std::string profile_;
};

}  // namespace

ProviderPtr make_process_provider(const SourceContext& ctx, std::string command, std::string profile) {
  return std::make_shared<ProcessProvider>(ctx, std::move(command), std::move(profile));
}

}  // namespace iamq::client
