-- Work left: entries in the stream (waiting + in flight) plus delayed jobs.
return redis.call('XLEN', K_JOBS) + redis.call('ZCARD', K_DELAYED)
