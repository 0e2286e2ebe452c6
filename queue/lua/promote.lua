-- Moves due jobs from the delayed set back into the stream (atomic: each exactly once).
-- ARGV[4] limit. Returns the number moved.
local limit = tonumber(ARGV[4])
local ids = redis.call('ZRANGEBYSCORE', K_DELAYED, '-inf', NOW_S, 'LIMIT', 0, limit)
local moved = 0
for _, id in ipairs(ids) do
  redis.call('ZREM', K_DELAYED, id)
  local k = jobkey(id)
  local job = redis.call('HGET', k, 'job')
  if job then
    local entry = redis.call('XADD', K_JOBS, '*', 'id', id, 'job', job)
    redis.call('HSET', k, 'entry', entry, 'updated_at', NOW_S)
    event('promoted', id, 'retry_scheduled', {'entry', entry})
    moved = moved + 1
  else
    event('lost_record', id, '', nil)
  end
end
return moved
