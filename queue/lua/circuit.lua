-- An account's circuit. ARGV[4] account, [5] state (open|half_open|closed), [6] error.
local acct, state, err = ARGV[4], ARGV[5], ARGV[6]
local k = ns .. ':circuit:' .. acct
if state == 'closed' then
  redis.call('DEL', k)
  redis.call('SREM', K_CIRCUITS, acct)
else
  if redis.call('HGET', k, 'state') ~= 'open' or state ~= 'open' then
    redis.call('HSET', k, 'since', NOW_S)
  end
  redis.call('HSET', k, 'state', state, 'error', err)
  redis.call('SADD', K_CIRCUITS, acct)
end
event('circuit', '', state, {'account', acct, 'error', err})
return {'ok'}
