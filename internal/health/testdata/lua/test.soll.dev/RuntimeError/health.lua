local hs = {}
-- obj.status is nil for this object: indexing it fails on line 3.
if obj.status.phase == "Running" then
  hs.status = "Healthy"
end
return hs
