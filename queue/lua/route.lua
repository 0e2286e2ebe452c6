-- Routes intake entries (<ns>:jobs, read without the consumer group) into lanes, the delayed
-- set (not_before in the future) or the dead letters, each move atomic with the XDEL of its
-- entry. Entries already gone (another worker routed them) or claimed are left alone, so any
-- number of workers may route the same entries. ARGV[4] n, then n groups of 11 values:
-- entry, kind ('job' | 'invalid' | 'reject'), id, JSON (canonical, or the raw text when
-- invalid), error (invalid/reject), type, account, user_name, max_attempts, priority,
-- not_before (ms, 0 = none).
-- Returns n words: routed | scheduled | duplicate | finished | dead | gone.
local n = tonumber(ARGV[4])
local out = {}
for j = 0, n - 1 do
  local b = 5 + 11 * j
  local entry, kind, id, json, err = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4]
  local typ, acct, user, maxa = ARGV[b + 5], ARGV[b + 6], ARGV[b + 7], ARGV[b + 8]
  local prio, nb = ARGV[b + 9], tonumber(ARGV[b + 10]) or 0
  local word
  if #redis.call('XRANGE', K_JOBS, entry, entry) == 0 or owner_of(entry) then
    word = 'gone'
  elseif kind == 'invalid' then
    local dead = redis.call('XADD', K_DEAD, '*', 'id', id, 'job', json, 'reason', 'invalid',
                            'error', err, 'entry', entry, 'attempts', '0', 'at', NOW_S)
    if id ~= '' and redis.call('EXISTS', jobkey(id)) == 0 then
      redis.call('HSET', jobkey(id), 'id', id, 'job', json, 'status', 'dead', 'reason', 'invalid',
                 'error', err, 'attempts', '0', 'entry', entry, 'dead_entry', dead, 'source', 'xadd',
                 'where', 'done', 'created_at', NOW_S, 'updated_at', NOW_S, 'finished_at', NOW_S)
    end
    redis.call('XDEL', K_JOBS, entry)
    event('dead', id, 'dead', {'reason', 'invalid', 'error', err})
    word = 'dead'
  else
    local k = jobkey(id)
    local rec = redis.call('HMGET', k, 'status', 'entry')
    if rec[1] and rec[2] ~= entry then
      -- Another entry carries this id (a second XADD of the same job): never run it twice.
      redis.call('XDEL', K_JOBS, entry)
      event('duplicate', id, rec[1], {'entry', entry})
      word = 'duplicate'
    elseif rec[1] and is_terminal(rec[1]) then
      redis.call('XDEL', K_JOBS, entry)
      event('stale', id, rec[1], {'entry', entry})
      word = 'finished'
    else
      local status = rec[1]
      if not status then
        -- First sight of a job written by a plain XADD: create its record now.
        redis.call('HSET', k, 'id', id, 'type', typ, 'account', acct, 'user_name', user,
                   'max_attempts', maxa, 'priority', prio, 'job', json, 'status', 'queued',
                   'attempts', '0', 'entry', entry, 'source', 'xadd', 'created_at', NOW_S,
                   'updated_at', NOW_S)
        move_count(nil, 'queued')
        event('queued', id, 'queued', {'entry', entry, 'source', 'xadd'})
        status = 'queued'
      end
      -- The entry is deleted last: a write refused on the way (OOM) leaves it in the intake.
      if kind == 'reject' then
        local dead = redis.call('XADD', K_DEAD, '*', 'id', id, 'job', json, 'reason', err,
                                'error', err, 'entry', entry, 'attempts', '0', 'at', NOW_S)
        redis.call('HSET', k, 'status', 'dead', 'reason', err, 'error', err, 'dead_entry', dead,
                   'where', 'done', 'entry', '', 'finished_at', NOW_S, 'updated_at', NOW_S)
        move_count(status, 'dead')
        event('dead', id, 'dead', {'reason', err, 'error', err})
        word = 'dead'
      elseif nb > NOW then
        local due = string.format('%d', nb)
        redis.call('ZADD', K_DELAYED, due, id)
        redis.call('HSET', k, 'where', 'scheduled', 'entry', '', 'not_before', due,
                   'priority', prio, 'updated_at', NOW_S)
        event('scheduled', id, status, {'due', due})
        word = 'scheduled'
      else
        redis.call('HSET', k, 'priority', prio, 'updated_at', NOW_S)
        local lk = to_lane(id, acct, prio, false)
        event('routed', id, status, {'lane', lk})
        word = 'routed'
      end
      redis.call('XDEL', K_JOBS, entry)
    end
  end
  out[#out + 1] = word
end
return out
