#pragma once
/// CurlMultiTransport's insides, shared by its two halves: curl_multi_transport.cpp (requests:
/// easy handles, perform, completion) and curl_multi_sockets.cpp (the socket and timer
/// callbacks that drive curl from the io_context). Not part of the client's interface.
#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <curl/curl.h>

#include "client/curl_multi_transport.hpp"

namespace iamq::client {

struct MultiDeleter {
  void operator()(CURLM* m) const { curl_multi_cleanup(m); }
};
struct EasyDeleter {
  void operator()(CURL* e) const { curl_easy_cleanup(e); }
};
using EasyPtr = std::unique_ptr<CURL, EasyDeleter>;
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

/// One transfer in flight. Member order matters: `easy` is declared last so it is
/// destroyed first, before the header list and the body it points into. A finished
/// transfer's handle is given back to Impl's free list (reset) instead of destroyed.
struct Transfer {
  std::string request_body;  // CURLOPT_POSTFIELDS points into it (not copied)
  std::unique_ptr<curl_slist, SlistDeleter> header_list;
  char errbuf[CURL_ERROR_SIZE] = {};
  HttpResponse response;
  std::size_t max_bytes = 0;
  bool too_large = false;
  CurlMultiTransport::Completion completion;
  EasyPtr easy;
};

/// Idle easy handles kept for reuse at most (more are freed): bounds memory after a burst.
constexpr std::size_t kMaxIdleEasyHandles = 512;

/// A socket curl asked us to watch. Owned by Impl::sockets and by pending waits.
struct SocketState : std::enable_shared_from_this<SocketState> {
  SocketState(boost::asio::io_context& ioc, curl_socket_t s) : fd(s), descriptor(ioc) {}
  ~SocketState() {
    // Never close curl's fd: give it back before the descriptor is destroyed.
    if (descriptor.is_open()) descriptor.release();
  }
  curl_socket_t fd;
  boost::asio::posix::stream_descriptor descriptor;  // wraps fd, never owns it
  int wanted = 0;        // CURL_POLL_IN / OUT / INOUT as last told by curl
  bool reading = false;  // an async_wait(wait_read) is pending
  bool writing = false;  // an async_wait(wait_write) is pending
  bool closed = false;   // deregistered (closed, removed or stop()): ignore late wake-ups
  bool connection = false;  // opened by open_trampoline: stays registered until close_trampoline
  unsigned generation = 0;  // bumped when go_idle() cancels the waits: their handlers ignore it

  /// The connection went back to curl's cache: no wait stays pending (an idle connection
  /// must not keep the io_context busy), but the descriptor stays registered.
  void go_idle() {
    wanted = 0;
    if (!reading && !writing) return;
    ++generation;
    reading = writing = false;
    boost::system::error_code ignored;
    descriptor.cancel(ignored);  // no syscall: the pending waits complete as aborted
  }
};

struct CurlMultiTransport::Impl : std::enable_shared_from_this<Impl> {
  Impl(boost::asio::io_context& io, TransportOptions o)
      : ioc(io), opts(std::move(o)), timer(io) {}

  boost::asio::io_context& ioc;
  TransportOptions opts;
  boost::asio::steady_timer timer;
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> transfers;
  // Owners of the per-socket states (curl holds raw pointers through curl_multi_assign
  // while it watches a socket), by fd: watched ones and idle connections kept registered.
  std::unordered_map<curl_socket_t, std::shared_ptr<SocketState>> sockets;
  // Connection sockets curl opened through open_trampoline and has not closed yet.
  std::unordered_set<curl_socket_t> connection_fds;
  // Reset easy handles ready for the next perform() (destroyed after `multi`).
  std::vector<EasyPtr> idle_easy;
  TransportStats counters;
  // The last URL perform() accepted, so the same endpoint is not parsed again per request.
  std::string checked_url;
  bool checked_loopback = false;
  bool zero_timeout_posted = false;  // an on_timeout() for curl's 0 ms timeout is queued
  bool stopped = false;
  // Declared last, destroyed first: curl_multi_cleanup may still call on_socket, which
  // needs the members above.
  std::unique_ptr<CURLM, MultiDeleter> multi;

  void init();
  void perform(HttpRequest req, Completion completion);
  void stop();

  // C callbacks: static trampolines; the user pointer is this Impl (owned by the
  // CurlMultiTransport's shared_ptr, alive as long as the multi handle exists).
  static int socket_trampoline(CURL* easy, curl_socket_t s, int what, void* userp,
                               void* socketp) noexcept;
  static int timer_trampoline(CURLM* multi, long timeout_ms, void* userp) noexcept;
  // Per transfer; the user pointer is the Transfer (owned by `transfers`).
  static size_t write_trampoline(char* data, size_t size, size_t nmemb, void* userp) noexcept;
  static size_t header_trampoline(char* data, size_t size, size_t nitems, void* userp) noexcept;
  // Connection sockets (the user pointer is this Impl; curl keeps it in the connection).
  static curl_socket_t open_trampoline(void* clientp, curlsocktype purpose,
                                       curl_sockaddr* address) noexcept;
  static int close_trampoline(void* clientp, curl_socket_t s) noexcept;

  // In the order they run.
  void on_socket(curl_socket_t s, int what, SocketState* state);
  void on_timer(long timeout_ms);
  void arm(const std::shared_ptr<SocketState>& state);
  void on_socket_ready(const std::shared_ptr<SocketState>& state, int select_flags);
  void on_timeout();
  void drain_messages();
  void finish(CURL* easy, CURLcode result);

  void close_socket(curl_socket_t s);
  void fail_now(Completion completion, std::error_code ec, std::string detail);
  EasyPtr take_easy();
  void give_back(EasyPtr easy);
  bool check_url(const std::string& url, bool& loopback, Completion& completion);
};

}  // namespace iamq::client
