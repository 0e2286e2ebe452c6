-- Hand-back (shutdown, pause, open circuit): the job goes to the front of its lane with its
-- record and checkpoint kept, status queued; its claim entry is acked and deleted.
-- ARGV[4] id, [5] entry, [6] reason.
local id, entry, reason = ARGV[4], ARGV[5], ARGV[6] or ''
if not owns(entry) then return {'lost'} end
local k = jobkey(id)
local rec = redis.call('HMGET', k, 'status', 'account', 'priority')
if not rec[1] then return {'missing'} end
local lk = to_lane(id, rec[2], rec[3], true)  -- before the ack: a refused write loses nothing
ack(entry)
redis.call('HINCRBY', k, 'handbacks', 1)
redis.call('HSET', k, 'status', 'queued', 'updated_at', NOW_S)
move_count(rec[1], 'queued')
event('requeued', id, 'queued', {'lane', lk, 'reason', reason})
return {'ok', lk}
