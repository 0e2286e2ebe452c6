-- An in-process retry's wait is over: status retry_scheduled -> running before the call goes
-- out. ARGV[4] id, [5] entry. Returns {'ok'} | {'lost'} | {'missing'} | {'cancel'} | {'pause'}.
local id, entry = ARGV[4], ARGV[5]
if not owns(entry) then return {'lost'} end
local k = jobkey(id)
local rec = redis.call('HMGET', k, 'status', 'cancel', 'account')
if not rec[1] then return {'missing'} end
if rec[2] and rec[2] ~= '' then return {'cancel'} end
if is_paused(rec[3]) then return {'pause'} end
redis.call('HSET', k, 'status', 'running', 'updated_at', NOW_S)
redis.call('HDEL', k, 'next_attempt_at')
if rec[1] ~= 'running' then
  move_count(rec[1], 'running')
  event('running', id, 'running', {'entry', entry})
end
return {'ok'}
