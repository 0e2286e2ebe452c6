#include "tests/iam_emulator/emulator.hpp"

#include <algorithm>
#include <cstdio>

#include "client/query_encoder.hpp"
#include "client/signer.hpp"

namespace iamq::emulator {

using nlohmann::json;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

const std::string* header(const Request& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (iequals(k, name)) return &v;
  return nullptr;
}

ApiError auth_error(std::string code, std::string message, int status = 403) {
  return ApiError{status, std::move(code), std::move(message), false};
}

Response json_response(int status, const json& body) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);  // never throws on bad UTF-8
  r.body.push_back('\n');
  return r;
}
Response json_error(int status, const std::string& message) {
  return json_response(status, json{{"error", message}});
}

constexpr const char* kHtml503 =
    "<html>\n<head><title>503 Service Unavailable</title></head>\n<body>\n"
    "<center><h1>503 Service Unavailable</h1></center>\n</body>\n</html>\n";

}  // namespace

Emulator::Emulator(State initial, Options options, StsState sts)
    : initial_state_(initial),
      initial_sts_(sts),
      sts_(std::move(sts)),
      initial_options_(options),
      state_(std::move(initial)),
      options_(std::move(options)),
      random_(options_.random_seed),
      request_salt_(options_.random_seed * 0x9E3779B97F4A7C15ULL) {
  buckets_.reserve(16);
  last_change_.reserve(1024);
}

void Emulator::set_faults(FaultConfig faults, TimePoint now) {
  options_.faults = std::move(faults);
  buckets_.clear();  // reconfigured lazily with the new rate
  (void)now;
}

void Emulator::reset(TimePoint now) {
  state_ = initial_state_;
  sts_ = initial_sts_;
  options_ = initial_options_;
  random_ = Random(options_.random_seed);
  buckets_.clear();
  last_change_.clear();
  stats_ = Stats{};
  request_counter_ = 0;
  (void)now;
}

std::string Emulator::next_request_id() {
  std::uint64_t n = ++request_counter_;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-8%03x-%012llx",
                static_cast<unsigned>(request_salt_ >> 32),
                static_cast<unsigned>((request_salt_ >> 16) & 0xffff),
                static_cast<unsigned>(request_salt_ & 0xfff),
                static_cast<unsigned>((n >> 48) & 0xfff),
                static_cast<unsigned long long>(n & 0xffffffffffffULL));
  return buf;
}

void Emulator::count(std::string_view action, std::string_view code) {
  auto a = stats_.calls.find(action);
  if (a == stats_.calls.end()) a = stats_.calls.emplace(std::string(action), Stats::Counts{}).first;
  auto c = a->second.find(code);
  if (c == a->second.end()) c = a->second.emplace(std::string(code), 0).first;
  ++c->second;
}

Response Emulator::handle(const Request& request) {
  std::string_view target = request.target;
  auto q = target.find('?');
  std::string_view path = target.substr(0, q);
  if (path.rfind("/_emulator/", 0) == 0 || path == "/_emulator") return handle_admin(request, path);
  // STS and Organizations share the endpoint: told apart by the JSON target header, the
  // signing service, or (unsigned) the web identity action.
  if (const std::string* t = header(request, "X-Amz-Target"); t && t->rfind("AWSOrganizationsV20161128.", 0) == 0)
    return handle_sts(request, true);
  if (const std::string* a = header(request, "Authorization")) {
    if (a->find("/sts/aws4_request") != std::string::npos) return handle_sts(request, false);
  } else if (request.body.find("Action=AssumeRoleWithWebIdentity") != std::string::npos) {
    return handle_sts(request, false);
  }
  return handle_iam(request);
}

// ---------------------------------------------------------------------------------------
// SigV4.

std::optional<ApiError> Emulator::authenticate(const Request& request, std::string_view path,
                                               std::string_view query, const ApiKey*& key,
                                               std::string_view service) {
  const std::string* authz = header(request, "Authorization");
  if (!authz)
    return auth_error("MissingAuthenticationToken", "Request is missing Authentication Token");
  auto parsed = client::parse_authorization(*authz);
  if (!parsed)
    return auth_error("IncompleteSignature",
                      "Authorization header requires 'Credential', 'Signature' and "
                      "'SignedHeaders' parameters of the AWS4-HMAC-SHA256 scheme.",
                      400);
  auto k = state_.keys.find(parsed->access_key_id);
  if (k == state_.keys.end())
    return auth_error("InvalidClientTokenId", "The security token included in the request is invalid.");
  const ApiKey& api_key = k->second;

  const std::string* date = header(request, "X-Amz-Date");
  if (!date)
    return auth_error("IncompleteSignature",
                      "Authorization header requires existence of a 'X-Amz-Date' header.", 400);
  auto signed_at = client::parse_amz_date(*date);
  if (!signed_at)
    return auth_error("IncompleteSignature", "X-Amz-Date '" + *date + "' is not valid.", 400);
  auto skew = request.now > *signed_at ? request.now - *signed_at : *signed_at - request.now;
  if (skew > options_.max_clock_skew) {
    return auth_error("RequestExpired", "Request has expired: signed at " + *date +
                                            ", more than " +
                                            std::to_string(options_.max_clock_skew.count()) +
                                            " s from the server time " + iso8601(request.now) + ".");
  }
  if (parsed->date != date->substr(0, 8))
    return auth_error("SignatureDoesNotMatch",
                      "Credential should be scoped to a valid date: the scope date " + parsed->date +
                          " does not match the X-Amz-Date " + date->substr(0, 8) + ".");
  if (parsed->region != options_.region)
    return auth_error("SignatureDoesNotMatch", "Credential should be scoped to a valid region, not '" +
                                                   parsed->region + "'.");
  if (parsed->service != service)
    return auth_error("SignatureDoesNotMatch",
                      "Credential should be scoped to correct service: '" + std::string(service) + "'.");
  if (std::find(parsed->signed_headers.begin(), parsed->signed_headers.end(), "host") ==
      parsed->signed_headers.end())
    return auth_error("SignatureDoesNotMatch", "'Host' must be a signed header.");

  client::SignableRequest signable;
  signable.method = request.method;
  signable.path = std::string(path.empty() ? std::string_view("/") : path);
  signable.query = std::string(query);
  signable.headers = request.headers;
  signable.body = request.body;
  if (!client::verify_signature(signable, *parsed, api_key.secret_access_key, *date))
    return auth_error("SignatureDoesNotMatch",
                      "The request signature we calculated does not match the signature you "
                      "provided. Check your AWS Secret Access Key and signing method. Consult the "
                      "service documentation for details.");

  const std::string* token = header(request, "X-Amz-Security-Token");
  if (api_key.session_token.empty() ? token != nullptr
                                    : (!token || *token != api_key.session_token))
    return auth_error("InvalidClientTokenId", "The security token included in the request is invalid.");
  if (api_key.expired)
    return auth_error("ExpiredToken", "The security token included in the request is expired");
  if (auto exp = sts_.expirations.find(api_key.access_key_id);
      exp != sts_.expirations.end() && request.now >= exp->second)
    return auth_error("ExpiredToken", "The security token included in the request is expired");
  key = &api_key;
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------
// Faults.

std::optional<ApiError> Emulator::draw_fault(const ActionSpec& spec, Response& response) {
  const FaultConfig& f = options_.faults;
  if (!f.any_probability()) return std::nullopt;
  if (random_.chance(f.drop_p(spec.name))) {
    response.drop_connection = true;
    return ApiError{0, "DroppedConnection", "", true};
  }
  if (random_.chance(f.html_503_p(spec.name))) {
    response.status = 503;
    response.content_type = "text/html";
    response.body = kHtml503;
    return ApiError{503, "ServiceUnavailable", "", true};
  }
  if (random_.chance(f.service_failure_p(spec.name)))
    return ApiError{500, "ServiceFailure",
                    "The request processing has failed because of an unknown error, exception or "
                    "failure.",
                    true};
  if (spec.mutating && random_.chance(f.unmodifiable_p(spec.name)))
    return ApiError{409, "EntityTemporarilyUnmodifiable",
                    "The entity is temporarily unmodifiable. Please try again later.", false};
  if (spec.mutating && random_.chance(f.concurrent_p(spec.name)))
    return ApiError{409, "ConcurrentModification",
                    "Rate exceeded for concurrent modifications. Please retry later.", false};
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------
// IAM calls.

Response Emulator::handle_iam(const Request& request) {
  Response response;
  response.request_id = next_request_id();

  // Statistics: total and the sliding one-second window.
  ++stats_.total_calls;
  auto& window = stats_.last_second;
  window.push_back(request.now);
  while (!window.empty() && window.front() + std::chrono::seconds(1) <= request.now)
    window.pop_front();
  stats_.max_calls_per_second = std::max(stats_.max_calls_per_second, window.size());

  if (options_.faults.latency_ms > 0 || options_.faults.jitter_ms > 0) {
    double ms = options_.faults.latency_ms;
    if (options_.faults.jitter_ms > 0) ms += options_.faults.jitter_ms * random_.unit();
    response.delay = std::chrono::microseconds(static_cast<std::int64_t>(ms * 1000));
  }

  std::string_view target = request.target;
  auto qpos = target.find('?');
  std::string_view path = target.substr(0, qpos);
  std::string_view query = qpos == std::string_view::npos ? std::string_view() : target.substr(qpos + 1);

  client::Params params = client::decode_query(query);
  if (request.method == "POST" && !request.body.empty()) {
    client::Params body_params = client::decode_query(request.body);
    params.insert(params.end(), std::make_move_iterator(body_params.begin()),
                  std::make_move_iterator(body_params.end()));
  }
  const std::string* action_name = find_param(params, "Action");
  std::string_view action_label = action_name ? std::string_view(*action_name) : "(none)";

  auto fail = [&](const ApiError& e) {
    response.status = e.http_status;
    response.content_type = "text/xml";
    response.body = error_xml(e, response.request_id);
    count(find_action(action_label) ? action_label : "(invalid)", e.code);
    return response;
  };

  if (request.method != "POST" && request.method != "GET")
    return fail(ApiError{405, "MethodNotAllowed", "The HTTP method " + request.method +
                                                      " is not allowed; use POST or GET.", false});

  const ApiKey* key = nullptr;
  if (auto e = authenticate(request, path, query, key)) return fail(*e);
  auto acct_it = state_.accounts.find(key->account_id);
  if (acct_it == state_.accounts.end())
    return fail(ApiError{403, "InvalidClientTokenId",
                         "The security token included in the request is invalid.", false});
  Account& account = acct_it->second;

  if (options_.faults.rate_limit > 0) {
    auto [b, fresh] = buckets_.try_emplace(account.id);
    if (fresh) b->second.configure(options_.faults.rate_limit, options_.faults.rate_burst, request.now);
    if (!b->second.take(request.now)) return fail(ApiError{400, "Throttling", "Rate exceeded", false});
  }

  if (!action_name)
    return fail(ApiError{400, "MissingAction", "Could not find operation for this request: the "
                                               "Action parameter is missing.", false});
  const ActionSpec* spec = find_action(*action_name);
  if (!spec)
    return fail(ApiError{400, "InvalidAction",
                         "Could not find operation " + *action_name + " for version 2010-05-08",
                         false});
  if (const std::string* v = find_param(params, "Version"); v && *v != client::kIamApiVersion)
    return fail(ApiError{400, "InvalidAction",
                         "Could not find operation " + *action_name + " for version " + *v, false});
  if (!key->allows(spec->name))
    return fail(ApiError{403, "AccessDenied",
                         "User: arn:aws:iam::" + account.id + ":user/" + key->access_key_id +
                             " is not authorized to perform: iam:" + *action_name,
                         false});

  // Per-user bookkeeping for mutating calls: statistics and the unmodifiable window.
  const std::string* user_name = spec->mutating ? find_param(params, "UserName") : nullptr;
  const std::string* group_name = spec->mutating ? find_param(params, "GroupName") : nullptr;
  auto finish = [&](std::string_view code) {
    count(spec->name, code);
    if (user_name) {
      auto& per_action = stats_.mutations_by_user[*user_name];
      auto a = per_action.find(spec->name);
      if (a == per_action.end()) a = per_action.emplace(std::string(spec->name), Stats::Counts{}).first;
      auto c = a->second.find(code);
      if (c == a->second.end()) c = a->second.emplace(std::string(code), 0).first;
      ++c->second;
    }
  };

  if (auto u = options_.unimplemented.find(spec->name); u != options_.unimplemented.end()) {
    UnimplementedAnswer a = unimplemented_answer(u->second, spec->name, response.request_id);
    finish(a.status == 501 ? "NotImplemented501" : "NotImplemented500");
    response.status = a.status;
    response.content_type = std::move(a.content_type);
    response.body = std::move(a.body);
    return response;
  }

  if (auto fault = draw_fault(*spec, response)) {
    finish(fault->code);
    if (response.drop_connection || response.status == 503) return response;
    response.status = fault->http_status;
    response.body = error_xml(*fault, response.request_id);
    return response;
  }

  std::string entity_keys[2];
  if (spec->mutating) {
    if (user_name) entity_keys[0] = account.id + "/user:" + lower(*user_name);
    if (group_name) entity_keys[1] = account.id + "/group:" + lower(*group_name);
    double window_s = options_.faults.unmodifiable_window_s;
    if (window_s > 0) {
      auto window_d = std::chrono::duration_cast<TimePoint::duration>(
          std::chrono::duration<double>(window_s));
      for (const auto& k : entity_keys) {
        if (k.empty()) continue;
        auto it = last_change_.find(k);
        if (it != last_change_.end() && request.now < it->second + window_d) {
          ApiError e{409, "EntityTemporarilyUnmodifiable",
                     "Cannot modify " + k.substr(account.id.size() + 1) +
                         ": the entity is temporarily unmodifiable after a recent change. "
                         "Please try again later.",
                     false};
          finish(e.code);
          response.status = e.http_status;
          response.body = error_xml(e, response.request_id);
          return response;
        }
      }
    }
  }

  CallContext ctx{state_, account, *key, params, request.now, options_.page_size};
  if (auto e = run_action(*spec, ctx, response.request_id, response.body)) {
    response.status = e->http_status;
    finish(e->code);
    return response;
  }
  finish("OK");
  if (spec->mutating) {
    for (const auto& k : entity_keys)
      if (!k.empty()) last_change_[k] = request.now;
  }
  return response;
}

// ---------------------------------------------------------------------------------------
// STS and Organizations.

Response Emulator::handle_sts(const Request& request, bool organizations) {
  Response response;
  response.request_id = next_request_id();
  std::string_view target = request.target;
  auto qpos = target.find('?');
  std::string_view path = target.substr(0, qpos);
  std::string_view query = qpos == std::string_view::npos ? std::string_view() : target.substr(qpos + 1);
  const ApiKey* key = nullptr;
  if (organizations) {
    response.content_type = "application/x-amz-json-1.1";
    if (auto e = authenticate(request, path, query, key, "organizations")) {
      response.status = e->http_status;
      response.body = json{{"__type", e->code}, {"message", e->message}}.dump();
      count("organizations:(auth)", e->code);
      return response;
    }
    const std::string& t = *header(request, "X-Amz-Target");
    const std::string op = t.substr(t.find('.') + 1);
    response.status = run_organizations_action(sts_, *key, op, request.body, response.body, options_.page_size);
    count("organizations:" + op, response.status == 200 ? "OK" : "Error");
    return response;
  }
  client::Params params = client::decode_query(query);
  if (!request.body.empty()) {
    client::Params body_params = client::decode_query(request.body);
    params.insert(params.end(), body_params.begin(), body_params.end());
  }
  const std::string* action = find_param(params, "Action");
  const std::string label = "sts:" + (action ? *action : std::string("(none)"));
  const bool unsigned_ok = action && *action == "AssumeRoleWithWebIdentity";
  if (!unsigned_ok || header(request, "Authorization")) {
    if (auto e = authenticate(request, path, query, key, "sts")) {
      response.status = e->http_status;
      response.body = error_xml(*e, response.request_id);
      count(label, e->code);
      return response;
    }
  }
  if (auto e = run_sts_action(sts_, state_, key, params, request.now, response.request_id, response.body)) {
    response.status = e->http_status;
    count(label, e->code);
    return response;
  }
  count(label, "OK");
  return response;
}

// ---------------------------------------------------------------------------------------
// Admin endpoints: loopback test plumbing, no SigV4.

json Emulator::stats_json() const {
  json calls = json::object();
  for (const auto& [action, codes] : stats_.calls) calls[action] = codes;
  json by_user = json::object();
  for (const auto& [user, actions] : stats_.mutations_by_user) {
    json entry = json::object();
    std::uint64_t total = 0;
    for (const auto& [action, codes] : actions) {
      entry[action] = codes;
      for (const auto& [code, n] : codes) total += n;
    }
    entry["total"] = total;
    by_user[user] = std::move(entry);
  }
  json by_code = json::object();
  for (const auto& [action, codes] : stats_.calls)
    for (const auto& [code, n] : codes) by_code[code] = by_code.value(code, std::uint64_t{0}) + n;
  return {{"total_calls", stats_.total_calls},
          {"calls", std::move(calls)},
          {"calls_by_code", std::move(by_code)},
          {"mutating_calls_by_user", std::move(by_user)},
          {"max_calls_per_second", stats_.max_calls_per_second}};
}

Response Emulator::handle_admin(const Request& request, std::string_view path) {
  const std::string& m = request.method;
  auto parse_body = [&](json& out) -> bool {
    try {
      out = request.body.empty() ? json::object() : json::parse(request.body);
      return true;
    } catch (const json::exception&) {  // parse_error, and out_of_range for numbers too big
      return false;
    }
  };
  if (path == "/_emulator/state") {
    if (m == "GET") return json_response(200, dump_state(state_));
    if (m == "POST") {
      json body;
      if (!parse_body(body)) return json_error(400, "state: body is not valid JSON");
      State fresh = State::with_default_account();
      try {
        load_seed(fresh, body);
      } catch (const SeedError& e) {
        return json_error(400, std::string("state: ") + e.what());
      }
      fresh.id_counter = state_.id_counter;
      state_ = std::move(fresh);
      last_change_.clear();
      return json_response(200, dump_state(state_));
    }
  } else if (path == "/_emulator/sts/expire") {
    // Every issued session expires now: the next call with one answers ExpiredToken.
    if (m == "POST") {
      for (auto& [key, at] : sts_.expirations) at = request.now;
      return json_response(200, sts_stats(sts_));
    }
  } else if (path == "/_emulator/sts") {
    if (m == "GET") return json_response(200, sts_stats(sts_));
    if (m == "POST") {
      json body;
      if (!parse_body(body)) return json_error(400, "sts: body is not valid JSON");
      try {
        load_sts_seed(sts_, state_, body);
      } catch (const SeedError& e) {
        return json_error(400, e.what());
      }
      return json_response(200, sts_stats(sts_));
    }
  } else if (path == "/_emulator/reset") {
    if (m == "POST") {
      reset(request.now);
      return json_response(200, json{{"reset", true}});
    }
  } else if (path == "/_emulator/faults") {
    if (m == "GET") return json_response(200, to_json(options_.faults));
    if (m == "POST") {
      json body;
      if (!parse_body(body)) return json_error(400, "faults: body is not valid JSON");
      try {
        set_faults(faults_from_json(body), request.now);
      } catch (const SeedError& e) {
        return json_error(400, e.what());
      }
      return json_response(200, to_json(options_.faults));
    }
  } else if (path == "/_emulator/stats") {
    if (m == "GET") return json_response(200, stats_json());
    if (m == "DELETE") {
      stats_ = Stats{};
      return json_response(200, stats_json());
    }
  } else {
    return json_error(404, "no admin endpoint " + std::string(path) +
                               " (state, reset, faults, stats)");
  }
  return json_error(405, "method " + m + " not allowed on " + std::string(path));
}

Response handle_raw(Emulator& emulator, std::string_view method, std::string_view target,
                    const std::vector<std::pair<std::string, std::string>>& headers,
                    std::string_view body) {
  Request r{std::string(method), std::string(target), headers, std::string(body),
            std::chrono::system_clock::now()};
  return emulator.handle(r);
}

}  // namespace iamq::emulator
