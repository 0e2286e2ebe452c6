#pragma once
/// The emulator's HTTP/1.1 server on Boost.Beast: accepts loopback connections, keeps them
/// alive, hands each request to the sans-io Emulator and carries out what it decides
/// (answer, answer after a delay, or drop the connection). One io_context thread.
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "tests/iam_emulator/emulator.hpp"

namespace iamq::emulator {

class Server {
 public:
  /// Binds and listens on `endpoint` (port 0 picks a free one); throws boost::system_error.
  Server(boost::asio::io_context& ioc, Emulator& emulator, const boost::asio::ip::tcp::endpoint& endpoint);
  /// The bound address (with the real port).
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  /// Starts accepting.
  void start();
  /// Stops accepting; open connections end when the io_context stops.
  void stop();

 private:
  void do_accept();
  void on_accept(const boost::system::error_code& ec, boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& ioc_;
  Emulator& emulator_;
  boost::asio::ip::tcp::acceptor acceptor_;
};

}  // namespace iamq::emulator
