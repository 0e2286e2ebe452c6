-- The lease keeper's tick, one script: renews this consumer's claims (ARGV[8..]: its live
-- entries; XCLAIM JUSTID resets their idle time) and only then takes back entries idle for at
-- least ARGV[4] ms, so a live claim of this worker is never taken back. A taken-back job goes
-- to the front of its lane (reclaims + 1) or, past ARGV[7] reclaims (0: no limit), to the
-- dead letters. ARGV[5] XAUTOCLAIM cursor, [6] count.
-- Returns {lost entries, next cursor, reclaimed, dead, cancel}: cancel lists the renewed entries
-- whose job `iamq cancel` asked to stop (the worker stops it even while it waits for a token or
-- a retry, when no write of its own would tell it).
local min_idle, cursor, count, max_reclaims = ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7])
local lost, cancel = {}, {}
for i = 8, #ARGV do
  local entry = ARGV[i]
  if owns(entry) then
    redis.call('XCLAIM', K_JOBS, GROUP, consumer, 0, entry, 'JUSTID')
    local row = redis.call('XRANGE', K_JOBS, entry, entry)[1]
    local f = row and row[2] or {}
    for j = 1, #f - 1, 2 do
      if f[j] == 'id' then
        local c = redis.call('HGET', jobkey(f[j + 1]), 'cancel')
        if c and c ~= '' then cancel[#cancel + 1] = entry end
      end
    end
  else
    lost[#lost + 1] = entry
  end
end
local r = redis.pcall('XAUTOCLAIM', K_JOBS, GROUP, consumer, min_idle, cursor, 'COUNT', count)
if type(r) == 'table' and r.err then return {lost, '0-0', 0, 0, cancel} end
local reclaimed, dead = 0, 0
for _, e in ipairs(r[2]) do
  local id = ''
  if type(e[2]) == 'table' then
    for i = 1, #e[2], 2 do
      if e[2][i] == 'id' then id = e[2][i + 1] end
    end
  end
  local k = jobkey(id)
  local rec = redis.call('HMGET', k, 'status', 'entry', 'account', 'priority', 'job', 'deliveries')
  -- Every write first, the ack last: a write refused on the way (OOM) loses nothing.
  if id == '' or not rec[1] or rec[2] ~= e[1] or is_terminal(rec[1]) then
    event('stale', id, rec[1] or '', {'entry', e[1]})
  else
    local n = redis.call('HINCRBY', k, 'reclaims', 1)
    if max_reclaims > 0 and n > max_reclaims then
      local msg = 'abandoned by ' .. n .. ' workers that stopped renewing (crashed or killed); not retried'
      local d = redis.call('XADD', K_DEAD, '*', 'id', id, 'job', rec[5] or '', 'reason', msg,
                           'error', msg, 'entry', e[1], 'attempts', rec[6] or '0', 'at', NOW_S)
      redis.call('HSET', k, 'status', 'dead', 'reason', msg, 'error', msg, 'dead_entry', d,
                 'where', 'done', 'entry', '', 'finished_at', NOW_S, 'updated_at', NOW_S)
      move_count(rec[1], 'dead')
      event('dead', id, 'dead', {'reason', msg, 'error', msg})
      dead = dead + 1
    else
      to_lane(id, rec[3], rec[4], true)
      redis.call('HSET', k, 'status', 'queued', 'updated_at', NOW_S)
      move_count(rec[1], 'queued')
      event('reclaimed', id, 'queued', {'entry', e[1], 'reclaims', tostring(n)})
      reclaimed = reclaimed + 1
    end
  end
  ack(e[1])
end
return {lost, r[1], reclaimed, dead, cancel}
