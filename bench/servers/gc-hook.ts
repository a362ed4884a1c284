/**
 * Preloaded into every server process under test (NODE_OPTIONS=--require): on SIGURG it runs a
 * full garbage collection, so that the harness measures RSS after GC. It changes nothing else.
 * (SIGURG: ignored by a process without the hook; SIGUSR2 is the runtime's handover signal.)
 * Workers inherit it from their primary's NODE_OPTIONS.
 */
import v8 from "node:v8";
import vm from "node:vm";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;
process.on("SIGURG", () => {
  gc();
  setTimeout(gc, 50);
});
