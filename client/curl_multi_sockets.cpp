// CurlMultiTransport, the event side: curl's socket and timer callbacks on the io_context.
#include <exception>

#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "client/curl_multi_impl.hpp"

// How sockets are watched (the contract of curl's docs/examples/multi-uv.c):
//
// curl owns every socket: it opens, connects and closes them. When it wants to know about
// readiness it calls the socket callback (on_socket); we wrap the fd in an
// asio::posix::stream_descriptor that does NOT own it and remember that state with
// curl_multi_assign (and in Impl::sockets, keyed by fd).
//
// Two kinds of socket:
// - Connection sockets: curl opens them through our CURLOPT_OPENSOCKETFUNCTION and closes
//   them through our CURLOPT_CLOSESOCKETFUNCTION (curl copies both into the connection, so
//   they are used even when the connection is closed by another handle or by
//   curl_multi_cleanup). On CURL_POLL_REMOVE — which curl sends every time a kept-alive
//   connection goes back to its cache — we only stop acting on readiness (wanted = 0) and
//   keep the descriptor registered with the reactor: the next request on that connection
//   re-uses the registration (and, usually, the read wait still pending) instead of an
//   epoll_ctl ADD/DEL pair per request. Only the close callback deregisters (release(), so
//   asio never closes the fd) and then closes the fd: the fd number cannot be reused while
//   asio still knows it.
// - Anything else (the threaded resolver's socketpair): as multi-uv.c, on CURL_POLL_REMOVE
//   we cancel the waits, release() the fd and free the state. curl (7.88,
//   Curl_multi_closed) reports CURL_POLL_REMOVE *before* it closes a socket it had
//   reported, so asio has deregistered the fd before the number can be reused.
//
// Easy handles: a finished transfer's handle is curl_easy_reset() and kept on a free list;
// the next perform() takes it and sets every per-request option again. Connections, DNS
// and TLS session caches live in the multi handle, as before.
//
// Timers: the timer callback only (re)arms one steady_timer; a timeout of 0 is posted to
// the io_context, never acted on inside the callback (curl forbids re-entering
// curl_multi_socket_action from its own callbacks). After every curl_multi_socket_action
// the message queue is drained (curl_multi_info_read) and finished transfers are completed.
//
// Lifetime: asio handlers hold a weak_ptr to Impl (and a shared_ptr to their socket state),
// so a handler that runs after stop() or after the transport was destroyed does nothing.

namespace iamq::client {

curl_socket_t CurlMultiTransport::Impl::open_trampoline(void* clientp, curlsocktype,
                                                        curl_sockaddr* address) noexcept {
  auto* self = static_cast<Impl*>(clientp);
  const curl_socket_t fd =
      ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
  if (fd == CURL_SOCKET_BAD) return CURL_SOCKET_BAD;
  try {
    // A state still registered under this number would be stale (its fd was closed
    // without our close callback, which curl never does): drop it before the number is
    // watched again.
    if (self->sockets.count(fd)) self->close_socket(fd);
    self->connection_fds.insert(fd);
  } catch (...) {
    ::close(fd);
    return CURL_SOCKET_BAD;
  }
  return fd;
}

int CurlMultiTransport::Impl::close_trampoline(void* clientp, curl_socket_t s) noexcept {
  auto* self = static_cast<Impl*>(clientp);
  // Deregister from the reactor first, then close: asio never sees a reused number.
  self->close_socket(s);
  self->connection_fds.erase(s);
  return ::close(s);
}

int CurlMultiTransport::Impl::socket_trampoline(CURL*, curl_socket_t s, int what, void* userp,
                                                void* socketp) noexcept {
  try {
    static_cast<Impl*>(userp)->on_socket(s, what, static_cast<SocketState*>(socketp));
    return 0;
  } catch (const std::exception& ex) {
    spdlog::error("curl socket callback: {}", ex.what());
  } catch (...) {
  }
  return -1;  // tells curl to fail (CURLM_ABORTED_BY_CALLBACK) instead of hanging
}

int CurlMultiTransport::Impl::timer_trampoline(CURLM*, long timeout_ms, void* userp) noexcept {
  try {
    static_cast<Impl*>(userp)->on_timer(timeout_ms);
    return 0;
  } catch (const std::exception& ex) {
    spdlog::error("curl timer callback: {}", ex.what());
  } catch (...) {
  }
  return -1;
}
void CurlMultiTransport::Impl::on_socket(curl_socket_t s, int what, SocketState* state) {
  if (what == CURL_POLL_REMOVE) {
    if (!state) return;
    if (state->connection && connection_fds.count(s)) {
      // A kept-alive connection going back to curl's cache (or about to be closed through
      // close_trampoline): stay registered, wait for nothing until curl asks again.
      state->go_idle();
    } else {
      close_socket(s);
    }
    if (multi) curl_multi_assign(multi.get(), s, nullptr);
    return;
  }
  std::shared_ptr<SocketState> owned;
  if (state) {
    owned = state->shared_from_this();
  } else {
    const bool connection = connection_fds.count(s) > 0;
    if (auto it = sockets.find(s); it != sockets.end()) {
      if (connection && it->second->connection) {
        owned = it->second;  // an idle connection taken up again: already registered
      } else {
        close_socket(s);  // stale (cannot happen with curl 7.88): register afresh
      }
    }
    if (!owned) {
      owned = std::make_shared<SocketState>(ioc, s);
      owned->connection = connection;
      boost::system::error_code ec;
      owned->descriptor.assign(s, ec);
      if (ec) throw std::runtime_error("cannot watch socket: " + ec.message());
      sockets.emplace(s, owned);
      ++counters.socket_registrations;
    }
    curl_multi_assign(multi.get(), s, owned.get());
  }
  owned->wanted = what;
  arm(owned);
}

void CurlMultiTransport::Impl::arm(const std::shared_ptr<SocketState>& st) {
  std::weak_ptr<Impl> weak = weak_from_this();
  if ((st->wanted & CURL_POLL_IN) && !st->reading) {
    st->reading = true;
    st->descriptor.async_wait(
        boost::asio::posix::stream_descriptor::wait_read,
        [weak, st, gen = st->generation](const boost::system::error_code& ec) {
          if (gen != st->generation) return;  // cancelled by go_idle(): flags are newer
          st->reading = false;
          if (ec == boost::asio::error::operation_aborted || st->closed) return;
          auto self = weak.lock();
          if (!self || self->stopped) return;
          if (!(st->wanted & CURL_POLL_IN)) return;  // curl no longer wants to read
          self->on_socket_ready(st, ec ? CURL_CSELECT_ERR : CURL_CSELECT_IN);
        });
  }
  if ((st->wanted & CURL_POLL_OUT) && !st->writing) {
    st->writing = true;
    st->descriptor.async_wait(
        boost::asio::posix::stream_descriptor::wait_write,
        [weak, st, gen = st->generation](const boost::system::error_code& ec) {
          if (gen != st->generation) return;
          st->writing = false;
          if (ec == boost::asio::error::operation_aborted || st->closed) return;
          auto self = weak.lock();
          if (!self || self->stopped) return;
          if (!(st->wanted & CURL_POLL_OUT)) return;
          self->on_socket_ready(st, ec ? CURL_CSELECT_ERR : CURL_CSELECT_OUT);
        });
  }
}

void CurlMultiTransport::Impl::on_socket_ready(const std::shared_ptr<SocketState>& st,
                                               int select_flags) {
  int running = 0;
  curl_multi_socket_action(multi.get(), st->fd, select_flags, &running);
  drain_messages();
  // Still watched and still wanted: wait for the next readiness (curl reads or writes
  // at most a buffer per call, the rest is picked up by the next wait).
  if (!st->closed && !stopped) arm(st);
}

void CurlMultiTransport::Impl::on_timer(long timeout_ms) {
  timer.cancel();
  if (timeout_ms < 0) return;  // curl: delete the timer
  std::weak_ptr<Impl> weak = weak_from_this();
  if (timeout_ms == 0) {
    // Never call back into curl from inside its callback: post it. One posted run is
    // enough for any number of requests made before it runs (perform() asks for a 0
    // timeout each time): curl_multi_socket_action(CURL_SOCKET_TIMEOUT) serves every
    // expired timer.
    if (zero_timeout_posted) return;
    zero_timeout_posted = true;
    boost::asio::post(ioc, [weak] {
      auto self = weak.lock();
      if (!self) return;
      self->zero_timeout_posted = false;
      if (!self->stopped) self->on_timeout();
    });
    return;
  }
  timer.expires_after(std::chrono::milliseconds(timeout_ms));
  timer.async_wait([weak](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled: re-armed or stopped
    if (auto self = weak.lock(); self && !self->stopped) self->on_timeout();
  });
}

void CurlMultiTransport::Impl::on_timeout() {
  int running = 0;
  curl_multi_socket_action(multi.get(), CURL_SOCKET_TIMEOUT, 0, &running);
  drain_messages();
}

void CurlMultiTransport::Impl::drain_messages() {
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi.get(), &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    // Copy out before remove_handle invalidates msg.
    CURL* easy = msg->easy_handle;
    CURLcode result = msg->data.result;
    finish(easy, result);
  }
}
void CurlMultiTransport::Impl::close_socket(curl_socket_t s) {
  auto it = sockets.find(s);
  if (it == sockets.end()) return;
  std::shared_ptr<SocketState> st = std::move(it->second);
  sockets.erase(it);
  st->closed = true;
  boost::system::error_code ignored;
  st->descriptor.cancel(ignored);  // pending waits complete with operation_aborted
  st->descriptor.release();        // deregister from the reactor; curl closes the fd
}

}  // namespace iamq::client
