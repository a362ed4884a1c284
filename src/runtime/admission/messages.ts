import type { Verdict } from "./address-limits";

/**
 * A worker asks whether new sessions from these addresses may open (each one admitted is counted
 * and leased to the worker); the handshakes of one turn of the worker's event loop go together.
 */
export type AdmitRequest = { type: "rt:admit"; id: number; addresses: string[] };
/** The verdicts, in the order of the request's addresses. */
export type AdmitReply = { type: "rt:admit-reply"; id: number; verdicts: Verdict[] };
/**
 * Sessions that closed (`-1`, or moved away) or moved here (`+1`, counted without a check), as
 * `[address, delta]` pairs; sent in batches, always before the worker's next `rt:admit`.
 */
export type AdmitChanges = { type: "rt:admit-changes"; changes: Array<[string, 1 | -1]> };

export type AdmissionWorkerToPrimary = AdmitRequest | AdmitChanges;
