#include "dashboard/router.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/version.hpp>

#include <vector>

#include "config/config.hpp"
#include "dashboard/assets.hpp"
#include "dashboard/html.hpp"
#include "dashboard/pages.hpp"

namespace iamq::dashboard {

namespace http = boost::beast::http;
using nlohmann::json;

namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  std::size_t p = 1;
  while (p <= path.size()) {
    auto q = path.find('/', p);
    if (q == std::string::npos) q = path.size();
    if (q > p) out.push_back(url_decode(path.substr(p, q - p)));
    p = q + 1;
  }
  return out;
}

/// Ids and account names as the queue allows them: 1–128 printable ASCII, no spaces.
bool valid_name(const std::string& s) {
  if (s.empty() || s.size() > 128) return false;
  for (const char c : s) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

std::string header(const Request& req, http::field f) {
  auto it = req.find(f);
  return it == req.end() ? std::string() : std::string(it->value());
}

Response make(const Request& req, http::status status, std::string content_type, std::string body) {
  Response res{status, req.version()};
  res.set(http::field::server, "iamq-dashboard");
  res.set(http::field::content_type, content_type);
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  Router::secure_headers(res);
  return res;
}

Response json_response(const Request& req, http::status status, const json& doc) {
  return make(req, status, "application/json",
              doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
}

Response json_error(const Request& req, int status, const std::string& message) {
  auto res = json_response(req, static_cast<http::status>(status), json{{"error", message}});
  if (status == 401) res.set(http::field::www_authenticate, "Bearer realm=\"iamq\"");
  return res;
}

Response html(const Request& req, int status, std::string body) {
  return make(req, static_cast<http::status>(status), "text/html; charset=utf-8", std::move(body));
}

Response redirect(const Request& req, const std::string& to) {
  auto res = make(req, http::status::see_other, "text/plain", "");
  res.set(http::field::location, to);
  return res;
}

std::string content_type_of(const std::string& path) {
  auto ends = [&](const char* suffix) {
    const std::string s(suffix);
    return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0;
  };
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".png")) return "image/png";
  if (ends(".svg")) return "image/svg+xml";
  return "text/plain; charset=utf-8";
}

JobFilter filter_from(const std::map<std::string, std::string>& q) {
  JobFilter f;
  auto get = [&](const char* k) {
    auto it = q.find(k);
    return it == q.end() ? std::string() : it->second.substr(0, 256);
  };
  f.status = get("status");
  f.account = get("account");
  f.type = get("type");
  f.priority = get("priority");
  f.q = get("q");
  f.cursor = get("cursor");
  try {
    if (!get("limit").empty()) f.limit = static_cast<std::size_t>(std::stoul(get("limit")));
  } catch (...) {
  }
  // A SCAN cursor is a number; anything else starts from the beginning.
  if (f.cursor.find_first_not_of("0123456789") != std::string::npos) f.cursor.clear();
  return f;
}

/// The API's own description (GET /api/).
json api_index() {
  return {
      {"description", "iamq dashboard JSON API. Reads need the token when one is configured "
                      "(Authorization: Bearer <token>, or the browser's session cookie); every POST "
                      "needs the token (Bearer, or session cookie plus X-CSRF-Token header / csrf field) "
                      "and is refused with 403 in --read-only mode."},
      {"stable",
       {{"GET /api/jobs/<id>", "the job's record (job, result, checkpoint parsed) and its step log"},
        {"POST /api/jobs/<id>/retry", "retry the job"},
        {"POST /api/jobs/<id>/cancel", "cancel the job"},
        {"POST /api/accounts/<name>/pause", "pause an account: its jobs wait in Redis"},
        {"POST /api/accounts/<name>/resume", "resume a paused account"}}},
      {"other",
       {{"GET /api/overview", "counts, queue depths, accounts, consumers, the last hour's series, recent events"},
        {"GET /api/counts", "counts and queue depths only"},
        {"GET /api/jobs?status=&account=&type=&priority=&q=&cursor=&limit=",
         "a page of jobs (q: a job id, or part of a user name); next_cursor pages on"},
        {"GET /api/dead?limit=", "dead letters, newest first"},
        {"POST /api/dead/<id>/retry", "put one dead letter back into the queue"},
        {"POST /api/dead/retry-all", "retry every dead letter whose job is valid"},
        {"POST /api/dead/purge?older_than=7d", "delete dead letters (all without older_than)"},
        {"GET /api/events", "Server-Sent Events: one `tick` a second with counts, queue, point, events"}}}};
}

}  // namespace

void Router::secure_headers(Response& res) {
  res.set("Content-Security-Policy", kContentSecurityPolicy);
  res.set("X-Content-Type-Options", "nosniff");
  res.set("X-Frame-Options", "DENY");
  res.set("Referrer-Policy", "no-referrer");
  if (res.find(http::field::cache_control) == res.end()) res.set(http::field::cache_control, "no-store");
}

PageContext Router::context(const Request& req) {
  PageContext ctx;
  ctx.token_required = auth_.token_configured();
  ctx.read_only = auth_.read_only();
  if (auto s = auth_.session(header(req, http::field::cookie))) {
    ctx.logged_in = true;
    ctx.csrf = s->csrf;
    ctx.can_act = !auth_.read_only();
  }
  return ctx;
}

Auth::Check Router::check_stream(const Request& req) {
  return auth_.can_read(header(req, http::field::authorization), header(req, http::field::cookie));
}

void Router::handle(const Request& req, std::function<void(Response)> send) {
  const std::string target(req.target());
  const auto qpos = target.find('?');
  const std::string path = target.substr(0, qpos);
  const bool get = req.method() == http::verb::get || req.method() == http::verb::head;
  const bool post = req.method() == http::verb::post;

  if (path == "/healthz" && get) return send(make(req, http::status::ok, "text/plain", "ok\n"));
  if (path.rfind("/assets/", 0) == 0 && get) {
    const std::string name = path.substr(8);
    const auto body = name.find("..") == std::string::npos ? asset(name) : std::string_view();
    if (body.empty()) return send(make(req, http::status::not_found, "text/plain", "not found\n"));
    auto res = make(req, http::status::ok, content_type_of(name), std::string(body));
    res.set(http::field::cache_control, "public, max-age=3600");
    return send(std::move(res));
  }
  if (path == "/login") {
    if (get) return send(html(req, 200, login_page(auth_.token_configured() ? "" : "this dashboard has no token: nothing to log in to")));
    if (post) {
      auto form = parse_query(req.body());
      auto s = auth_.login(form["token"]);
      if (!s) return send(html(req, 401, login_page("wrong token")));
      auto res = redirect(req, "/");
      res.set(http::field::set_cookie, std::string(kSessionCookie) + "=" + s->id +
                                           "; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200");
      return send(std::move(res));
    }
  }
  if (path == "/logout" && post) {
    auth_.logout(header(req, http::field::cookie));
    auto res = redirect(req, "/login");
    res.set(http::field::set_cookie, std::string(kSessionCookie) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    return send(std::move(res));
  }
  const bool is_api = path == "/api" || path.rfind("/api/", 0) == 0;
  if (post) return action(req, path, is_api, std::move(send));
  if (!get) {
    return send(is_api ? json_error(req, 405, "method not allowed")
                       : html(req, 405, message_page(405, "Method not allowed", "use GET or POST", "/")));
  }
  auto check = auth_.can_read(header(req, http::field::authorization), header(req, http::field::cookie));
  if (!check.ok()) {
    if (is_api) return send(json_error(req, 401, check.reason));
    return send(redirect(req, "/login"));
  }
  if (is_api) return api(req, path, std::move(send));
  page(req, path, std::move(send));
}

void Router::page(const Request& req, const std::string& path, std::function<void(Response)> send) {
  const std::string target(req.target());
  const auto qpos = target.find('?');
  const auto query = parse_query(qpos == std::string::npos ? "" : target.substr(qpos + 1));
  const auto seg = split_path(path);
  auto ctx = std::make_shared<PageContext>(context(req));
  auto fail = [req, send](std::error_code ec) {
    send(html(req, 502, message_page(502, "Redis is not answering", ec.message(), "/")));
  };
  if (seg.empty()) {
    return store_.overview([req, send, ctx, fail](std::error_code ec, json doc) {
      if (ec) return fail(ec);
      send(html(req, 200, overview_page(doc, *ctx)));
    });
  }
  if (seg.size() == 1 && seg[0] == "jobs") {
    const JobFilter f = filter_from(query);
    return store_.jobs(f, [req, send, ctx, fail, f](std::error_code ec, json doc) {
      if (ec) return fail(ec);
      send(html(req, 200, jobs_page(doc, f, *ctx)));
    });
  }
  if (seg.size() == 2 && seg[0] == "jobs" && valid_name(seg[1])) {
    return store_.job(seg[1], [req, send, ctx, fail, id = seg[1]](std::error_code ec, json doc) {
      if (ec) return fail(ec);
      if (doc.is_null()) {
        return send(html(req, 404, message_page(404, "No such job", "no job with id " + id +
                                                                         " (unknown, or expired after the retention time)", "/jobs")));
      }
      send(html(req, 200, job_page(doc, *ctx)));
    });
  }
  if (seg.size() == 1 && seg[0] == "dead") {
    return store_.dead(200, [req, send, ctx, fail](std::error_code ec, json doc) {
      if (ec) return fail(ec);
      send(html(req, 200, dead_page(doc, *ctx)));
    });
  }
  send(html(req, 404, message_page(404, "Not found", "no such page", "/")));
}

void Router::api(const Request& req, const std::string& path, std::function<void(Response)> send) {
  const std::string target(req.target());
  const auto qpos = target.find('?');
  const auto query = parse_query(qpos == std::string::npos ? "" : target.substr(qpos + 1));
  const auto seg = split_path(path);  // seg[0] == "api"
  auto reply = [req, send](std::error_code ec, json doc) {
    if (ec) return send(json_error(req, 502, "Redis: " + ec.message()));
    send(json_response(req, http::status::ok, doc));
  };
  if (seg.size() == 1) return send(json_response(req, http::status::ok, api_index()));
  const std::string& what = seg[1];
  if (seg.size() == 2 && what == "overview") return store_.overview(reply);
  if (seg.size() == 2 && what == "counts") return store_.counts(reply);
  if (seg.size() == 2 && what == "jobs") return store_.jobs(filter_from(query), reply);
  if (seg.size() == 3 && what == "jobs" && valid_name(seg[2])) {
    return store_.job(seg[2], [req, send, id = seg[2]](std::error_code ec, json doc) {
      if (ec) return send(json_error(req, 502, "Redis: " + ec.message()));
      if (doc.is_null()) return send(json_error(req, 404, "no job " + id));
      send(json_response(req, http::status::ok, doc));
    });
  }
  if (seg.size() == 2 && what == "dead") {
    std::size_t limit = 200;
    try {
      if (query.count("limit")) limit = std::min<std::size_t>(1000, std::stoul(query.at("limit")));
    } catch (...) {
    }
    return store_.dead(limit, reply);
  }
  send(json_error(req, 404, "no such API endpoint: see GET /api/"));
}

void Router::action(const Request& req, const std::string& path, bool json_answer,
                    std::function<void(Response)> send) {
  auto seg = split_path(path);
  if (json_answer && !seg.empty()) seg.erase(seg.begin());  // drop "api"
  // The CSRF token: a form field for the pages, a header for scripts using the session.
  std::string csrf;
  if (auto it = req.find("X-CSRF-Token"); it != req.end()) csrf = std::string(it->value());
  const bool form = header(req, http::field::content_type).rfind("application/x-www-form-urlencoded", 0) == 0;
  auto fields = form ? parse_query(req.body()) : std::map<std::string, std::string>();
  if (csrf.empty() && fields.count("csrf")) csrf = fields["csrf"];
  const std::string target(req.target());
  const auto qpos = target.find('?');
  auto query = parse_query(qpos == std::string::npos ? "" : target.substr(qpos + 1));
  for (const auto& [k, v] : query) fields.emplace(k, v);

  std::string back = "/";
  if (seg.size() >= 2 && seg[0] == "jobs") back = "/jobs/" + url_encode(seg[1]);
  if (!seg.empty() && seg[0] == "dead") back = "/dead";
  auto respond = [req, send, json_answer, back](const ActionResult& r) {
    if (json_answer) {
      const bool ok = r.status >= 200 && r.status < 300;  // 202: a running job stops later
      json doc = {{"ok", ok}, {"message", r.message}};
      if (!ok) doc["error"] = r.message;
      return send(json_response(req, static_cast<http::status>(r.status), doc));
    }
    send(html(req, r.status, message_page(r.status, r.status >= 200 && r.status < 300 ? "Done" : "Not done", r.message, back)));
  };

  auto check = auth_.can_act(header(req, http::field::authorization), header(req, http::field::cookie), csrf);
  if (!check.ok()) {
    const int status = check.decision == Auth::Decision::unauthenticated ? 401 : 403;
    if (json_answer) return send(json_error(req, status, check.reason));
    return send(html(req, status, message_page(status, status == 401 ? "Not logged in" : "Refused",
                                                check.reason, status == 401 ? "/login" : back)));
  }
  auto bad = [&](const std::string& why) { respond({400, why}); };
  if (seg.size() == 3 && seg[0] == "jobs" && valid_name(seg[1])) {
    if (seg[2] == "retry") return store_.retry_job(seg[1], respond);
    if (seg[2] == "cancel") return store_.cancel_job(seg[1], respond);
  }
  if (seg.size() == 3 && seg[0] == "accounts" && valid_name(seg[1])) {
    if (seg[2] == "pause") return store_.pause_account(seg[1], true, respond);
    if (seg[2] == "resume") return store_.pause_account(seg[1], false, respond);
  }
  if (seg.size() == 2 && seg[0] == "dead" && seg[1] == "retry-all") return store_.retry_all_dead(respond);
  if (seg.size() == 2 && seg[0] == "dead" && seg[1] == "purge") {
    std::optional<std::chrono::milliseconds> older;
    if (!fields["older_than"].empty()) {
      older = config::parse_duration(fields["older_than"]);
      if (!older) return bad("older_than: \"" + fields["older_than"] + "\" is not a duration (e.g. 7d, 12h)");
    }
    return store_.purge_dead(older, respond);
  }
  if (seg.size() == 3 && seg[0] == "dead" && seg[2] == "retry" && valid_name(seg[1])) {
    return store_.retry_dead(seg[1], respond);
  }
  respond({404, "no such action"});
}

}  // namespace iamq::dashboard
