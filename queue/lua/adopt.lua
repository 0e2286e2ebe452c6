-- A worker takes a stream entry. ARGV[4] id, [5] entry, [6] type, [7] account, [8] user_name,
-- [9] max_attempts, [10] canonical job JSON.
-- Returns {'run', status, attempts, checkpoint, job} | {'duplicate', status} |
--         {'finished', status} | {'lost'}.
local id, entry = ARGV[4], ARGV[5]
if not owns(entry) then return {'lost'} end
local k = jobkey(id)
local rec = redis.call('HMGET', k, 'status', 'entry', 'attempts', 'checkpoint', 'job')
if rec[1] then
  if rec[2] ~= entry then
    -- Another entry carries this id (a second XADD of the same job): never run it twice.
    ack(entry)
    event('duplicate', id, rec[1], {'entry', entry})
    return {'duplicate', rec[1]}
  end
  if is_terminal(rec[1]) then
    ack(entry)
    event('stale', id, rec[1], {'entry', entry})
    return {'finished', rec[1]}
  end
  redis.call('HSET', k, 'consumer', consumer, 'updated_at', NOW_S)
  event('adopted', id, rec[1], {'entry', entry})
  return {'run', rec[1], rec[3] or '0', rec[4] or '', rec[5] or ARGV[10]}
end
-- First sight of a job written by a plain XADD: create its record now.
redis.call('HSET', k, 'id', id, 'type', ARGV[6], 'account', ARGV[7], 'user_name', ARGV[8],
           'max_attempts', ARGV[9], 'job', ARGV[10], 'status', 'queued', 'attempts', '0',
           'entry', entry, 'source', 'xadd', 'consumer', consumer,
           'created_at', NOW_S, 'updated_at', NOW_S)
move_count(nil, 'queued')
event('queued', id, 'queued', {'entry', entry, 'source', 'xadd'})
return {'run', 'queued', '0', '', ARGV[10]}
