-- Takes over entries idle for at least ARGV[4] ms (their consumer stopped renewing).
-- ARGV[5] cursor, [6] count. Returns XAUTOCLAIM's reply {cursor, entries, deleted}.
local r = redis.call('XAUTOCLAIM', K_JOBS, GROUP, consumer, ARGV[4], ARGV[5], 'COUNT', ARGV[6])
for _, e in ipairs(r[2]) do
  local id = ''
  local fields = e[2]
  if type(fields) == 'table' then
    for i = 1, #fields, 2 do
      if fields[i] == 'id' then id = fields[i + 1] end
    end
  end
  event('reclaimed', id, '', {'entry', e[1]})
end
return r
