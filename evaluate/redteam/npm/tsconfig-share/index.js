module.exports = require("./preset.json");
