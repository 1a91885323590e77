-- Health of a cert-manager Certificate, written for soll in the Argo CD
-- health script style: the object is the global obj, the answer a table.
local hs = {}

if obj.status == nil or obj.status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "No conditions reported for the certificate yet"
  return hs
end

-- A renewal or first issuance in flight wins over whatever Ready says.
local ready = nil
for _, c in ipairs(obj.status.conditions) do
  if c.type == "Issuing" and c.status == "True" then
    hs.status = "Progressing"
    hs.message = c.message
    return hs
  end
  if c.type == "Ready" then
    ready = c
  end
end

if ready == nil then
  hs.status = "Progressing"
  hs.message = "No Ready condition reported for the certificate yet"
  return hs
end

if ready.status == "True" then
  hs.status = "Healthy"
elseif ready.status == "False" then
  hs.status = "Degraded"
else
  hs.status = "Progressing"
end
hs.message = ready.message
return hs
