// A profile of the shared config and credentials files, re-read (off the loop) on every
// fetch, resolved by resolve_profile() and carried out by make_plan_provider().
#include "client/credential_sources.hpp"
#include "client/off_loop.hpp"

namespace iamq::client {

namespace {

constexpr std::size_t kMaxProfileFileBytes = 1024 * 1024;

std::string expand_home(const std::map<std::string, std::string>& env, std::string path) {
  if (path == "~" || path.rfind("~/", 0) == 0) path = env_get(env, "HOME") + path.substr(1);
  return path;
}

/// Both files' text; a missing file is empty, an unreadable or oversized one an error.
struct FilesText {
  std::optional<std::string> error;
  std::string config, credentials;
};

FilesText read_files(const std::string& config_path, const std::string& creds_path) {
  FilesText out;
  auto one = [&](const std::string& path, std::string& text) {
    if (path.empty()) return;
    OffLoopResult r = read_bounded_file(path, kMaxProfileFileBytes);
    if (r.error) {
      if (r.error->find("No such file") != std::string::npos) return;
      if (!out.error) out.error = path + ": " + *r.error;
      return;
    }
    text = std::move(r.output);
  };
  one(config_path, out.config);
  one(creds_path, out.credentials);
  return out;
}

class ProfileProvider : public CredentialsProvider, public std::enable_shared_from_this<ProfileProvider> {
 public:
  ProfileProvider(const SourceContext& ctx, std::string profile, bool must_exist)
      : ctx_(ctx), profile_(std::move(profile)), must_exist_(must_exist) {
    const std::string home = env_get(ctx.env, "HOME");
    config_path_ = env_get(ctx.env, "AWS_CONFIG_FILE");
    if (config_path_.empty() && !home.empty()) config_path_ = home + "/.aws/config";
    creds_path_ = env_get(ctx.env, "AWS_SHARED_CREDENTIALS_FILE");
    if (creds_path_.empty() && !home.empty()) creds_path_ = home + "/.aws/credentials";
    config_path_ = expand_home(ctx.env, config_path_);
    creds_path_ = expand_home(ctx.env, creds_path_);
  }

  void get(Completion completion) override {
    auto self = shared_from_this();
    run_off_loop(
        ctx_.transport->context(),
        [c = config_path_, k = creds_path_] {
          FilesText t = read_files(c, k);
          OffLoopResult r;
          r.error = t.error;
          // Two texts in one string: the config file's length, a newline, both texts.
          r.output = std::to_string(t.config.size()) + "\n" + t.config + t.credentials;
          return r;
        },
        [self, completion = std::move(completion)](OffLoopResult r) mutable {
          if (r.error) return completion(ProviderError{"MissingCredentials", "profile '" + self->profile_ + "': " + *r.error}, {});
          const std::size_t nl = r.output.find('\n');
          const std::size_t n = std::stoul(r.output.substr(0, nl));
          const std::string_view all(r.output);
          const IniSections config = parse_ini(all.substr(nl + 1, n), true);
          const IniSections creds = parse_ini(all.substr(nl + 1 + n), false);
          auto resolved = resolve_profile(config, creds, self->profile_);
          if (auto* e = std::get_if<ProfileError>(&resolved)) {
            return completion(ProviderError{"MissingCredentials", e->message, e->not_found && !self->must_exist_}, {});
          }
          auto plan = make_plan_provider(self->ctx_, std::get<ProfilePlan>(resolved));
          // Inside a profile, a source that is not set up (credential_source = Environment
          // without keys) is an error: the chain must not skip a profile it was told to use.
          plan->get([plan, completion = std::move(completion)](std::optional<ProviderError> err,
                                                               TimedCredentials tc) {
            if (err) err->not_configured = false;
            completion(std::move(err), std::move(tc));
          });
        });
  }
  std::string describe() const override { return "profile '" + profile_ + "'"; }

 private:
  SourceContext ctx_;
  std::string profile_;
  bool must_exist_;
  std::string config_path_, creds_path_;
};

}  // namespace

ProviderPtr make_profile_provider(const SourceContext& ctx, std::string profile, bool must_exist) {
  return std::make_shared<ProfileProvider>(ctx, std::move(profile), must_exist);
}

ProviderPtr make_plan_provider(const SourceContext& ctx, const ProfilePlan& plan) {
  ProviderPtr p;
  const ProfileBase& b = plan.base;
  switch (b.kind) {
    case ProfileBase::Kind::static_keys:
      p = make_static_provider(b.keys, "profile '" + b.profile + "'");
      break;
    case ProfileBase::Kind::credential_process:
      p = make_process_provider(ctx, b.process, b.profile);
      break;
    case ProfileBase::Kind::web_identity: {
      AssumeRoleParams ap{b.role.role_arn, b.role.role_session_name, b.role.external_id, b.role.duration_seconds};
      if (ap.role_session_name.empty()) ap.role_session_name = "iamq";
      p = make_web_identity_provider(ctx, b.token_file, std::move(ap));
      break;
    }
    case ProfileBase::Kind::environment: p = make_environment_provider(ctx); break;
    case ProfileBase::Kind::ec2_metadata: p = make_imds_provider(ctx); break;
    case ProfileBase::Kind::ecs_container: p = make_container_provider(ctx); break;
  }
  for (const RoleStep& r : plan.roles) {
    AssumeRoleParams ap{r.role_arn, r.role_session_name.empty() ? "iamq" : r.role_session_name, r.external_id,
                        r.duration_seconds};
    p = make_assume_role_provider(ctx, std::move(p), std::move(ap));
  }
  return p;
}

}  // namespace iamq::client
