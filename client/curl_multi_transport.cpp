// CurlMultiTransport, the request side: URL checks, easy handles (kept on a free list and
// reset), perform() and completion. How sockets and timers drive curl from the io_context is
// in curl_multi_sockets.cpp.
#include "client/curl_multi_transport.hpp"

#include <algorithm>
#include <cctype>
#include <exception>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include "client/curl_multi_impl.hpp"
#include "client/endpoint.hpp"

namespace iamq::client {
namespace {

class TransportCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "iamq.transport"; }
  std::string message(int ev) const override {
    switch (static_cast<TransportError>(ev)) {
      case TransportError::timeout: return "timed out";
      case TransportError::connection_failed: return "connection failed";
      case TransportError::response_too_large: return "response body too large";
      case TransportError::tls_error: return "TLS error";
      case TransportError::insecure_http_refused: return "plain http refused for a non-loopback host";
      case TransportError::invalid_url: return "invalid URL";
      case TransportError::transfer_failed: return "transfer failed";
    }
    return "unknown transport error";
  }
};

struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct CurlFree {
  void operator()(char* p) const { curl_free(p); }
};

void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' ||
                        s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

/// Scheme and host of `url` as curl will read them; false when curl cannot parse it.
bool url_scheme_host(const std::string& url, std::string& scheme, std::string& host) {
  std::unique_ptr<CURLU, UrlDeleter> u(curl_url());
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return false;
  char* raw = nullptr;
  if (curl_url_get(u.get(), CURLUPART_SCHEME, &raw, 0) != CURLUE_OK) return false;
  std::unique_ptr<char, CurlFree> s(raw);
  raw = nullptr;
  if (curl_url_get(u.get(), CURLUPART_HOST, &raw, 0) != CURLUE_OK) return false;
  std::unique_ptr<char, CurlFree> h(raw);
  scheme = lower(s.get());
  host = h.get();
  return true;
}

std::error_code classify_curl_error(CURLcode rc, bool too_large) {
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
      return TransportError::timeout;
    case CURLE_FILESIZE_EXCEEDED:
      return TransportError::response_too_large;
    case CURLE_WRITE_ERROR:
      return too_large ? TransportError::response_too_large : TransportError::transfer_failed;
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
      return TransportError::connection_failed;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      return TransportError::tls_error;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return TransportError::invalid_url;
    default:
      return TransportError::transfer_failed;
  }
}


}  // namespace

const std::error_category& transport_category() {
  static const TransportCategory category;
  return category;
}

std::error_code make_error_code(TransportError e) {
  return {static_cast<int>(e), transport_category()};
}

std::string HttpResponse::header(std::string_view name) const {
  const std::string want = lower(name);
  for (const auto& [k, v] : headers) {
    if (k == want) return v;
  }
  return {};
}

/// One transfer in flight. Member order matters: `easy` is declared last so it is

void CurlMultiTransport::Impl::init() {
  global_init_once();
  multi.reset(curl_multi_init());
  if (!multi) throw std::runtime_error("curl_multi_init failed");
  CURLM* m = multi.get();
  curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, &Impl::socket_trampoline);
  curl_multi_setopt(m, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, &Impl::timer_trampoline);
  curl_multi_setopt(m, CURLMOPT_TIMERDATA, this);
  if (opts.max_host_connections > 0)
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, opts.max_host_connections);
  if (opts.max_total_connections > 0)
    curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, opts.max_total_connections);
  // Keep every connection the caps allow in the cache. curl's default (4 x the transfers
  // in the multi handle *right now*) closes idle connections whenever fewer transfers are
  // in flight than at the peak, and the next burst reconnects: measured ~1 new connection
  // per 10 requests in the worker at concurrency 256.
  const long keep = std::max(opts.max_host_connections, opts.max_total_connections);
  if (keep > 0) curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, keep);
}

void CurlMultiTransport::Impl::fail_now(Completion completion, std::error_code ec,
                                        std::string detail) {
  HttpResponse r;
  r.error_detail = std::move(detail);
  boost::asio::post(ioc, [c = std::move(completion), ec, r = std::move(r)]() mutable {
    c(ec, std::move(r));
  });
}

EasyPtr CurlMultiTransport::Impl::take_easy() {
  if (!idle_easy.empty()) {
    EasyPtr e = std::move(idle_easy.back());
    idle_easy.pop_back();
    return e;
  }
  EasyPtr e(curl_easy_init());
  if (e) ++counters.easy_handles_created;
  return e;
}

void CurlMultiTransport::Impl::give_back(EasyPtr easy) {
  if (!easy) return;
  // Forgets every option (and so every pointer into the Transfer); keeps the handle's
  // buffers. Connections stay in the multi handle's cache.
  curl_easy_reset(easy.get());
  if (stopped || idle_easy.size() >= kMaxIdleEasyHandles) return;  // freed by its deleter
  try {
    idle_easy.push_back(std::move(easy));
  } catch (...) {
    // not kept: freed by its deleter
  }
}

bool CurlMultiTransport::Impl::check_url(const std::string& url, bool& loopback,
                                         Completion& completion) {
  if (!checked_url.empty() && url == checked_url) {
    loopback = checked_loopback;
    return true;
  }
  std::string scheme, host;
  if (!url_scheme_host(url, scheme, host)) {
    fail_now(std::move(completion), TransportError::invalid_url,
             "cannot parse URL \"" + url + "\"");
    return false;
  }
  if (scheme != "http" && scheme != "https") {
    fail_now(std::move(completion), TransportError::invalid_url,
             "unsupported scheme \"" + scheme + "\" (http or https only)");
    return false;
  }
  loopback = is_loopback_host(host);
  if (scheme == "http" && !loopback && !opts.allow_insecure_http) {
    fail_now(std::move(completion), TransportError::insecure_http_refused,
             "refusing plain http:// to non-loopback host \"" + host +
                 "\": use https (plain http is only allowed for loopback endpoints)");
    return false;
  }
  checked_url = url;
  checked_loopback = loopback;
  return true;
}

void CurlMultiTransport::Impl::perform(HttpRequest req, Completion completion) {
  if (stopped) {
    return fail_now(std::move(completion), std::make_error_code(std::errc::operation_canceled),
                    "transport stopped");
  }
  bool loopback = false;
  if (!check_url(req.url, loopback, completion)) return;

  auto t = std::make_unique<Transfer>();
  t->completion = std::move(completion);
  t->max_bytes = opts.max_response_bytes;
  t->request_body = std::move(req.body);

  bool has_expect = false;
  std::string line;
  for (const auto& [name, value] : req.headers) {
    if (!has_expect && name.size() == 6 && lower(name) == "expect") has_expect = true;
    line.assign(name);
    if (value.empty()) {
      line += ';';
    } else {
      line += ": ";
      line += value;
    }
    curl_slist* next = curl_slist_append(t->header_list.get(), line.c_str());
    if (!next) {
      return fail_now(std::move(t->completion), TransportError::transfer_failed,
                      "out of memory building headers");
    }
    t->header_list.release();
    t->header_list.reset(next);
  }
  if (!has_expect) {
    // No "Expect: 100-continue" round trip for larger bodies.
    curl_slist* next = curl_slist_append(t->header_list.get(), "Expect:");
    if (next) {
      t->header_list.release();
      t->header_list.reset(next);
    }
  }

  t->easy = take_easy();
  if (!t->easy) {
    return fail_now(std::move(t->completion), TransportError::transfer_failed,
                    "curl_easy_init failed");
  }
  CURL* e = t->easy.get();
  // Every option is set again: the handle was reset (or is new).
  CURLcode rc = CURLE_OK;
  auto set = [&rc](CURLcode r) {
    if (rc == CURLE_OK) rc = r;
  };
  set(curl_easy_setopt(e, CURLOPT_URL, req.url.c_str()));
  set(curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https"));
  set(curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L));
  set(curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1)));
  set(curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L));
  set(curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L));
  set(curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L));
  if (!opts.ca_file.empty()) set(curl_easy_setopt(e, CURLOPT_CAINFO, opts.ca_file.c_str()));
  // Proxies come from the usual environment variables (curl's default), except that a
  // loopback endpoint is never sent through a proxy.
  if (loopback) set(curl_easy_setopt(e, CURLOPT_NOPROXY, "*"));
  set(curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(req.connect_timeout.count())));
  set(curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count())));
  set(curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(t->max_bytes)));
  set(curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L));
  set(curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &Impl::open_trampoline));
  set(curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, this));
  set(curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, &Impl::close_trampoline));
  set(curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, this));
  set(curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf));
  set(curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Impl::write_trampoline));
  set(curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get()));
  set(curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Impl::header_trampoline));
  set(curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get()));
  set(curl_easy_setopt(e, CURLOPT_PRIVATE, t.get()));
  if (t->header_list) set(curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->header_list.get()));
  if (req.method == "POST") {
    set(curl_easy_setopt(e, CURLOPT_POST, 1L));
    set(curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                         static_cast<curl_off_t>(t->request_body.size())));
    set(curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->request_body.data()));
  } else if (req.method != "GET") {
    set(curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req.method.c_str()));
  }
  if (rc != CURLE_OK) {
    give_back(std::move(t->easy));
    return fail_now(std::move(t->completion), TransportError::transfer_failed,
                    std::string("curl option rejected: ") + curl_easy_strerror(rc));
  }
  transfers.emplace(e, std::move(t));
  if (CURLMcode mrc = curl_multi_add_handle(multi.get(), e); mrc != CURLM_OK) {
    auto it = transfers.find(e);
    std::unique_ptr<Transfer> failed = std::move(it->second);
    transfers.erase(it);
    give_back(std::move(failed->easy));
    return fail_now(std::move(failed->completion), TransportError::transfer_failed,
                    std::string("curl_multi_add_handle: ") + curl_multi_strerror(mrc));
  }
  // curl_multi_add_handle has asked for a 0 timeout (posted): the transfer starts from
  // the io_context, not from here.
}
size_t CurlMultiTransport::Impl::write_trampoline(char* data, size_t size, size_t nmemb,
                                                  void* userp) noexcept {
  auto* t = static_cast<Transfer*>(userp);
  const size_t n = size * nmemb;
  if (t->response.body.size() + n > t->max_bytes) {
    t->too_large = true;
    return 0;  // != n: curl aborts the transfer with CURLE_WRITE_ERROR
  }
  try {
    t->response.body.append(data, n);
  } catch (...) {
    return 0;
  }
  return n;
}

size_t CurlMultiTransport::Impl::header_trampoline(char* data, size_t size, size_t nitems,
                                                   void* userp) noexcept {
  auto* t = static_cast<Transfer*>(userp);
  const size_t n = size * nitems;
  try {
    std::string_view line(data, n);
    if (line.rfind("HTTP/", 0) == 0) {
      t->response.headers.clear();  // a new response (after 1xx): keep only the final one
      return n;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return n;  // blank line at the end of headers
    t->response.headers.emplace_back(lower(trim(line.substr(0, colon))),
                                     std::string(trim(line.substr(colon + 1))));
  } catch (...) {
    return 0;
  }
  return n;
}
void CurlMultiTransport::Impl::finish(CURL* easy, CURLcode result) {
  auto it = transfers.find(easy);
  curl_multi_remove_handle(multi.get(), easy);
  if (it == transfers.end()) return;
  std::unique_ptr<Transfer> t = std::move(it->second);
  transfers.erase(it);

  HttpResponse& r = t->response;
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  r.status = status;
  curl_off_t total = 0, connect = 0;
  curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &total);
  curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &connect);
  r.total_time = std::chrono::microseconds(total);
  r.connect_time = std::chrono::microseconds(connect);
  long new_connections = 0;
  curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &new_connections);
  r.connection_reused = status > 0 && new_connections == 0;

  std::error_code ec;
  if (result != CURLE_OK) {
    ec = classify_curl_error(result, t->too_large);
    if (ec == TransportError::response_too_large) {
      r.error_detail = "response body larger than " + std::to_string(t->max_bytes) + " bytes";
    } else {
      r.error_detail = t->errbuf[0] != '\0' ? std::string(t->errbuf) : curl_easy_strerror(result);
    }
    r.body.clear();
  }
  boost::asio::post(ioc, [c = std::move(t->completion), ec, r = std::move(r)]() mutable {
    c(ec, std::move(r));
  });
  // Reset (curl no longer points into t) and kept for the next perform().
  give_back(std::move(t->easy));
}
void CurlMultiTransport::Impl::stop() {
  if (stopped) return;
  stopped = true;
  timer.cancel();
  const auto cancelled = std::make_error_code(std::errc::operation_canceled);
  for (auto& [easy, t] : transfers) {
    curl_multi_remove_handle(multi.get(), easy);
    HttpResponse r;
    r.error_detail = "cancelled: transport stopped";
    boost::asio::post(ioc, [c = std::move(t->completion), cancelled, r = std::move(r)]() mutable {
      c(cancelled, std::move(r));
    });
  }
  transfers.clear();
  // Closes the cached connections (through close_trampoline, which deregisters them);
  // curl reports CURL_POLL_REMOVE for the watched ones on the way.
  multi.reset();
  while (!sockets.empty()) close_socket(sockets.begin()->first);
  connection_fds.clear();
  idle_easy.clear();
}

CurlMultiTransport::CurlMultiTransport(boost::asio::io_context& ioc, TransportOptions opts)
    : impl_(std::make_shared<Impl>(ioc, std::move(opts))) {
  impl_->init();
}

CurlMultiTransport::~CurlMultiTransport() {
  if (impl_) impl_->stop();
}

void CurlMultiTransport::perform(HttpRequest req, Completion completion) {
  impl_->perform(std::move(req), std::move(completion));
}

void CurlMultiTransport::stop() { impl_->stop(); }

boost::asio::io_context& CurlMultiTransport::context() const { return impl_->ioc; }

std::size_t CurlMultiTransport::in_flight() const { return impl_->transfers.size(); }

std::size_t CurlMultiTransport::watched_sockets() const { return impl_->sockets.size(); }

TransportStats CurlMultiTransport::stats() const { return impl_->counters; }

}  // namespace iamq::client
