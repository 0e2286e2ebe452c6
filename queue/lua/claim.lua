-- Starts jobs: takes job ids from the lanes of the accounts the worker can serve now and
-- makes each a claim entry in <ns>:jobs pending for this consumer (XADD + XCLAIM FORCE:
-- fencing and reclaim work as for any pending entry). Accounts are served round-robin in
-- the order given, one job per account per pass; within an account urgent before normal
-- before bulk, except that every ARGV[5]-th start of the account takes bulk first.
-- ARGV[4] most jobs to start, [5] bulk share (0: none), then pairs: account, most jobs.
-- Returns {started, empty}: started holds, per started job, a flat group of 11: id, entry,
-- status before, delivery number, checkpoint, job JSON, reclaims, resumes, handbacks,
-- priority, account; empty lists the granted accounts whose lanes were all empty (each leaves
-- <ns>:ready, the set of accounts whose lanes may hold jobs, which to_lane adds to).
local total, every = tonumber(ARGV[4]), tonumber(ARGV[5])
local out, empty = {}, {}
if total <= 0 or redis.call('HEXISTS', K_PAUSED, '*') == 1 then return {out, empty} end
local accts, caps, active = {}, {}, {}
for i = 6, #ARGV - 1, 2 do
  local a, c = ARGV[i], tonumber(ARGV[i + 1])
  if c > 0 and redis.call('HEXISTS', K_PAUSED, a) == 0 then
    accts[#accts + 1] = a
    caps[#caps + 1] = c
    active[#active + 1] = #accts
  end
end

-- The head of the account's next lane (peeked: it leaves the lane only once its claim is
-- written, so a write refused on the way, e.g. OOM, loses nothing).
local function peek(acct)
  local n = redis.call('HINCRBY', K_STARTS, acct, 1)
  local order = {'urgent', 'normal', 'bulk'}
  if every > 0 and n % every == 0 then order = {'bulk', 'urgent', 'normal'} end
  for _, p in ipairs(order) do
    local lk = lanekey(acct, p)
    local id = redis.call('LINDEX', lk, 0)
    if id then return id, lk end
  end
  redis.call('HINCRBY', K_STARTS, acct, -1)
  return nil
end

local function start(id, acct)
  local k = jobkey(id)
  local r = redis.call('HMGET', k, 'status', 'job', 'checkpoint', 'reclaims', 'resumes',
                       'handbacks', 'priority', 'where')
  if not r[1] or is_terminal(r[1]) or r[8] ~= 'lane' then
    event('skipped', id, r[1] or '', {'where', r[8] or ''})
    return false
  end
  local e = redis.call('XADD', K_JOBS, '*', 'id', id, 'claim', '1')
  local ok = redis.pcall('XCLAIM', K_JOBS, GROUP, consumer, 0, e, 'FORCE', 'JUSTID')
  if type(ok) == 'table' and ok.err then
    redis.pcall('XGROUP', 'CREATE', K_JOBS, GROUP, '0', 'MKSTREAM')
    redis.call('XCLAIM', K_JOBS, GROUP, consumer, 0, e, 'FORCE', 'JUSTID')
  end
  local d = redis.call('HINCRBY', k, 'deliveries', 1)
  redis.call('HINCRBY', k, 'attempts', 1)
  redis.call('HSET', k, 'status', 'running', 'where', 'claimed', 'entry', e, 'consumer', consumer,
             'last_attempt_at', NOW_S, 'updated_at', NOW_S)
  redis.call('HSETNX', k, 'started_at', NOW_S)
  if r[1] ~= 'running' then move_count(r[1], 'running') end
  event('running', id, 'running', {'attempt', tostring(d), 'entry', e})
  local o = out
  o[#o + 1] = id
  o[#o + 1] = e
  o[#o + 1] = r[1]
  o[#o + 1] = d
  o[#o + 1] = r[3] or ''
  o[#o + 1] = r[2] or ''
  o[#o + 1] = tonumber(r[4] or '0') or 0
  o[#o + 1] = tonumber(r[5] or '0') or 0
  o[#o + 1] = tonumber(r[6] or '0') or 0
  o[#o + 1] = r[7] or 'normal'
  o[#o + 1] = acct
  return true
end

local got = 0
while got < total and #active > 0 do
  local next_active = {}
  for _, i in ipairs(active) do
    if got >= total then
      next_active[#next_active + 1] = i
    else
      local started = false
      while true do
        local id, lk = peek(accts[i])
        if not id then
          redis.call('SREM', K_READY, accts[i])
          empty[#empty + 1] = accts[i]
          break
        end
        local ok = start(id, accts[i])
        redis.call('LPOP', lk)
        if ok then started = true break end
      end
      if started then
        got = got + 1
        caps[i] = caps[i] - 1
        if caps[i] > 0 then next_active[#next_active + 1] = i end
      end
    end
  end
  if got >= total then break end
  active = next_active
end
return {out, empty}
