import { defineApp } from "uws-socketio-cluster";
import { rooms } from "./features/rooms.js";
import { whispers } from "./features/whispers.js";

export default defineApp({ name: "chat", features: [rooms, whispers] });
