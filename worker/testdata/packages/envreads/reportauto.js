// Started with the runtime set to write reports by itself: counts as
// reading every token.
console.log('reportauto');
