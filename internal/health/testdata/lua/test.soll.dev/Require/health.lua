local os = require("os")
return {status = "Healthy", message = os.getenv("HOME")}
