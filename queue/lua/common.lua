-- Prelude of every iamq queue script (prepended by job_queue.cpp).
-- ARGV[1] namespace, ARGV[2] events MAXLEN, ARGV[3] consumer name ('' for clients),
-- script arguments from ARGV[4]. KEYS[1] is <ns>:jobs (other keys derive from the namespace:
-- a single Redis instance, not Cluster). Times: Redis server time in ms.
local ns = ARGV[1]
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

-- Lanes: one list of job ids per account and priority, FIFO (RPUSH, LPOP); <ns>:lanes is the
-- set of lane keys (for stats and drained).
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
  redis.call('HSET', jobkey(id), 'where', 'lane', 'entry', '', 'consumer', '')
  return lk
end

-- True when every account or this one is paused.
local function is_paused(acct)
  return redis.call('HEXISTS', K_PAUSED, '*') == 1 or redis.call('HEXISTS', K_PAUSED, acct or '') == 1
end
