module.exports = { host: process.env.PGHOST || 'localhost', port: +(process.env.PGPORT || 5432) };
