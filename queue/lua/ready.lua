-- The accounts whose lanes may hold jobs (<ns>:ready; a superset: claim.lua removes an account
-- only when it finds its lanes empty). A worker asks for jobs only for these accounts; it
-- reads this set when it has seen some account empty, to learn of jobs other processes put
-- in a lane (another worker's routing, a promotion, iamq retry/resume). ARGV[4] 'rebuild'
-- first adds the account of every non-empty lane (a worker's start: lanes written before
-- <ns>:ready existed). Returns the set's members.
if ARGV[4] == 'rebuild' then
  local prefix = ns .. ':lane:'
  for _, lk in ipairs(redis.call('SMEMBERS', K_LANES)) do
    if lk:sub(1, #prefix) == prefix and redis.call('LLEN', lk) > 0 then
      local acct = lk:sub(#prefix + 1):match('^(.*):[^:]+$')
      if acct then redis.call('SADD', K_READY, acct) end
    end
  end
end
return redis.call('SMEMBERS', K_READY)
