-- iamq pause / resume. ARGV[4] scope ('*' = every account, else an account), [5] '1' pause
-- or '0' resume, [6] reason. Returns 1 when the state changed, 0 otherwise.
local scope, on, reason = ARGV[4], ARGV[5] == '1', ARGV[6] or ''
local changed
if on then
  -- An account already paused keeps its first reason and time.
  changed = redis.call('HSETNX', K_PAUSED, scope, cjson.encode({since = NOW, reason = reason}))
else
  changed = redis.call('HDEL', K_PAUSED, scope)
end
if changed > 0 then
  event(on and 'paused' or 'resumed', '', '', {'account', scope, 'reason', reason})
end
return changed
