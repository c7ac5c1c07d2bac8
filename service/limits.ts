// Every limit on what users send, and on what one read returns, defined once: services enforce them, view
// schemas and the README state them to clients.

/** A tweet's text, in Unicode code points (as the utf8mb4 VARCHAR(300) column counts). */
export const maxTweetLength = 300
/** Media items attached to one tweet. */
export const maxTweetMedia = 4
/** A user's name (VARCHAR(255)), after trimming; at least one character. */
export const maxNameLength = 255
/** A username (VARCHAR(30)): 3–30 characters of usernamePattern, unique whatever their case. */
export const minUsernameLength = 3
export const maxUsernameLength = 30
/** What a username is made of: ASCII letters, digits and '_'. */
export const usernamePattern = /^[A-Za-z0-9_]+$/
/** The users one tweet may mention: later @usernames in its text are left as text (no link, no notification). */
export const maxMentions = 20
/** A mention: '@' and a username, not inside a longer word (an email address is none). */
export const mentionPattern = /(?<![A-Za-z0-9_])@([A-Za-z0-9_]{3,30})(?![A-Za-z0-9_])/g
/** A search's `q`, in code points after trimming: at least 2 (one letter finds too much to be useful). */
export const minSearchLength = 2
export const maxSearchLength = 100
/** The words of a tweet search that count: later ones are left out of the query. */
export const maxSearchWords = 10
/** A personal access token's name, in code points; and how many tokens one account may hold. */
export const maxPersonalTokenName = 100
export const maxPersonalTokens = 50
/** A user's profile text (VARCHAR(2000)). */
export const maxProfileLength = 2000
/** An email address (VARCHAR(255)). */
export const maxEmailLength = 255
/** A password, in UTF-8 bytes: bcrypt reads 72, so a longer one is refused rather than silently cut. */
export const minPasswordBytes = 8
export const maxPasswordBytes = 72
/** The part of an upload's file name kept as original_name (VARCHAR(255)), in code points. */
export const maxOriginalNameLength = 255
/** Items on one page (?limit): its default and its bound, which bounds the rows a page may read. */
export const defaultPageSize = 20
export const maxPageSize = 100
/** GET /tweet/:id/context: the ancestors shown at most (the nearest ones, up the chain of parents). */
export const maxThreadAncestors = 100
/** The descendants shown at most (the oldest ones), and how many levels below the tweet they may be. */
export const maxThreadDescendants = 500
export const maxThreadDepth = 50
/** The tweets of the conversation read, after the tweet, to find its descendants: what bounds that read. */
export const threadScanRows = 2000

/** A text's length as utf8mb4 columns count it: Unicode code points, not UTF-16 units. */
export function codePoints(text: string): number {
  return [...text].length
}

/** Whether a text is a username: minUsernameLength–maxUsernameLength characters of usernamePattern. */
export function isUsername(text: string): boolean {
  return text.length >= minUsernameLength && text.length <= maxUsernameLength && usernamePattern.test(text)
}

/** Whether a password is within minPasswordBytes–maxPasswordBytes in UTF-8. */
export function isPasswordLength(password: string): boolean {
  const bytes = Buffer.byteLength(password, 'utf8')
  return bytes >= minPasswordBytes && bytes <= maxPasswordBytes
}
