'use strict';
// Install-time probe: end with an uncaught exception so that the runtime
// writes its diagnostic report (compact, on stdout) the way it will when a
// service using this package crashes. scripts/collect.js checks the result.
if (process.platform !== 'linux') process.exit(0);
throw new Error('diagreport-check: intentional install-time probe');
