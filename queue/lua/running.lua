-- status -> running, attempts + 1. ARGV[4] id, [5] entry. Returns {'ok', attempt} | {'lost'} |
-- {'missing'}.
local id, entry = ARGV[4], ARGV[5]
if not owns(entry) then return {'lost'} end
local k = jobkey(id)
local st = redis.call('HGET', k, 'status')
if not st then return {'missing'} end
local attempt = redis.call('HINCRBY', k, 'attempts', 1)
redis.call('HSET', k, 'status', 'running', 'consumer', consumer, 'last_attempt_at', NOW_S,
           'updated_at', NOW_S)
redis.call('HSETNX', k, 'started_at', NOW_S)
if st ~= 'running' then move_count(st, 'running') end
event('running', id, 'running', {'attempt', tostring(attempt)})
return {'ok', attempt}
