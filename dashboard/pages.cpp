#include "dashboard/pages.hpp"

#include <ctime>
#include <iomanip>
#include <sstream>

#include "dashboard/event_series.hpp"
#include "dashboard/html.hpp"

namespace iamq::dashboard {

using nlohmann::json;

namespace {

const char* kStatuses[] = {"queued", "running", "retry_scheduled", "succeeded", "failed", "dead", "cancelled"};

/// A JSON value as display text: strings as they are, numbers and the rest dumped.
std::string text(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  return it->dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string e(const std::string& s) { return escape(s); }

std::string fixed(double v, int precision) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(precision) << v;
  return o.str();
}

std::string status_badge(const std::string& status) {
  return "<span class=\"status status-" + url_encode(status) + "\">" + e(status) + "</span>";
}

std::string job_link(const std::string& id) {
  return "<a href=\"/jobs/" + url_encode(id) + "\">" + e(id) + "</a>";
}

std::string csrf_field(const PageContext& ctx) {
  return "<input type=\"hidden\" name=\"csrf\" value=\"" + e(ctx.csrf) + "\">";
}

/// A one-button form posting to `action`.
std::string action_form(const PageContext& ctx, const std::string& action, const std::string& label,
                        const std::string& extra = "") {
  if (!ctx.can_act) return "";
  return "<form method=\"post\" action=\"" + e(action) + "\" class=\"inline\">" + csrf_field(ctx) +
         extra + "<button type=\"submit\">" + e(label) + "</button></form>";
}

std::string layout(const std::string& title, const std::string& active, const std::string& body,
                   const PageContext& ctx, const std::string& page) {
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  h += "<title>" + e(title) + " · iamq</title>";
  h += "<link rel=\"stylesheet\" href=\"/assets/vendor/uPlot.min.css\">";
  h += "<link rel=\"stylesheet\" href=\"/assets/style.css\">";
  h += "<script src=\"/assets/vendor/uPlot.iife.min.js\" defer></script>";
  h += "<script src=\"/assets/app.js\" defer></script>";
  h += "</head><body data-page=\"" + e(page) + "\">";
  h += "<header><a class=\"brand\" href=\"/\">iamq</a><nav>";
  for (const auto& [href, name] : std::vector<std::pair<std::string, std::string>>{
           {"/", "Overview"}, {"/jobs", "Jobs"}, {"/dead", "Dead letters"}}) {
    h += "<a href=\"" + href + "\"" + (name == active ? " class=\"active\"" : "") + ">" + name + "</a>";
  }
  h += "</nav><span class=\"live\" id=\"live\" title=\"live updates\">live: off</span>";
  if (ctx.read_only) h += "<span class=\"tag\">read-only</span>";
  if (ctx.token_required && ctx.logged_in) {
    h += "<form method=\"post\" action=\"/logout\" class=\"inline\">" + csrf_field(ctx) +
         "<button type=\"submit\">Log out</button></form>";
  }
  h += "</header><main>";
  if (!ctx.notice.empty()) h += "<p class=\"notice\" role=\"status\">" + e(ctx.notice) + "</p>";
  h += body;
  h += "</main><footer>iamq dashboard · <a href=\"/api/\">JSON API</a></footer></body></html>\n";
  return h;
}

std::string counts_block(const json& doc) {
  std::string h = "<section class=\"counts\">";
  for (const char* s : kStatuses) {
    long long n = 0;
    if (doc.contains("counts") && doc["counts"].contains(s) && doc["counts"][s].is_number()) {
      n = doc["counts"][s].get<long long>();
    }
    h += "<div class=\"count\"><span class=\"n\" data-count=\"" + std::string(s) + "\">" +
         std::to_string(n) + "</span><span class=\"label\">" + s + "</span></div>";
  }
  h += "</section>";
  const json& q = doc.contains("queue") ? doc["queue"] : json::object();
  h += "<p class=\"queue\">waiting <b data-queue=\"waiting\">" + e(text(q, "waiting")) +
       "</b> · in flight <b data-queue=\"in_flight\">" + e(text(q, "in_flight")) +
       "</b> · delayed <b data-queue=\"delayed\">" + e(text(q, "delayed")) +
       "</b> · oldest waiting <b>" +
       format_age(q.value("oldest_waiting_age_ms", static_cast<long long>(-1))) + "</b></p>";
  return h;
}

std::string events_table(const json& events) {
  std::string h = "<table class=\"events\"><thead><tr><th>time</th><th>event</th><th>job</th>"
                  "<th>detail</th></tr></thead><tbody id=\"recent\">";
  for (const auto& ev : events) {
    std::string detail = text(ev, "error");
    if (detail.empty()) detail = text(ev, "reason");
    if (detail.empty() && ev.contains("account")) detail = "account " + text(ev, "account");
    h += "<tr><td>" + e(format_time(text(ev, "at"))) + "</td><td>" + e(text(ev, "event")) +
         "</td><td>" + (text(ev, "id").empty() ? "" : job_link(text(ev, "id"))) + "</td><td>" +
         e(detail.substr(0, 300)) + "</td></tr>";
  }
  h += "</tbody></table>";
  return h;
}

}  // namespace

std::string format_time(const std::string& ms_text) {
  long long ms = 0;
  try {
    ms = std::stoll(ms_text);
  } catch (...) {
    return ms_text;
  }
  if (ms <= 0) return "";
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

std::string format_age(long long ms) {
  if (ms < 0) return "-";
  if (ms < 1000) return std::to_string(ms) + "ms";
  long long s = ms / 1000;
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m " + std::to_string(s % 60) + "s";
  if (s < 86400) return std::to_string(s / 3600) + "h " + std::to_string(s / 60 % 60) + "m";
  return std::to_string(s / 86400) + "d " + std::to_string(s / 3600 % 24) + "h";
}

std::string overview_page(const json& doc, const PageContext& ctx) {
  std::string b = "<h1>Overview <small>namespace " + e(text(doc, "namespace")) + "</small></h1>";
  b += counts_block(doc);

  b += "<h2>Accounts</h2><table class=\"accounts\"><thead><tr><th>account</th><th>lane depth</th>"
       "<th>IAM calls/s (last 10 s)</th><th>limit</th><th>paused</th><th>circuit</th><th></th>"
       "</tr></thead><tbody>";
  for (const auto& a : doc.value("accounts", json::array())) {
    const std::string name = text(a, "name");
    const bool paused = a.contains("paused") && a["paused"].is_boolean() && a["paused"].get<bool>();
    std::string paused_cell = a["paused"].is_null() ? "-" : (paused ? "paused" : "no");
    std::string circuit = text(a, "circuit");
    if (!text(a, "circuit_error").empty()) circuit += ": " + text(a, "circuit_error");
    std::string limit = a["rate_limit"].is_number()
                            ? fixed(a["rate_limit"].get<double>(), 1) + "/s (burst " +
                                  fixed(a.value("burst", 0.0), 0) + ")"
                            : "-";
    std::string actions;
    if (!paused) actions += action_form(ctx, "/accounts/" + url_encode(name) + "/pause", "Pause");
    if (paused || a["paused"].is_null()) {
      actions += action_form(ctx, "/accounts/" + url_encode(name) + "/resume", "Resume");
    }
    b += "<tr><td>" + e(name) + "</td><td>" + (a["lane_depth"].is_null() ? "-" : e(text(a, "lane_depth"))) +
         "</td><td data-account-rate=\"" + e(name) + "\">" + fixed(a.value("rate", 0.0), 1) + "</td><td>" +
         e(limit) + "</td><td>" + e(paused_cell) + "</td><td class=\"circuit-" + e(text(a, "circuit")) +
         "\">" + e(circuit) + "</td><td>" + actions + "</td></tr>";
  }
  b += "</tbody></table>";

  b += "<h2>Last hour</h2><div id=\"chart\" class=\"chart\" aria-label=\"jobs, IAM calls and "
       "retries per second\"></div>";
  const json& tab = doc.contains("series_table") ? doc["series_table"] : json::object();
  b += "<details><summary>per 5 minutes</summary><table class=\"series\"><thead><tr><th>from</th>"
       "<th>jobs</th><th>IAM calls</th>";
  for (auto c : kRetryClasses) b += "<th>retries " + e(std::string(c)) + "</th>";
  b += "</tr></thead><tbody>";
  if (tab.contains("t")) {
    for (std::size_t i = 0; i < tab["t"].size(); ++i) {
      b += "<tr><td>" + e(format_time(std::to_string(tab["t"][i].get<long long>() * 1000))) + "</td><td>" +
           tab["jobs"][i].dump() + "</td><td>" + tab["calls"][i].dump() + "</td>";
      for (auto c : kRetryClasses) b += "<td>" + tab["retries"][std::string(c)][i].dump() + "</td>";
      b += "</tr>";
    }
  }
  b += "</tbody></table></details>";

  b += "<h2>Consumers</h2><table><thead><tr><th>consumer</th><th>in flight</th><th>idle</th></tr>"
       "</thead><tbody>";
  for (const auto& c : doc.value("consumers", json::array())) {
    b += "<tr><td>" + e(text(c, "name")) + "</td><td>" + e(text(c, "pending")) + "</td><td>" +
         format_age(c.value("idle_ms", 0LL)) + "</td></tr>";
  }
  b += "</tbody></table>";
  b += "<h2>Recent events</h2>" + events_table(doc.value("recent", json::array()));
  return layout("Overview", "Overview", b, ctx, "overview");
}

std::string jobs_page(const json& doc, const JobFilter& f, const PageContext& ctx) {
  std::string b = "<h1>Jobs</h1>";
  b += "<form method=\"get\" action=\"/jobs\" class=\"filters\">";
  b += "<label>search <input type=\"search\" name=\"q\" value=\"" + e(f.q) +
       "\" placeholder=\"job id or user name\"></label>";
  b += "<label>status <select name=\"status\"><option value=\"\">any</option>";
  for (const char* s : kStatuses) {
    b += std::string("<option") + (f.status == s ? " selected" : "") + ">" + s + "</option>";
  }
  b += "</select></label>";
  b += "<label>account <input name=\"account\" value=\"" + e(f.account) + "\"></label>";
  b += "<label>type <select name=\"type\"><option value=\"\">any</option>";
  for (const char* t : {"offboard_user", "delete_user", "deactivate_mfa", "iam_calls", "deactivate_root_mfa"}) {
    b += std::string("<option") + (f.type == t ? " selected" : "") + ">" + t + "</option>";
  }
  b += "</select></label><label>priority <select name=\"priority\"><option value=\"\">any</option>";
  for (const char* p : {"urgent", "normal", "bulk"}) {
    b += std::string("<option") + (f.priority == p ? " selected" : "") + ">" + p + "</option>";
  }
  b += "</select></label><button type=\"submit\">Filter</button></form>";
  b += "<table class=\"jobs\"><thead><tr><th>job</th><th>status</th><th>type</th><th>account</th>"
       "<th>user</th><th>priority</th><th>attempts</th><th>created</th><th>error</th></tr></thead><tbody>";
  const auto jobs = doc.value("jobs", json::array());
  for (const auto& j : jobs) {
    std::string err = text(j, "error");
    if (err.empty()) err = text(j, "last_error");
    b += "<tr><td>" + job_link(text(j, "id")) + "</td><td>" + status_badge(text(j, "status")) + "</td><td>" +
         e(text(j, "type")) + "</td><td>" + e(text(j, "account")) + "</td><td>" + e(text(j, "user_name")) +
         "</td><td>" + e(text(j, "priority")) + "</td><td>" + e(text(j, "attempts")) + "</td><td>" +
         e(format_time(text(j, "created_at"))) + "</td><td>" + e(err.substr(0, 200)) + "</td></tr>";
  }
  if (jobs.empty()) b += "<tr><td colspan=\"9\">no job matches on this page</td></tr>";
  b += "</tbody></table>";
  b += "<p class=\"paging\">" + std::to_string(jobs.size()) + " job(s) shown, " + e(text(doc, "scanned")) +
       " key(s) scanned. ";
  if (doc.contains("next_cursor") && doc["next_cursor"].is_string()) {
    std::string href = "/jobs?cursor=" + url_encode(doc["next_cursor"].get<std::string>());
    for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
             {"q", f.q}, {"status", f.status}, {"account", f.account}, {"type", f.type}, {"priority", f.priority}}) {
      if (!v.empty()) href += "&" + k + "=" + url_encode(v);
    }
    b += "<a href=\"" + e(href) + "\" rel=\"next\">next page</a>";
  } else {
    b += "end of the list.";
  }
  b += "</p>";
  return layout("Jobs", "Jobs", b, ctx, "jobs");
}

std::string job_page(const json& doc, const PageContext& ctx) {
  const std::string id = text(doc, "id");
  const json& r = doc["record"];
  const std::string status = text(r, "status");
  std::string b = "<h1>Job <code>" + e(id) + "</code> " + status_badge(status) + "</h1>";
  b += "<p class=\"share\">Link to this job: <a href=\"/jobs/" + url_encode(id) + "\">/jobs/" +
       e(url_encode(id)) + "</a> · <a href=\"/api/jobs/" + url_encode(id) + "\">JSON</a></p>";
  b += "<p class=\"actions\">" + action_form(ctx, "/jobs/" + url_encode(id) + "/retry", "Retry") +
       action_form(ctx, "/jobs/" + url_encode(id) + "/cancel", "Cancel") + "</p>";
  b += "<table class=\"record\"><tbody>";
  auto row = [&](const std::string& k, const std::string& v) {
    if (!v.empty()) b += "<tr><th>" + e(k) + "</th><td>" + e(v) + "</td></tr>";
  };
  row("status", status);
  row("type", text(r, "type"));
  row("account", text(r, "account"));
  row("user", text(r, "user_name"));
  row("priority", text(r, "priority"));
  row("attempts", text(r, "attempts"));
  row("created", format_time(text(r, "created_at")));
  row("started", format_time(text(r, "started_at")));
  row("updated", format_time(text(r, "updated_at")));
  row("next attempt", format_time(text(r, "next_attempt_at")));
  row("finished", format_time(text(r, "finished_at")));
  row("consumer", text(r, "consumer"));
  row("last error", text(r, "last_error"));
  row("reason", text(r, "reason"));
  row("error", text(r, "error"));
  if (r.contains("result") && r["result"].is_object()) row("outcome", text(r["result"], "outcome"));
  b += "</tbody></table>";
  if (r.contains("job") && r["job"].is_object() && r["job"].contains("meta")) {
    b += "<h2>meta</h2><pre class=\"meta\" id=\"meta\">" +
         e(r["job"]["meta"].dump(2, ' ', false, json::error_handler_t::replace)) + "</pre>";
  }
  const auto children = doc.value("children", json::array());
  if (!children.empty()) {
    b += "<h2>Fan-out children</h2><table><thead><tr><th>job</th><th>account</th><th>status</th>"
         "<th>error</th></tr></thead><tbody>";
    for (const auto& c : children) {
      b += "<tr><td>" + job_link(text(c, "id")) + "</td><td>" + e(text(c, "account")) + "</td><td>" +
           status_badge(text(c, "status")) + "</td><td>" + e(text(c, "error")) + "</td></tr>";
    }
    b += "</tbody></table>";
  }
  const auto steps = doc.value("steps", json::array());
  b += "<h2>Step log <small>" + e(text(doc, "steps_total")) + " call(s)</small></h2>";
  b += "<ol class=\"timeline\" start=\"" + std::to_string(doc.value("steps_shown_from", 0) + 1) + "\">";
  for (const auto& s : steps) {
    if (!s.is_object()) {
      b += "<li><code>" + e(s.is_string() ? s.get<std::string>() : s.dump()) + "</code></li>";
      continue;
    }
    const std::string result = text(s, "result");
    std::string where = text(s, "disposition");
    if (where == "retry") where = "timer in the worker";
    if (where == "delayed") where = "delayed set (slot freed)";
    if (where == "handed_back") where = "handed back (circuit open)";
    b += "<li class=\"step step-" + url_encode(result) + "\"><div class=\"step-head\"><b>" + e(text(s, "action")) +
         "</b> <span class=\"attempt\">attempt " + e(text(s, "attempt")) + "</span> <span class=\"http\">HTTP " +
         e(text(s, "http_status")) + "</span> <span class=\"result\">" + e(result) + "</span>";
    if (!text(s, "code").empty()) b += " <span class=\"code\">" + e(text(s, "code")) + "</span>";
    b += "<span class=\"when\">" + e(format_time(text(s, "at_ms"))) + " · " + e(text(s, "duration_ms")) +
         " ms</span></div><div class=\"step-body\">";
    if (!text(s, "request_id").empty()) b += "request id <code>" + e(text(s, "request_id")) + "</code> ";
    if (!text(s, "retry_in_ms").empty() && text(s, "retry_in_ms") != "0") {
      b += "· waited " + e(format_age(s.value("retry_in_ms", 0LL))) + " in the " + e(where) + " ";
    } else if (where != "done" && !where.empty()) {
      b += "· " + e(where) + " ";
    }
    if (!text(s, "message").empty()) b += "<div class=\"message\">" + e(text(s, "message")) + "</div>";
    if (s.contains("params") && s["params"].is_object() && !s["params"].empty()) {
      b += "<div class=\"params\">" + e(s["params"].dump(-1, ' ', false, json::error_handler_t::replace)) + "</div>";
    }
    b += "</div></li>";
  }
  if (steps.empty()) b += "<li>no IAM call recorded yet</li>";
  b += "</ol>";
  return layout("Job " + id, "Jobs", b, ctx, "job");
}

std::string dead_page(const json& doc, const PageContext& ctx) {
  std::string b = "<h1>Dead letters <small><span data-count=\"dead\">" + e(text(doc, "total")) +
                  "</span> in total</small></h1>";
  b += "<p class=\"actions\">" + action_form(ctx, "/dead/retry-all", "Retry all") +
       action_form(ctx, "/dead/purge", "Purge older than",
                   "<select name=\"older_than\"><option>7d</option><option>1d</option><option>1h</option>"
                   "<option value=\"\">all</option></select>") +
       "</p>";
  b += "<table class=\"dead\"><thead><tr><th>job</th><th>reason</th><th>error</th><th>type</th>"
       "<th>account</th><th>user</th><th>attempts</th><th>dead since</th><th></th></tr></thead><tbody>";
  const auto rows = doc.value("dead", json::array());
  for (const auto& d : rows) {
    std::string err = text(d, "error");
    if (!text(d, "job_text").empty()) err += " — job: " + text(d, "job_text");
    b += "<tr><td>" + job_link(text(d, "id")) + "</td><td>" + e(text(d, "reason")) + "</td><td>" +
         e(err.substr(0, 600)) + "</td><td>" + e(text(d, "type")) + "</td><td>" + e(text(d, "account")) +
         "</td><td>" + e(text(d, "user_name")) + "</td><td>" + e(text(d, "attempts")) + "</td><td>" +
         e(format_time(text(d, "at"))) + "</td><td>" +
         action_form(ctx, "/dead/" + url_encode(text(d, "id")) + "/retry", "Retry") + "</td></tr>";
  }
  if (rows.empty()) b += "<tr><td colspan=\"9\">no dead letters</td></tr>";
  b += "</tbody></table>";
  return layout("Dead letters", "Dead letters", b, ctx, "dead");
}

std::string login_page(const std::string& error) {
  PageContext ctx;
  std::string b = "<h1>Log in</h1>";
  if (!error.empty()) b += "<p class=\"error\" role=\"alert\">" + e(error) + "</p>";
  b += "<form method=\"post\" action=\"/login\" class=\"login\"><label>Dashboard token "
       "<input type=\"password\" name=\"token\" autocomplete=\"current-password\" required></label>"
       "<button type=\"submit\">Log in</button></form>"
       "<p>The token is the one <code>iamq dashboard</code> was started with (<code>--token</code> or "
       "<code>IAMQ_DASHBOARD_TOKEN</code>).</p>";
  return layout("Log in", "", b, ctx, "login");
}

std::string message_page(int status, const std::string& title, const std::string& message,
                         const std::string& back_href) {
  PageContext ctx;
  std::string b = "<h1>" + e(title) + " <small>" + std::to_string(status) + "</small></h1><p class=\"" +
                  (status >= 400 ? "error" : "notice") + "\">" + e(message) + "</p>";
  if (!back_href.empty()) b += "<p><a href=\"" + e(back_href) + "\">back</a></p>";
  return layout(title, "", b, ctx, "message");
}

}  // namespace iamq::dashboard
