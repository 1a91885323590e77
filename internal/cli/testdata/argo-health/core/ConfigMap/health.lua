-- A ConfigMap that a job fills in: empty until then.
if obj.data == nil or obj.data.endpoint == nil then
  return {status = "Progressing", message = "Waiting for the endpoint to be written"}
end
return {status = "Healthy"}
