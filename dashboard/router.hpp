#pragma once
/// Maps a dashboard request to its answer: the HTML pages, the JSON API under /api/, the
/// assets, login/logout and the POST actions (checked by Auth: token, session, CSRF,
/// read-only). Transport-free: the server hands it a parsed request and sends what it returns.
#include <functional>
#include <string>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "dashboard/auth.hpp"
#include "dashboard/store.hpp"

namespace iamq::dashboard {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

/// The Content-Security-Policy of every answer: nothing inline, nothing from elsewhere.
inline constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

class Router {
 public:
  Router(Store& store, Auth& auth) : store_(store), auth_(auth) {}

  /// Answers `req` through `send` (called exactly once, maybe later, on the io_context).
  void handle(const Request& req, std::function<void(Response)> send);
  /// May this request open the event stream (GET /api/events)?
  Auth::Check check_stream(const Request& req);
  /// The security headers (CSP, nosniff, frame and referrer policy) every answer carries.
  static void secure_headers(Response& res);

 private:
  void page(const Request& req, const std::string& path, std::function<void(Response)> send);
  void api(const Request& req, const std::string& path, std::function<void(Response)> send);
  void action(const Request& req, const std::string& path, bool json_answer,
              std::function<void(Response)> send);
  struct PageContext context(const Request& req);

  Store& store_;
  Auth& auth_;
};

}  // namespace iamq::dashboard
