-- Shutdown hand-back: a new stream entry for the job (record and checkpoint kept), the old one
-- acked and deleted, status queued. ARGV[4] id, [5] entry.
local id, entry = ARGV[4], ARGV[5]
if not owns(entry) then return {'lost'} end
local k = jobkey(id)
local rec = redis.call('HMGET', k, 'status', 'job')
if not rec[1] then return {'missing'} end
ack(entry)
local fresh = redis.call('XADD', K_JOBS, '*', 'id', id, 'job', rec[2])
redis.call('HSET', k, 'status', 'queued', 'entry', fresh, 'consumer', '', 'updated_at', NOW_S)
move_count(rec[1], 'queued')
event('requeued', id, 'queued', {'entry', fresh})
return {'ok', fresh}
