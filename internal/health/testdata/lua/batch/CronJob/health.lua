-- Health of a batch/v1 CronJob, written for soll in the Argo CD health
-- script style: the object is the global obj, the answer a table.
local hs = {}

if obj.spec.suspend == true then
  hs.status = "Suspended"
  hs.message = "Schedule is suspended"
  return hs
end

if obj.status == nil then
  hs.status = "Healthy"
  hs.message = "No run scheduled yet"
  return hs
end

if obj.status.active ~= nil and table.getn(obj.status.active) > 0 then
  hs.status = "Healthy"
  hs.message = string.format("%d job(s) running", table.getn(obj.status.active))
  return hs
end

local scheduled = obj.status.lastScheduleTime
local succeeded = obj.status.lastSuccessfulTime
if scheduled ~= nil then
  -- RFC 3339 timestamps in UTC sort as strings.
  if succeeded == nil or succeeded < scheduled then
    hs.status = "Degraded"
    hs.message = "Run scheduled at " .. scheduled .. " did not succeed"
    return hs
  end
end

hs.status = "Healthy"
if succeeded ~= nil then
  hs.message = "Last run succeeded at " .. succeeded
else
  hs.message = "No run scheduled yet"
end
return hs
