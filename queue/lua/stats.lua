-- A consistent snapshot for iamq stats/watch. Returns
-- {now, counts (flat), xlen, pending, delayed, delayed_due, dead, oldest_waiting_age,
--  consumers (flat: name, pending, idle ...), circuits (flat: account, state, error, since ...)}
local counts = redis.call('HGETALL', K_COUNTS)
local xlen = redis.call('XLEN', K_JOBS)
local pending = 0
local last_delivered = false
local consumers = {}
local groups = redis.pcall('XINFO', 'GROUPS', K_JOBS)
if type(groups) == 'table' and not groups.err then
  for _, g in ipairs(groups) do
    local f = {}
    for i = 1, #g, 2 do f[g[i]] = g[i + 1] end
    if f['name'] == GROUP then
      pending = f['pending'] or 0
      last_delivered = f['last-delivered-id']
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
local oldest = -1
local first
if last_delivered then
  first = redis.call('XRANGE', K_JOBS, '(' .. last_delivered, '+', 'COUNT', 1)
else
  first = redis.call('XRANGE', K_JOBS, '-', '+', 'COUNT', 1)
end
if #first > 0 then
  local ms = tonumber(string.match(first[1][1], '^(%d+)'))
  oldest = NOW - ms
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
        oldest, consumers, circuits}
