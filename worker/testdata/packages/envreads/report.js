// A token from the diagnostic report's copy of the environment.
console.log('report', typeof process.report.getReport().environmentVariables.GITHUB_TOKEN);
