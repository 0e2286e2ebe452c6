-- Work left: entries in the stream (intake + claims), delayed jobs and jobs in lanes.
local n = redis.call('XLEN', K_JOBS) + redis.call('ZCARD', K_DELAYED)
for _, lk in ipairs(redis.call('SMEMBERS', K_LANES)) do n = n + redis.call('LLEN', lk) end
return n
