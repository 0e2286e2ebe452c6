-- iamq cancel: a job waiting (intake, lane, delayed set, not_before) ends cancelled now with
-- no IAM call; a started job gets `cancel` set and its worker stops it before its next call.
-- ARGV[4] id, [5] reason, [6] TTL (s).
-- A fan-out parent answers {'parent', child ids...}: the caller cancels each child, and the
-- parent ends when they have.
-- Returns {'cancelled'} | {'requested'} | {'final', status} | {'missing'} | {'parent', ...}.
local id, reason, ttl = ARGV[4], ARGV[5], ARGV[6]
local k = jobkey(id)
local rec = redis.call('HMGET', k, 'status', 'where', 'account', 'priority', 'job', 'user_name',
                       'type', 'entry')
if not rec[1] then return {'missing'} end
if is_terminal(rec[1]) then return {'final', rec[1]} end
local where = rec[2] or 'intake'
if where == 'children' then
  local out = {'parent'}
  local kids = redis.call('HGETALL', k .. ':children')
  for i = 1, #kids - 1, 2 do
    if not is_terminal(kids[i + 1]) then out[#out + 1] = kids[i] end
  end
  return out
end
local waiting = false
-- Found first, removed after the record is written (a refused write then loses nothing).
local lk = lanekey(rec[3] or 'default', rec[4])
if where == 'lane' then
  waiting = redis.call('LPOS', lk, id) ~= false
elseif where == 'scheduled' or where == 'delayed' then
  waiting = redis.call('ZSCORE', K_DELAYED, id) ~= false
elseif where == 'intake' then
  -- Not routed yet (intake entries are never claimed): the router sees the terminal status
  -- and drops the entry.
  waiting = true
end
if not waiting then
  redis.call('HSET', k, 'cancel', reason ~= '' and reason or 'cancelled', 'updated_at', NOW_S)
  event('cancel_requested', id, rec[1], {'reason', reason})
  return {'requested'}
end
local meta = {}
local ok, job = pcall(cjson.decode, rec[5] or '')
if ok and type(job) == 'table' and type(job['meta']) == 'table' then meta = job['meta'] end
local result = cjson.encode({status = 'cancelled', outcome = 'cancelled', reason = reason,
                             type = rec[7] or '', account = rec[3] or 'default',
                             user_name = rec[6] or '', calls = 0, meta = meta})
redis.call('HSET', k, 'status', 'cancelled', 'cancel', reason ~= '' and reason or 'cancelled',
           'result', result, 'error', '', 'where', 'done', 'finished_at', NOW_S,
           'updated_at', NOW_S)
redis.call('HDEL', k, 'next_attempt_at')
if where == 'lane' then redis.call('LREM', lk, 1, id) end
if where == 'scheduled' or where == 'delayed' then redis.call('ZREM', K_DELAYED, id) end
redis.call('EXPIRE', k, ttl)
redis.call('EXPIRE', stepskey(id), ttl)
move_count(rec[1], 'cancelled')
event('cancelled', id, 'cancelled', {'reason', reason})
return {'cancelled'}
