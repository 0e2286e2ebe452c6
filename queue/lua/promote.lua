-- Moves due jobs from the delayed set into their lanes (atomic: each exactly once). A job
-- back from a backoff goes to the front of its lane (resumes + 1); a job whose not_before
-- came goes to the back. ARGV[4] limit. Returns the number moved.
local limit = tonumber(ARGV[4])
local ids = redis.call('ZRANGEBYSCORE', K_DELAYED, '-inf', NOW_S, 'LIMIT', 0, limit)
local moved = 0
for _, id in ipairs(ids) do
  local k = jobkey(id)
  local rec = redis.call('HMGET', k, 'status', 'where', 'account', 'priority')
  if not rec[1] then
    event('lost_record', id, '', nil)
  elseif is_terminal(rec[1]) then
    event('stale', id, rec[1], nil)
  else
    local scheduled = rec[2] == 'scheduled'
    if not scheduled then redis.call('HINCRBY', k, 'resumes', 1) end
    local lk = to_lane(id, rec[3], rec[4], not scheduled)
    redis.call('HSET', k, 'updated_at', NOW_S)
    event('promoted', id, rec[1], {'lane', lk})
    moved = moved + 1
  end
  redis.call('ZREM', K_DELAYED, id)  -- last: a write refused on the way (OOM) loses nothing
end
return moved
