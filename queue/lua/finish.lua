-- Final status with XACK + XDEL and retention. ARGV[4] id, [5] entry, [6] status
-- (succeeded|failed|cancelled), [7] result JSON, [8] error, [9] TTL seconds, [10] checkpoint
-- to keep for `iamq retry` ('' keeps the stored one).
local id, entry, status, result, err, ttl = ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local cp = ARGV[10] or ''
if not owns(entry) then return {'lost'} end
local k = jobkey(id)
local st = redis.call('HGET', k, 'status')
if not st then return {'missing'} end
redis.call('HSET', k, 'status', status, 'result', result, 'error', err, 'finished_at', NOW_S,
           'updated_at', NOW_S, 'entry', '', 'consumer', consumer, 'where', 'done')
if cp ~= '' then redis.call('HSET', k, 'checkpoint', cp) end
redis.call('HDEL', k, 'next_attempt_at')
ack(entry)
redis.call('EXPIRE', k, ttl)
redis.call('EXPIRE', stepskey(id), ttl)
move_count(st, status)
if status == 'cancelled' then
  event(status, id, status, {'reason', redis.call('HGET', k, 'cancel') or ''})
else
  event(status, id, status, {'error', err})
end
return {'ok'}
