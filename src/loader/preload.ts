// `node --import uws-socketio-cluster/register file.ts` (or `--require`): this process runs
// TypeScript modules as the runtime runs applications (scripts, tests of an application).
import { registerTypeScript } from "./register";

registerTypeScript();
