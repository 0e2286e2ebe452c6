-- Dead-letters an entry whose job failed validation. ARGV[4] id ('' if none usable),
-- [5] entry, [6] job text as received, [7] validation message, [8] result TTL (s).
-- A record is created only when the id is usable and no job has it. Returns {'ok'} | {'lost'}.
local id, entry, raw, err, ttl = ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
if not owns(entry) then return {'lost'} end
local dead = redis.call('XADD', K_DEAD, '*', 'id', id, 'job', raw, 'reason', 'invalid',
                        'error', err, 'entry', entry, 'attempts', '0', 'at', NOW_S)
if id ~= '' and redis.call('EXISTS', jobkey(id)) == 0 then
  redis.call('HSET', jobkey(id), 'id', id, 'job', raw, 'status', 'dead', 'reason', 'invalid',
             'error', err, 'attempts', '0', 'entry', entry, 'dead_entry', dead, 'source', 'xadd',
             'created_at', NOW_S, 'updated_at', NOW_S, 'finished_at', NOW_S)
end
ack(entry)
event('dead', id, 'dead', {'reason', 'invalid', 'error', err})
return {'ok'}
