// Runs k6-html-reporter (a library) on a handleSummary() JSON file:
//   node html_report.js NODE_PREFIX SUMMARY_JSON OUTPUT_DIR   -> OUTPUT_DIR/report.html
const path = require("path");
const [prefix, jsonFile, output] = process.argv.slice(2);
const reporter = require(path.join(prefix, "node_modules", "k6-html-reporter"));
reporter.generateSummaryReport({ jsonFile, output });
