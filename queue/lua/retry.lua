-- In-process retry: status -> retry_scheduled; the entry stays in flight.
-- ARGV[4] id, [5] entry, [6] delay ms, [7] error.
local id, entry, delay, err = ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7]
if not owns(entry) then return {'lost'} end
local k = jobkey(id)
local st = redis.call('HGET', k, 'status')
if not st then return {'missing'} end
local due = string.format('%d', NOW + delay)
redis.call('HSET', k, 'status', 'retry_scheduled', 'last_error', err, 'next_attempt_at', due,
           'updated_at', NOW_S)
move_count(st, 'retry_scheduled')
event('retry_scheduled', id, 'retry_scheduled', {'due', due, 'error', err})
return {'ok'}
