-- Appends steps to their jobs' step logs and stores each job's resume checkpoint: one call
-- carries every step the worker recorded in one turn of its event loop (JobQueue batches them).
-- ARGV[4] count N, then N groups of 4 from ARGV[5]: id, entry, step JSON, checkpoint JSON
-- ('' keeps the old one). Returns N statuses in order: 'ok' | 'lost' | 'missing', or, once
-- the step is recorded, 'cancel' (iamq cancel asked for it: stop now) or 'pause' (its
-- account or every account is paused: hand it back).
local n = tonumber(ARGV[4])
local out = {}
for i = 0, n - 1 do
  local base = 5 + i * 4
  local id, entry, step, checkpoint = ARGV[base], ARGV[base + 1], ARGV[base + 2], ARGV[base + 3]
  if not owns(entry) then
    out[#out + 1] = 'lost'
  else
    local k = jobkey(id)
    local rec = redis.call('HMGET', k, 'status', 'cancel', 'account')
    if not rec[1] then
      out[#out + 1] = 'missing'
    else
      local c = redis.call('RPUSH', stepskey(id), step)
      if checkpoint ~= '' then
        redis.call('HSET', k, 'steps', tostring(c), 'updated_at', NOW_S, 'checkpoint', checkpoint)
      else
        redis.call('HSET', k, 'steps', tostring(c), 'updated_at', NOW_S)
      end
      event('step', id, 'running', {'step', tostring(c)})
      if rec[2] and rec[2] ~= '' then
        out[#out + 1] = 'cancel'
      elseif is_paused(rec[3]) then
        out[#out + 1] = 'pause'
      else
        out[#out + 1] = 'ok'
      end
    end
  end
end
return out
