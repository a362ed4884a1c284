/** Username: 1 to 24 characters: letters, digits, spaces, `_`, `-`, `.`; not only spaces. */
export const USERNAME_RULE = "a username is 1 to 24 characters: letters, digits, spaces, _ - and .";
/** Chat text: 1 to 500 characters, no control characters other than tab and newline. */
export const MESSAGE_RULE = "a message is text of 1 to 500 characters";

const USERNAME = /^[\p{L}\p{N} _.-]{1,24}$/u;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;

/** The username to use (trimmed), or `undefined` when `value` is not an acceptable one. */
export function validUsername(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const name = value.trim();
  return USERNAME.test(name) && name.replace(/[ ._-]/g, "").length > 0 ? name : undefined;
}

/** The key a username is unique under: same letters in any case or Unicode form are one name. */
export function usernameKey(name: string): string {
  return name.normalize("NFKC").toLowerCase();
}

/** The message text, or `undefined` when `value` is not acceptable. */
export function validMessage(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  if (value.trim().length === 0 || value.length > 500 || CONTROL.test(value)) return undefined;
  return value;
}
