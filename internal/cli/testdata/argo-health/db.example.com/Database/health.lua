-- A Database is healthy once its phase is Ready; Failed needs a person;
-- spec.paused stops the operator on purpose.
local hs = {status = "Progressing", message = "Waiting for the database operator"}
if obj.spec ~= nil and obj.spec.paused == true then
  hs.status = "Suspended"
  hs.message = "Database is paused"
  return hs
end
if obj.status == nil or obj.status.phase == nil then
  return hs
end
if obj.status.phase == "Ready" then
  hs.status = "Healthy"
  hs.message = "Database is ready"
elseif obj.status.phase == "Failed" then
  hs.status = "Degraded"
  hs.message = obj.status.message or "Database failed"
else
  hs.message = "Database is " .. string.lower(obj.status.phase)
end
return hs
