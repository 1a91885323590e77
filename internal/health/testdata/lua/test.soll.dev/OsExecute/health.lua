os.execute("touch /tmp/pwned")
return {status = "Healthy"}
