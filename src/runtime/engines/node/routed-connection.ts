/** IPC message type of a connection the primary hands to a worker (the socket travels as the handle). */
export const CONNECTION_MESSAGE = "rt:connection";

export interface RoutedConnection {
  type: typeof CONNECTION_MESSAGE;
  /** Base64 of the bytes the primary read from the connection before handing it over. */
  head: string;
}
