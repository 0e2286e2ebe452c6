-- A consistent snapshot for iamq stats/watch. Returns
-- {now, counts (flat), xlen, pending, delayed, delayed_due, dead, oldest_waiting_age,
--  consumers (flat: name, pending, idle ...), circuits (flat: account, state, error, since ...),
--  lanes (flat: "<account>:<priority>", depth ...; empty lanes are dropped from <ns>:lanes),
--  paused (flat: scope, JSON {since, reason} ...), jobs in lanes}
local counts = redis.call('HGETALL', K_COUNTS)
local xlen = redis.call('XLEN', K_JOBS)
local pending = 0
local consumers = {}
local groups = redis.pcall('XINFO', 'GROUPS', K_JOBS)
if type(groups) == 'table' and not groups.err then
  for _, g in ipairs(groups) do
    local f = {}
    for i = 1, #g, 2 do f[g[i]] = g[i + 1] end
    if f['name'] == GROUP then
      pending = f['pending'] or 0
    end
  end
  local cs = redis.pcall('XINFO', 'CONSUMERS', K_JOBS, GROUP)
  if type(cs) == 'table' and not cs.err then
    for _, c in ipairs(cs) do
      local f = {}
      for i = 1, #c, 2 do f[c[i]] = c[i + 1] end
      consumers[#consumers + 1] = f['name']
      consumers[#consumers + 1] = f['pending']
      consumers[#consumers + 1] = f['idle']
    end
  end
end
-- Oldest waiting job: the oldest intake entry that is not a claim, and the head of each lane.
local oldest_ms = false
for _, e in ipairs(redis.call('XRANGE', K_JOBS, '-', '+', 'COUNT', 64)) do
  local claim = false
  for i = 1, #e[2], 2 do
    if e[2][i] == 'claim' then claim = true end
  end
  if not claim then
    oldest_ms = tonumber(string.match(e[1], '^(%d+)'))
    break
  end
end
local lanes = {}
local in_lanes = 0
for _, lk in ipairs(redis.call('SMEMBERS', K_LANES)) do
  local n = redis.call('LLEN', lk)
  if n == 0 then
    redis.call('SREM', K_LANES, lk)
  else
    in_lanes = in_lanes + n
    lanes[#lanes + 1] = string.sub(lk, #ns + 7)
    lanes[#lanes + 1] = n
    local head = redis.call('LINDEX', lk, 0)
    local at = head and redis.call('HGET', jobkey(head), 'created_at')
    at = at and tonumber(at)
    if at and (not oldest_ms or at < oldest_ms) then oldest_ms = at end
  end
end
local oldest = -1
if oldest_ms then
  oldest = NOW - oldest_ms
  if oldest < 0 then oldest = 0 end
end
local circuits = {}
for _, acct in ipairs(redis.call('SMEMBERS', K_CIRCUITS)) do
  local c = redis.call('HMGET', ns .. ':circuit:' .. acct, 'state', 'error', 'since')
  if c[1] then
    circuits[#circuits + 1] = acct
    circuits[#circuits + 1] = c[1]
    circuits[#circuits + 1] = c[2] or ''
    circuits[#circuits + 1] = c[3] or '0'
  end
end
return {NOW, counts, xlen, pending, redis.call('ZCARD', K_DELAYED),
        redis.call('ZCOUNT', K_DELAYED, '-inf', NOW_S), redis.call('XLEN', K_DEAD),
        oldest, consumers, circuits, lanes, redis.call('HGETALL', K_PAUSED), in_lanes}
