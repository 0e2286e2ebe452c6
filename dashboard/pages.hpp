#pragma once
/// The dashboard's HTML pages, rendered on the server from the Store's JSON documents
/// (sans-io). They read without JavaScript; /assets/app.js adds the chart and the live
/// updates. Every value from Redis is escaped; no inline script or style (the CSP forbids it).
#include <string>

#include <nlohmann/json.hpp>

#include "dashboard/store.hpp"

namespace iamq::dashboard {

/// What a page needs to know about the viewer.
struct PageContext {
  std::string csrf;          ///< the session's CSRF token ("" when not logged in)
  bool can_act = false;      ///< show the action buttons (token configured, not read-only, logged in)
  bool token_required = false;  ///< a token is configured (show log in / log out)
  bool logged_in = false;
  std::string notice;        ///< a message about the last action (escaped when shown)
  bool read_only = false;
};

std::string overview_page(const nlohmann::json& doc, const PageContext& ctx);
std::string jobs_page(const nlohmann::json& doc, const JobFilter& f, const PageContext& ctx);
std::string job_page(const nlohmann::json& doc, const PageContext& ctx);
std::string dead_page(const nlohmann::json& doc, const PageContext& ctx);
std::string login_page(const std::string& error);
/// A page with one message (errors, refused actions, the result of a form POST).
std::string message_page(int status, const std::string& title, const std::string& message,
                         const std::string& back_href);

/// "2026-01-01 12:00:00Z" for ms since the epoch as text; "" when empty or 0.
std::string format_time(const std::string& ms);
/// "3h 12m", "45s", "800ms".
std::string format_age(long long ms);

}  // namespace iamq::dashboard
