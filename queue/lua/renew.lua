-- Resets the idle time of entries this consumer still owns. ARGV[4..] entry ids.
-- Returns the entries it no longer owns.
local lost = {}
for i = 4, #ARGV do
  local entry = ARGV[i]
  if owns(entry) then
    redis.call('XCLAIM', K_JOBS, GROUP, consumer, 0, entry, 'JUSTID')
  else
    lost[#lost + 1] = entry
  end
end
return lost
