local f = io.open("/etc/passwd")
return {status = "Healthy", message = f:read("*a")}
