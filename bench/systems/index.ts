import { raw } from "./raw-uws";
import { recipe } from "./recipe";
import { single } from "./single";
import { product } from "./product";
import type { SystemName, SystemSpec } from "./types";

export const SYSTEMS: Record<SystemName, SystemSpec> = { product, recipe, single, raw };
