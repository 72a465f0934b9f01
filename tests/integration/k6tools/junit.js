// Runs k6-junit (a library) on a handleSummary() JSON file:
//   node junit.js NODE_PREFIX SUMMARY_JSON OUTPUT_XML
const fs = require("fs");
const path = require("path");
const [prefix, jsonFile, output] = process.argv.slice(2);
const { jUnit } = require(path.join(prefix, "node_modules", "k6-junit"));
fs.writeFileSync(output, jUnit(JSON.parse(fs.readFileSync(jsonFile, "utf8"))));
