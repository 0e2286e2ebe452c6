-- Dead letter: XADD <ns>:dead + status dead + XACK + XDEL. The record stays (no TTL) until
-- the dead letter is retried or purged. ARGV[4] id, [5] entry, [6] reason, [7] error.
local id, entry, reason, err = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
if not owns(entry) then return {'lost'} end
local k = jobkey(id)
local rec = redis.call('HMGET', k, 'status', 'job', 'attempts')
if not rec[1] then return {'missing'} end
local dead = redis.call('XADD', K_DEAD, '*', 'id', id, 'job', rec[2] or '', 'reason', reason,
                        'error', err, 'entry', entry, 'attempts', rec[3] or '0', 'at', NOW_S)
redis.call('HSET', k, 'status', 'dead', 'reason', reason, 'error', err, 'dead_entry', dead,
           'finished_at', NOW_S, 'updated_at', NOW_S, 'entry', '', 'where', 'done')
ack(entry)
move_count(rec[1], 'dead')
event('dead', id, 'dead', {'reason', reason, 'error', err})
return {'ok'}
