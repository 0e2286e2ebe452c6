-- Prelude of every iamq queue script (prepended by job_queue.cpp).
-- ARGV[1] namespace, ARGV[2] events MAXLEN, ARGV[3] consumer name ('' for clients),
-- script arguments from ARGV[4]. KEYS[1] is <ns>:jobs; other keys derive from the namespace,
-- which on Redis Cluster is a hash tag ({iamq}), so every key is in KEYS[1]'s slot and on its
-- node. Times: Redis server time in ms.
local ns = ARGV[1]

-- Redis Cluster: while the namespace's slot is being migrated away (MIGRATING on this node), a
-- key this node lacks may already be on the importing node, and a command on it would fail
-- half-way through the script, after some of its writes. A key that never exists finds that out
-- before any write: the whole script is refused with TRYAGAIN, and the connection sends it again
-- shortly (after the move, to the slot's new master). Anywhere else this is one EXISTS.
do
  local probe = redis.pcall('EXISTS', ns .. ':cluster-probe')
  if type(probe) == 'table' and probe.err then
    return redis.error_reply('TRYAGAIN the slot of ' .. ns .. ' is being migrated: ' .. probe.err)
  end
end
local events_maxlen = ARGV[2]
local consumer = ARGV[3]
local K_JOBS = ns .. ':jobs'
local K_DELAYED = ns .. ':delayed'
local K_DEAD = ns .. ':dead'
local K_EVENTS = ns .. ':events'
local K_COUNTS = ns .. ':counts'
local K_CIRCUITS = ns .. ':circuits'
local K_PAUSED = ns .. ':paused'
local K_LANES = ns .. ':lanes'
local K_STARTS = ns .. ':starts'
local K_READY = ns .. ':ready'
local GROUP = 'workers'

local function jobkey(id) return ns .. ':job:' .. id end
local function stepskey(id) return ns .. ':job:' .. id .. ':steps' end

local NOW
do
  local t = redis.call('TIME')
  NOW = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local NOW_S = string.format('%d', NOW)

-- Set by outbox_hook.lua (appended after this prelude): writes the webhook outbox entry of a
-- state change in the same script, so the two are atomic.
local outbox_hook
-- Set below: a state change of a fan-out child updates its parent (same script: atomic).
local child_hook

-- Appends one event to the capped events stream. extra: flat list {k1, v1, k2, v2 ...}.
local function event(kind, id, status, extra)
  local args = {'XADD', K_EVENTS, 'MAXLEN', '~', events_maxlen, '*',
                'event', kind, 'id', id or '', 'status', status or '', 'at', NOW_S}
  if consumer ~= '' then
    args[#args + 1] = 'consumer'
    args[#args + 1] = consumer
  end
  if extra then
    for i = 1, #extra do args[#args + 1] = extra[i] end
  end
  redis.call(unpack(args))
  if child_hook then child_hook(id, status) end
  if outbox_hook then outbox_hook(kind, id, status, extra) end
end

-- Live counters per status (terminal statuses are running totals).
local function move_count(from, to)
  if from and from ~= '' and from ~= 'dead' then redis.call('HINCRBY', K_COUNTS, from, -1) end
  if to and to ~= '' and to ~= 'dead' then redis.call('HINCRBY', K_COUNTS, to, 1) end
end

-- The consumer that holds a pending entry, or false.
local function owner_of(entry)
  local p = redis.pcall('XPENDING', K_JOBS, GROUP, entry, entry, 1)
  if type(p) ~= 'table' or p.err or #p == 0 then return false end  -- no group yet: nobody
  return p[1][2]
end

-- Fencing: true when this consumer still owns the entry.
local function owns(entry)
  if entry == '' then return false end
  return owner_of(entry) == consumer
end

-- Acknowledge and delete a stream entry (XLEN stays = waiting + in flight).
local function ack(entry)
  if entry and entry ~= '' then
    redis.call('XACK', K_JOBS, GROUP, entry)
    redis.call('XDEL', K_JOBS, entry)
  end
end

local function is_terminal(status)
  return status == 'succeeded' or status == 'failed' or status == 'dead' or status == 'cancelled'
end

-- Fan-out (issue 11): a parent's status from its children's (<ns>:job:<parent>:children, child
-- id -> status). When every child has ended: succeeded if all succeeded (an absent user is a
-- success), else failed, naming the children that did not succeed. A child retried later
-- makes the parent wait again.
local function child_check(parent)
  local pk = jobkey(parent)
  local prec = redis.call('HMGET', pk, 'status', 'children_total', 'job', 'type')
  if not prec[1] or not prec[2] then return end
  local total = tonumber(prec[2]) or 0
  local kids = redis.call('HGETALL', pk .. ':children')
  local done, failed, statuses, last = 0, {}, {}, nil
  for i = 1, #kids - 1, 2 do
    local st = kids[i + 1]
    statuses[kids[i]] = st
    last = kids[i]
    if is_terminal(st) then
      done = done + 1
      if st ~= 'succeeded' then failed[#failed + 1] = kids[i] .. ' (' .. st .. ')' end
    end
  end
  if done < total then
    if is_terminal(prec[1]) then
      redis.call('HSET', pk, 'status', 'running', 'where', 'children', 'updated_at', NOW_S)
      redis.call('HDEL', pk, 'finished_at')
      redis.call('PERSIST', pk)
      redis.call('PERSIST', pk .. ':children')
      move_count(prec[1], 'running')
      event('running', parent, 'running', {'children', tostring(total)})
    end
    return
  end
  local new = (#failed == 0) and 'succeeded' or 'failed'
  if prec[1] == new then return end
  local meta = {}
  local ok, job = pcall(cjson.decode, prec[3] or '')
  if ok and type(job) == 'table' and type(job['meta']) == 'table' then meta = job['meta'] end
  local err = ''
  local res = {status = new, outcome = (#failed == 0) and 'done' or 'failed', type = prec[4] or '',
               children = statuses, meta = meta}
  if #failed > 0 then
    err = #failed .. ' of ' .. total .. ' children did not succeed: ' .. table.concat(failed, ', ')
    res['failed'] = failed
    res['error'] = err
  end
  redis.call('HSET', pk, 'status', new, 'result', cjson.encode(res), 'error', err, 'where', 'done',
             'finished_at', NOW_S, 'updated_at', NOW_S)
  move_count(prec[1], new)
  -- The parent's record lives as long as its children's.
  local ttl = last and redis.call('TTL', jobkey(last)) or -1
  if ttl > 0 then
    redis.call('EXPIRE', pk, ttl)
    redis.call('EXPIRE', pk .. ':children', ttl)
  end
  event(new, parent, new, {'error', err})
end

child_hook = function(id, status)
  if not id or id == '' or not status or status == '' then return end
  local p = redis.call('HGET', jobkey(id), 'parent')
  if not p or p == '' then return end
  local ck = jobkey(p) .. ':children'
  if redis.call('HGET', ck, id) == status then return end
  redis.call('HSET', ck, id, status)
  child_check(p)
end

-- Lanes: one list of job ids per account and priority, FIFO (RPUSH, LPOP); <ns>:lanes is the
-- set of lane keys (for stats and drained); <ns>:ready the set of accounts whose lanes may
-- hold jobs (added to here, left when claim.lua finds the account's lanes empty), so that a
-- worker asks only for accounts with work (queue/lua/ready.lua).
local function norm_prio(p)
  if p == 'urgent' or p == 'bulk' then return p end
  return 'normal'
end
local function lanekey(acct, prio) return ns .. ':lane:' .. acct .. ':' .. norm_prio(prio) end

-- Puts a job into its lane: at the back (new, scheduled, retried) or the front (a job that
-- had started: handed back, reclaimed, resumed from a backoff).
local function to_lane(id, acct, prio, front)
  if not acct or acct == '' then acct = 'default' end
  local lk = lanekey(acct, prio)
  if front then redis.call('LPUSH', lk, id) else redis.call('RPUSH', lk, id) end
  redis.call('SADD', K_LANES, lk)
  redis.call('SADD', K_READY, acct)
  redis.call('HSET', jobkey(id), 'where', 'lane', 'entry', '', 'consumer', '')
  return lk
end

-- True when every account or this one is paused.
local function is_paused(acct)
  return redis.call('HEXISTS', K_PAUSED, '*') == 1 or redis.call('HEXISTS', K_PAUSED, acct or '') == 1
end
