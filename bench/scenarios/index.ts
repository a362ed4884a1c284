import type { ScenarioName } from "../options";
import { cross } from "./cross";
import { echo } from "./echo";
import { fanout } from "./fanout";
import { hold } from "./hold";
import { http } from "./http";
import { ramp } from "./ramp";
import { rooms } from "./rooms";
import type { Scenario } from "./types";

/** Every scenario, in the order they run (ramp first, on a fresh server; hold on its own server). */
export const SCENARIOS: Record<ScenarioName, Scenario<unknown>> = { ramp, echo, fanout, rooms, cross, http, hold };
