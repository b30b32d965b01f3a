module.exports = () => "tls ok";
