#pragma once
/// `[webhooks.NAME]` sections: where the worker POSTs a job's outcome when the job says
/// `"notify": "NAME"`. The URL comes only from here, never from a job.
#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace iamq::config {

/// Events a webhook can ask for (the job's status change that triggers a delivery).
inline const std::vector<std::string> kWebhookEvents = {"succeeded", "failed", "dead", "cancelled",
                                                        "retry_scheduled"};

struct Webhook {
  std::string name;
  std::string url;     ///< https://…, or http:// to a loopback host
  std::string secret;  ///< HMAC-SHA256 key of X-Iamq-Signature; never logged or printed
  /// Events delivered; default: the final ones (succeeded, failed, dead, cancelled).
  std::vector<std::string> events = {"succeeded", "failed", "dead", "cancelled"};
  std::chrono::milliseconds timeout{10000};  ///< one delivery attempt
  int max_attempts = 10;  ///< attempts before the delivery is kept as failed (iamq webhooks list)
};

/// Checks each webhook (name, url, secret, events, timeout, attempts); "field: rule" lines.
std::vector<std::string> validate_webhooks(const std::map<std::string, Webhook>& hooks);
/// True for a notify / webhook name: 1-64 of [A-Za-z0-9_-].
bool valid_webhook_name(const std::string& name);

}  // namespace iamq::config
