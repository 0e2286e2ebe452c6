-- Deletes dead letters with ids up to ARGV[4] ('+' for all) in batches of ARGV[5], and the
-- records that still point at them. Returns how many were deleted in this batch.
local upto, batch = ARGV[4], tonumber(ARGV[5])
local es = redis.call('XRANGE', K_DEAD, '-', upto, 'COUNT', batch)
for _, e in ipairs(es) do
  local id = ''
  for i = 1, #e[2], 2 do
    if e[2][i] == 'id' then id = e[2][i + 1] end
  end
  redis.call('XDEL', K_DEAD, e[1])
  if id ~= '' then
    local rec = redis.call('HMGET', jobkey(id), 'status', 'dead_entry')
    if rec[1] == 'dead' and rec[2] == e[1] then
      redis.call('DEL', jobkey(id), stepskey(id))
    end
  end
  event('purged', id, 'dead', {'dead_entry', e[1]})
end
return #es
