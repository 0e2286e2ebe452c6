-- Long wait: the job leaves its claim for the delayed set (ZADD + XACK + XDEL + status).
-- ARGV[4] id, [5] entry, [6] delay ms, [7] error.
local id, entry, delay, err = ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7]
if not owns(entry) then return {'lost'} end
local k = jobkey(id)
local st = redis.call('HGET', k, 'status')
if not st then return {'missing'} end
local due = NOW + delay
local due_s = string.format('%d', due)
redis.call('ZADD', K_DELAYED, due_s, id)
redis.call('HSET', k, 'status', 'retry_scheduled', 'last_error', err, 'next_attempt_at', due_s,
           'entry', '', 'consumer', '', 'where', 'delayed', 'updated_at', NOW_S)
ack(entry)
move_count(st, 'retry_scheduled')
event('delayed', id, 'retry_scheduled', {'due', due_s, 'error', err})
return {'ok'}
