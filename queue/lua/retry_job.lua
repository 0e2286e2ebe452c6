-- iamq retry: a failed or dead job goes back to the back of its lane and resumes where it
-- stopped (its checkpoint) with fresh budgets (the failing call's attempt counts and the
-- reclaims are reset). A dead letter is removed from <ns>:dead; `invalid` ones are refused
-- (there is no job to run). A fan-out parent is never run itself: retrying it retries each
-- of its children that failed or is dead, and the parent waits for them again.
-- ARGV[4] id.
-- Returns {'ok'} | {'missing'} | {'refused', why}.
local function retry_one(id)
  local k = jobkey(id)
  local rec = redis.call('HMGET', k, 'status', 'reason', 'dead_entry', 'account', 'priority',
                         'checkpoint')
  if not rec[1] then return {'missing'} end
  if rec[1] ~= 'failed' and rec[1] ~= 'dead' then return {'refused', rec[1]} end
  if rec[1] == 'dead' and rec[2] == 'invalid' then return {'refused', 'invalid'} end
  if rec[6] and rec[6] ~= '' then
    local ok, cp = pcall(cjson.decode, rec[6])
    if ok and type(cp) == 'table' then
      cp['call_attempts'] = nil
      cp['class_attempts'] = nil
      cp['action'] = nil
      redis.call('HSET', k, 'checkpoint', cjson.encode(cp))
    end
  end
  redis.call('HDEL', k, 'result', 'error', 'last_error', 'reason', 'dead_entry', 'finished_at',
             'next_attempt_at', 'cancel')
  redis.call('HSET', k, 'status', 'queued', 'reclaims', '0', 'updated_at', NOW_S)
  redis.call('HINCRBY', k, 'retries', 1)
  redis.call('PERSIST', k)
  redis.call('PERSIST', stepskey(id))
  local lk = to_lane(id, rec[4], rec[5], false)
  move_count(rec[1], 'queued')
  event('retried', id, 'queued', {'lane', lk})
  if rec[1] == 'dead' and rec[3] then redis.call('XDEL', K_DEAD, rec[3]) end
  return {'ok'}
end

local id = ARGV[4]
local prec = redis.call('HMGET', jobkey(id), 'status', 'children_total')
if prec[1] and prec[2] then
  if prec[1] ~= 'failed' then return {'refused', prec[1]} end
  local kids = redis.call('HGETALL', jobkey(id) .. ':children')
  local any = false
  for i = 1, #kids - 1, 2 do
    if kids[i + 1] == 'failed' or kids[i + 1] == 'dead' then
      if retry_one(kids[i])[1] == 'ok' then any = true end
    end
  end
  if not any then return {'refused', 'a parent whose failed children cannot be retried'} end
  return {'ok'}
end
return retry_one(id)
