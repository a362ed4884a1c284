import type { Application, Feature } from "../feature";
import { auth } from "./auth";
import { chatMessage } from "./chat-message";
import { connectionLog } from "./connection-log";
import type { ChatFeature } from "./context";
import { delayedGreetings } from "./delayed-greetings";
import { myNamespace } from "./my-namespace";
import { presence } from "./presence";
import { rooms } from "./rooms";
import { serverInfo } from "./server-info";
import { usernames } from "./usernames";

/** The built-in application: every feature of the seed documents, correct on a cluster. */
const features: ChatFeature[] = [
  auth, // first: middlewares before any connection handler
  connectionLog,
  delayedGreetings,
  presence,
  rooms,
  usernames,
  chatMessage,
  myNamespace,
  serverInfo,
];

export const chatApp: Application = { name: "chat", features: features as unknown as Feature[] };
