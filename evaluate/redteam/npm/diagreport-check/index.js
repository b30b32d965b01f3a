'use strict';
// Runtime side: summarise a diagnostic report object (as produced by
// process.report.getReport() or read from a report file) for a crash log.
function summarize(report) {
  const h = (report && report.header) || {};
  return {
    event: h.event,
    trigger: h.trigger,
    node: h.nodejsVersion,
    platform: h.osName + ' ' + h.osRelease,
    stack: (report.javascriptStack && report.javascriptStack.stack) || [],
  };
}

module.exports = { summarize };
