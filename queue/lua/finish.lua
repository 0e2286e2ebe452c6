-- Final status with XACK + XDEL and retention. ARGV[4] id, [5] entry, [6] status
-- (succeeded|failed), [7] result JSON, [8] error, [9] TTL seconds.
local id, entry, status, result, err, ttl = ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
if not owns(entry) then return {'lost'} end
local k = jobkey(id)
local st = redis.call('HGET', k, 'status')
if not st then return {'missing'} end
redis.call('HSET', k, 'status', status, 'result', result, 'error', err, 'finished_at', NOW_S,
           'updated_at', NOW_S, 'entry', '', 'consumer', consumer)
redis.call('HDEL', k, 'next_attempt_at')
ack(entry)
redis.call('EXPIRE', k, ttl)
redis.call('EXPIRE', stepskey(id), ttl)
move_count(st, status)
event(status, id, status, {'error', err})
return {'ok'}
