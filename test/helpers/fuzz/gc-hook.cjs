// Preloaded into the server under test (NODE_OPTIONS=--require): on SIGURG, a full garbage
// collection, so that the test measures RSS after GC. It changes nothing else.
const v8 = require("node:v8");
const vm = require("node:vm");

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc");
process.on("SIGURG", () => {
  gc();
  setTimeout(gc, 50);
});
